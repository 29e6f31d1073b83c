// --cluster: the live cluster's state, read once with the current kubeconfig, in the snapshot shape.
// Token Secrets are listed as metadata only (PartialObjectMetadataList, as the operator watches
// them): their values never reach this process.
import { AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import type { ClusterSnapshot, SecretMetadata, WorkloadObject } from "../core/snapshot.js";
import type { ClusterRole, ClusterRoleBinding, ObjectMeta, Role, RoleBinding } from "../core/rbac/types.js";
import type { NHIPolicy, NonHumanIdentity } from "../core/nhi/types.js";
import { isRecord } from "../core/json.js";
import { SERVICE_ACCOUNT_TOKEN_TYPE } from "../core/snapshot.js";
import { ApiError, KubeRest, METADATA_LIST_ACCEPT } from "../operator/k8s/rest.js";


/** The client's model objects → plain JSON-shaped objects with kind and apiVersion (lists omit them). */
function plain<T>(items: readonly unknown[], apiVersion: string, kind: string): T[] {
  return items.map((i) => ({ ...(JSON.parse(JSON.stringify(i)) as Record<string, unknown>), apiVersion, kind }) as T);
}

function meta(m: unknown): ObjectMeta {
  const r = isRecord(m) ? m : {};
  const out: ObjectMeta = { name: typeof r.name === "string" ? r.name : "" };
  if (typeof r.namespace === "string") out.namespace = r.namespace;
  if (isRecord(r.labels)) out.labels = r.labels as Record<string, string>;
  if (isRecord(r.annotations)) out.annotations = r.annotations as Record<string, string>;
  return out;
}

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
  constructor(readonly resource: string, readonly server: string, readonly reason: string) {
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
  if (e instanceof ApiError && e.status > 0) return describeFailure({ code: e.status, body: { message: e.detail } });
  if (isRecord(e) && typeof e.code === "number") {
    const status = e.code;
    let detail = "";
    const body = e.body;
    const parsed: unknown = typeof body === "string" ? (() => {
      try {
        return JSON.parse(body) as unknown;
      } catch {
        return body;
      }
    })() : body;
    if (isRecord(parsed) && typeof parsed.message === "string") detail = parsed.message;
    else if (typeof parsed === "string") detail = parsed.trim().slice(0, 300);
    const what: Record<number, string> = {
      401: "unauthorized (the kubeconfig's credentials were rejected)",
      403: "forbidden",
      404: "not found (the resource type is not served: is its CRD installed?)",
    };
    const head = what[status] ?? (status >= 500 ? `the API server failed (HTTP ${status})` : `HTTP ${status}`);
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

export async function readCluster(source: ClusterSource = {}, options: ReadOptions = {}): Promise<ClusterSnapshot> {
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
  if (!server) throw new Error("cannot use --cluster: the kubeconfig has no current cluster (set KUBECONFIG or --context)");
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const rest = new KubeRest(kc);
  const read = async <T>(resource: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await withRetry(call);
    } catch (e) {
      throw new ClusterReadError(resource, server, describeFailure(e).reason);
    }
  };
  const missingCrds: string[] = [];
  const customItems = async (plural: string): Promise<unknown[]> => {
    try {
      const body: unknown = await withRetry(() => custom.listClusterCustomObject({ group: "nhi.io", version: "v1alpha1", plural }));
      if (!isRecord(body) || !Array.isArray(body.items)) throw new Error("the answer is not a list");
      return body.items;
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
  const [namespaces, sas, roles, clusterRoles, roleBindings, clusterRoleBindings, secrets, pods, deployments, statefulSets, daemonSets, jobs, cronJobs, nhis, policies] = await Promise.all([
    read("namespaces", () => core.listNamespace()), read("serviceaccounts", () => core.listServiceAccountForAllNamespaces()),
    read("roles.rbac.authorization.k8s.io", () => rbac.listRoleForAllNamespaces()), read("clusterroles.rbac.authorization.k8s.io", () => rbac.listClusterRole()),
    read("rolebindings.rbac.authorization.k8s.io", () => rbac.listRoleBindingForAllNamespaces()),
    read("clusterrolebindings.rbac.authorization.k8s.io", () => rbac.listClusterRoleBinding()),
    read(`secrets (type ${SERVICE_ACCOUNT_TOKEN_TYPE})`, () => rest.get<{ items?: { metadata?: unknown }[] }>("/api/v1/secrets",
      { accept: METADATA_LIST_ACCEPT, query: { fieldSelector: `type=${SERVICE_ACCOUNT_TOKEN_TYPE}` } })),
    read("pods", () => core.listPodForAllNamespaces()), read("deployments.apps", () => apps.listDeploymentForAllNamespaces()),
    read("statefulsets.apps", () => apps.listStatefulSetForAllNamespaces()), read("daemonsets.apps", () => apps.listDaemonSetForAllNamespaces()),
    read("jobs.batch", () => batch.listJobForAllNamespaces()), read("cronjobs.batch", () => batch.listCronJobForAllNamespaces()),
    customItems("nonhumanidentities"), customItems("nhipolicies"),
  ]);
  if (missingCrds.length > 0) {
    options.notice?.(`the cluster ${server} does not serve ${missingCrds.sort().join(" and ")} (the nhi-operator CRDs are not installed): judged as having no NonHumanIdentities and no NHIPolicies`);
  }
  // Metadata only was asked for; the type is the one the field selector asked for.
  const secretMeta: SecretMetadata[] = (secrets.items ?? []).map((s) => ({ apiVersion: "v1", kind: "Secret", metadata: meta(s.metadata), type: SERVICE_ACCOUNT_TOKEN_TYPE }));
  const workloads: WorkloadObject[] = [
    ...plain<WorkloadObject>(pods.items, "v1", "Pod"), ...plain<WorkloadObject>(deployments.items, "apps/v1", "Deployment"),
    ...plain<WorkloadObject>(statefulSets.items, "apps/v1", "StatefulSet"), ...plain<WorkloadObject>(daemonSets.items, "apps/v1", "DaemonSet"),
    ...plain<WorkloadObject>(jobs.items, "batch/v1", "Job"), ...plain<WorkloadObject>(cronJobs.items, "batch/v1", "CronJob"),
  ];
  return {
    namespaces: namespaces.items.map((n) => ({ apiVersion: "v1", kind: "Namespace" as const, metadata: meta(n.metadata) })),
    serviceAccounts: sas.items.map((s) => ({
      apiVersion: "v1", kind: "ServiceAccount" as const, metadata: meta(s.metadata),
      ...(s.automountServiceAccountToken !== undefined ? { automountServiceAccountToken: s.automountServiceAccountToken } : {}),
    })),
    rbac: [
      ...plain<Role>(roles.items, "rbac.authorization.k8s.io/v1", "Role"), ...plain<ClusterRole>(clusterRoles.items, "rbac.authorization.k8s.io/v1", "ClusterRole"),
      ...plain<RoleBinding>(roleBindings.items, "rbac.authorization.k8s.io/v1", "RoleBinding"),
      ...plain<ClusterRoleBinding>(clusterRoleBindings.items, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ],
    nhis: plain<NonHumanIdentity>(nhis, "nhi.io/v1alpha1", "NonHumanIdentity"),
    policies: plain<NHIPolicy>(policies, "nhi.io/v1alpha1", "NHIPolicy"),
    workloads,
    secrets: secretMeta,
  };
}
