// --cluster: the live cluster's state, read once with the current kubeconfig, in the snapshot shape,
// through the operator's one API client (operator/k8s/rest.ts: rate-limited, paged lists). Token
// Secrets are listed as metadata only (PartialObjectMetadataList, as the operator watches them):
// their values never reach this process. The workload kinds come from core/workloads/pod-template.ts
// (`listed`), less ReplicationControllers (CLI_UNREAD_KINDS).
import { KubeConfig } from "@kubernetes/client-node";
import type { ClusterSnapshot, SecretMetadata, WorkloadObject } from "../core/snapshot.js";
import type {
  ClusterRole,
  ClusterRoleBinding,
  ObjectMeta,
  Role,
  RoleBinding,
} from "../core/rbac/types.js";
import type { NHIPolicy, NonHumanIdentity } from "../core/nhi/types.js";
import { isRecord } from "../core/json.js";
import { SERVICE_ACCOUNT_TOKEN_TYPE } from "../core/snapshot.js";
import {
  LISTED_WORKLOAD_KINDS,
  WORKLOAD_KINDS,
  workloadPath,
  type WorkloadKind,
} from "../core/workloads/pod-template.js";
import { ApiError, KubeRest, METADATA_LIST_ACCEPT } from "../operator/k8s/rest.js";

/** List items with their kind and apiVersion (a list's items omit them). */
function plain<T>(items: readonly unknown[], apiVersion: string, kind: string): T[] {
  return items.map((i) => ({ ...(isRecord(i) ? i : {}), apiVersion, kind }) as T);
}

function meta(m: unknown): ObjectMeta {
  const r = isRecord(m) ? m : {};
  const out: ObjectMeta = { name: typeof r.name === "string" ? r.name : "" };
  if (typeof r.namespace === "string") out.namespace = r.namespace;
  if (isRecord(r.labels)) out.labels = r.labels as Record<string, string>;
  if (isRecord(r.annotations)) out.annotations = r.annotations as Record<string, string>;
  return out;
}

/**
 * Listed by the operator but not by nhictl: a CI kubeconfig that may list what nhictl always read
 * would fail on them (exit 2). Reading ReplicationControllers too is a change to the permissions
 * nhictl --cluster needs, to be made with the README, not here.
 */
const CLI_UNREAD_KINDS: ReadonlySet<string> = new Set(["ReplicationController"]);

export interface ClusterSource {
  /** --context: a context of the kubeconfig other than its current one. */
  context?: string | undefined;
  /** --kubeconfig: this file instead of $KUBECONFIG / ~/.kube/config. */
  kubeconfig?: string | undefined;
}

/**
 * The cluster could not be read completely. Judging a partial read would be a silent allow (an
 * NHI list that failed looks like "no NHIs", an RBAC list that failed like "no grants"), so every
 * failed list ends the run (exit 2) naming what could not be read and why.
 */
export class ClusterReadError extends Error {
  constructor(
    readonly resource: string,
    readonly server: string,
    readonly reason: string,
  ) {
    super(`cannot read ${resource} from the cluster ${server}: ${reason}`);
    this.name = "ClusterReadError";
  }
}

/** An API error from @kubernetes/client-node (ApiException: code and body) or a transport error. */
interface ApiFailure {
  status?: number;
  reason: string;
}

/** Why a list failed, in words, from the API server's Status (never the client's request headers). */
export function describeFailure(e: unknown): ApiFailure {
  // The project's own REST adapter (metadata-only lists): status and the API server's message.
  if (e instanceof ApiError)
    return e.status > 0
      ? describeFailure({ code: e.status, body: { message: e.detail } })
      : { reason: e.detail };
  if (isRecord(e) && typeof e.code === "number") {
    const status = e.code;
    let detail = "";
    const body = e.body;
    const parsed: unknown =
      typeof body === "string"
        ? (() => {
            try {
              return JSON.parse(body) as unknown;
            } catch {
              return body;
            }
          })()
        : body;
    if (isRecord(parsed) && typeof parsed.message === "string") detail = parsed.message;
    else if (typeof parsed === "string") detail = parsed.trim().slice(0, 300);
    const what: Record<number, string> = {
      401: "unauthorized (the kubeconfig's credentials were rejected)",
      403: "forbidden",
      404: "not found (the resource type is not served: is its CRD installed?)",
    };
    const head =
      what[status] ?? (status >= 500 ? `the API server failed (HTTP ${status})` : `HTTP ${status}`);
    return { status, reason: detail && !head.includes(detail) ? `${head}: ${detail}` : head };
  }
  const cause = isRecord(e) && e.cause instanceof Error ? ` (${e.cause.message})` : "";
  return { reason: `${e instanceof Error ? e.message : String(e)}${cause}` };
}

/** 429 (too many requests, or "storage is (re)initializing" just after a CRD is installed) is worth a short retry. */
const RETRIES = 5;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function withRetry<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      if (attempt >= RETRIES || describeFailure(e).status !== 429) throw e;
      await sleep(200 * 2 ** attempt);
    }
  }
}

export interface ReadOptions {
  /** Told once when the NHI CRDs are not installed, which is read as "no NHIs, no NHIPolicies". */
  notice?: (message: string) => void;
}

