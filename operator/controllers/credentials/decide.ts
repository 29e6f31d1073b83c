// Pure helpers of the credentials controller: who consumes a Secret, the anchors of a credential,
// the kubeconfig consumers outside the cluster get. The rotation decision itself is core/rotation.
import {
  podTemplateOf,
  ROLLOUT_RESTART_KINDS,
  secretReferences,
  TEMPLATE_REWRITABLE_KINDS,
} from "../../../core/workloads/pod-template.js";
import {
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
  type ClusterSnapshot,
  type WorkloadObject,
} from "../../../core/snapshot.js";
import type { NonHumanIdentity } from "../../../core/nhi/types.js";
import {
  ANCHOR_FOR_LABEL,
  ANCHOR_GENERATION_LABEL,
  legacyRotationWanted,
  retargetSecret,
  type AnchorView,
} from "../../../core/rotation/index.js";
import type { PodSpec } from "../../../core/workloads/pod-template.js";
import { isRecord } from "../../../core/json.js";

export const RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt";

/** Deployments, StatefulSets and DaemonSets in `namespace` whose pod template consumes `secretName` (env, envFrom, volume, projected). */
export function consumersOf(
  workloads: readonly WorkloadObject[],
  namespace: string,
  secretName: string,
): WorkloadObject[] {
  return workloads.filter((w) => {
    if (!ROLLOUT_RESTART_KINDS.has(w.kind) || (w.metadata.namespace ?? "default") !== namespace)
      return false;
    const t = podTemplateOf(w);
    return t !== undefined && secretReferences(t.spec).some((r) => r.secretName === secretName);
  });
}

/** The merge patch that restarts a workload's pods, as `kubectl rollout restart` does. */
export function restartPatch(at: string): Record<string, unknown> {
  return { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at } } } } };
}

export function anchorsFrom(
  items: readonly { metadata: { name: string; labels?: Record<string, string> } }[],
  secretName: string,
): AnchorView[] {
  return items
    .filter((s) => s.metadata.labels?.[ANCHOR_FOR_LABEL] === secretName)
    .map((s) => ({
      name: s.metadata.name,
      generation: Number(s.metadata.labels?.[ANCHOR_GENERATION_LABEL] ?? "NaN"),
    }))
    .filter((a) => Number.isInteger(a.generation));
}

/**
 * The legacy token Secrets (names) of the NHI's ServiceAccount whose replacement was asked for
 * (onAnomaly: Rotate) or is under way, from the cache's Secret metadata.
 */
export function legacyRotationsWanted(snapshot: ClusterSnapshot, nhi: NonHumanIdentity): string[] {
  const ns = nhi.metadata.namespace ?? "default";
  return snapshot.secrets
    .filter(
      (s) =>
        s.type === SERVICE_ACCOUNT_TOKEN_TYPE &&
        (s.metadata.namespace ?? "default") === ns &&
        s.metadata.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION] === nhi.spec.serviceAccountName &&
        legacyRotationWanted(s.metadata.annotations),
    )
    .map((s) => s.metadata.name);
}

/** NHIs of a namespace that declare credentials the operator issues, or whose legacy tokens it rotates. */
export function issuingNhis(snapshot: ClusterSnapshot, namespace: string): string[] {
  return snapshot.nhis
    .filter(
      (n) =>
        (n.metadata.namespace ?? "default") === namespace &&
        (n.spec.legacyTokens === "Rotate" ||
          legacyRotationsWanted(snapshot, n).length > 0 ||
          (n.spec.credentials ?? []).some(
            (c) => c.type === "ServiceAccountToken" || c.type === "Generated",
          )),
    )
    .map((n) => n.metadata.name);
}

const consumes = (w: WorkloadObject, secretName: string): boolean => {
  const t = podTemplateOf(w);
  return t !== undefined && secretReferences(t.spec).some((r) => r.secretName === secretName);
};

/** "Kind/name" of the switchable workloads (fresh from the API server) whose template references `secretName`. */
export function switchableConsumers(
  workloads: readonly WorkloadObject[],
  secretName: string,
): string[] {
  return workloads
    .filter((w) => TEMPLATE_REWRITABLE_KINDS.has(w.kind) && consumes(w, secretName))
    .map((w) => `${w.kind}/${w.metadata.name}`)
    .sort();
}

/** "Pod/name" of the live pods in `namespace` that consume `secretName` (a rollout not finished, or a bare pod). */
export function podsConsuming(
  workloads: readonly WorkloadObject[],
  namespace: string,
  secretName: string,
): string[] {
  return workloads
    .filter((w) => w.kind === "Pod" && (w.metadata.namespace ?? "default") === namespace)
    .filter((w) => {
      const phase = (w as { status?: { phase?: string } }).status?.phase;
      return phase !== "Succeeded" && phase !== "Failed" && consumes(w, secretName);
    })
    .map((w) => `Pod/${w.metadata.name}`)
    .sort();
}

type Obj = Record<string, unknown>;
const rec = (x: unknown): Obj | undefined => (isRecord(x) ? x : undefined);

/**
 * The workload with every reference of its pod template to Secret `from` pointing at `to`, or
 * undefined when it has none. Changing the template rolls the workload out.
 */
export function retargetWorkload<W extends WorkloadObject>(
  w: W,
  from: string,
  to: string,
): W | undefined {
  const spec = rec((w as unknown as Obj).spec);
  if (!spec) return undefined;
  const inTemplate = (template: Obj | undefined): Obj | undefined => {
    const podSpec = rec(template?.spec);
    if (!template || !podSpec) return undefined;
    const next = retargetSecret(podSpec as PodSpec, from, to);
    return next === podSpec ? undefined : { ...template, spec: next };
  };
  if (w.kind === "CronJob") {
    const jt = rec(spec.jobTemplate);
    const jspec = rec(jt?.spec);
    const t = inTemplate(rec(jspec?.template));
    return t && jt && jspec
      ? { ...w, spec: { ...spec, jobTemplate: { ...jt, spec: { ...jspec, template: t } } } }
      : undefined;
  }
  const t = inTemplate(rec(spec.template));
  return t ? { ...w, spec: { ...spec, template: t } } : undefined;
}

/**
 * A kubeconfig that authenticates with `token` (JSON is valid YAML; kubectl reads either). Built
 * only at the edge, straight into the Secret's data: it holds the token.
 */
export function kubeconfigFor(o: {
  server: string;
  caData?: string;
  namespace: string;
  user: string;
  token: string;
}): string {
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "cluster",
          cluster: {
            server: o.server,
            ...(o.caData ? { "certificate-authority-data": o.caData } : {}),
          },
        },
      ],
      users: [{ name: o.user, user: { token: o.token } }],
      contexts: [
        { name: o.user, context: { cluster: "cluster", user: o.user, namespace: o.namespace } },
      ],
      "current-context": o.user,
    },
    null,
    2,
  );
}