export async function readCluster(
  source: ClusterSource = {},
  options: ReadOptions = {},
): Promise<ClusterSnapshot> {
  const kc = new KubeConfig();
  const { context, kubeconfig } = source;
  try {
    if (kubeconfig !== undefined) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
    if (context !== undefined) kc.setCurrentContext(context);
  } catch (e) {
    throw new Error(`cannot load kubeconfig: ${e instanceof Error ? e.message : String(e)}`);
  }
  const server = kc.getCurrentCluster()?.server;
  if (!server)
    throw new Error(
      "cannot use --cluster: the kubeconfig has no current cluster (set KUBECONFIG or --context)",
    );
  const rest = new KubeRest(kc);
  const read = async <T>(resource: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await withRetry(call);
    } catch (e) {
      throw new ClusterReadError(resource, server, describeFailure(e).reason);
    }
  };
  const list = <T = Record<string, unknown>>(resource: string, path: string): Promise<T[]> =>
    read(resource, () => rest.listAll<T>(path));
  const missingCrds: string[] = [];
  const customItems = async (plural: string): Promise<unknown[]> => {
    try {
      return await withRetry(() => rest.listAll<unknown>(`/apis/nhi.io/v1alpha1/${plural}`));
    } catch (e) {
      const failure = describeFailure(e);
      // Only "the resource type does not exist" means there are none; forbidden or a server error
      // says nothing about what exists.
      if (failure.status === 404) {
        missingCrds.push(`${plural}.nhi.io`);
        return [];
      }
      throw new ClusterReadError(`${plural}.nhi.io`, server, failure.reason);
    }
  };
  const RBAC = "/apis/rbac.authorization.k8s.io/v1";
  const workloadKinds = [...LISTED_WORKLOAD_KINDS].filter((k) => !CLI_UNREAD_KINDS.has(k));
  const [
    namespaces,
    sas,
    roles,
    clusterRoles,
    roleBindings,
    clusterRoleBindings,
    secrets,
    nhis,
    policies,
    ...workloadLists
  ] = await Promise.all([
    list("namespaces", "/api/v1/namespaces"),
    list("serviceaccounts", "/api/v1/serviceaccounts"),
    list("roles.rbac.authorization.k8s.io", `${RBAC}/roles`),
    list("clusterroles.rbac.authorization.k8s.io", `${RBAC}/clusterroles`),
    list("rolebindings.rbac.authorization.k8s.io", `${RBAC}/rolebindings`),
    list("clusterrolebindings.rbac.authorization.k8s.io", `${RBAC}/clusterrolebindings`),
    read(`secrets (type ${SERVICE_ACCOUNT_TOKEN_TYPE})`, () =>
      rest.listAll<{ metadata?: unknown }>("/api/v1/secrets", {
        accept: METADATA_LIST_ACCEPT,
        query: { fieldSelector: `type=${SERVICE_ACCOUNT_TOKEN_TYPE}` },
      }),
    ),
    customItems("nonhumanidentities"),
    customItems("nhipolicies"),
    ...workloadKinds.map((kind) => {
      const { apiVersion, resource } = WORKLOAD_KINDS[kind] as WorkloadKind;
      const group = apiVersion.includes("/")
        ? `.${apiVersion.slice(0, apiVersion.indexOf("/"))}`
        : "";
      return list(`${resource}${group}`, workloadPath(kind) as string);
    }),
  ]);
  if (missingCrds.length > 0) {
    options.notice?.(
      `the cluster ${server} does not serve ${missingCrds.sort().join(" and ")} (the nhi-operator CRDs are not installed): judged as having no NonHumanIdentities and no NHIPolicies`,
    );
  }
  // Metadata only was asked for; the type is the one the field selector asked for.
  const secretMeta: SecretMetadata[] = secrets.map((s) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(s.metadata),
    type: SERVICE_ACCOUNT_TOKEN_TYPE,
  }));
  const workloads: WorkloadObject[] = workloadKinds.flatMap((kind, i) =>
    plain<WorkloadObject>(
      workloadLists[i] ?? [],
      (WORKLOAD_KINDS[kind] as WorkloadKind).apiVersion,
      kind,
    ),
  );
  return {
    namespaces: namespaces.map((n) => ({
      apiVersion: "v1",
      kind: "Namespace" as const,
      metadata: meta(n.metadata),
    })),
    serviceAccounts: sas.map((s) => ({
      apiVersion: "v1",
      kind: "ServiceAccount" as const,
      metadata: meta(s.metadata),
      ...(typeof s.automountServiceAccountToken === "boolean"
        ? { automountServiceAccountToken: s.automountServiceAccountToken }
        : {}),
    })),
    rbac: [
      ...plain<Role>(roles, "rbac.authorization.k8s.io/v1", "Role"),
      ...plain<ClusterRole>(clusterRoles, "rbac.authorization.k8s.io/v1", "ClusterRole"),
      ...plain<RoleBinding>(roleBindings, "rbac.authorization.k8s.io/v1", "RoleBinding"),
      ...plain<ClusterRoleBinding>(
        clusterRoleBindings,
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
      ),
    ],
    nhis: plain<NonHumanIdentity>(nhis, "nhi.io/v1alpha1", "NonHumanIdentity"),
    policies: plain<NHIPolicy>(policies, "nhi.io/v1alpha1", "NHIPolicy"),
    workloads,
    secrets: secretMeta,
  };
}
