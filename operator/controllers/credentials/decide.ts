// Pure helpers of the credentials controller: who consumes a Secret, the anchors of a credential,
// the kubeconfig consumers outside the cluster get. The rotation decision itself is core/rotation.
import { podTemplateOf, secretReferences } from "../../../core/workloads/pod-template.js";
import type { ClusterSnapshot, WorkloadObject } from "../../../core/snapshot.js";
import { ANCHOR_FOR_LABEL, ANCHOR_GENERATION_LABEL, type AnchorView } from "../../../core/rotation/index.js";

/** Kinds whose pods `kubectl rollout restart` can restart by a pod-template annotation. */
export const RESTARTABLE = new Set(["Deployment", "StatefulSet", "DaemonSet"]);
export const RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt";

/** Deployments, StatefulSets and DaemonSets in `namespace` whose pod template consumes `secretName` (env, envFrom, volume, projected). */
export function consumersOf(workloads: readonly WorkloadObject[], namespace: string, secretName: string): WorkloadObject[] {
  return workloads.filter((w) => {
    if (!RESTARTABLE.has(w.kind) || (w.metadata.namespace ?? "default") !== namespace) return false;
    const t = podTemplateOf(w);
    return t !== undefined && secretReferences(t.spec).some((r) => r.secretName === secretName);
  });
}

/** The merge patch that restarts a workload's pods, as `kubectl rollout restart` does. */
export function restartPatch(at: string): Record<string, unknown> {
  return { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at } } } } };
}

export function anchorsFrom(items: readonly { metadata: { name: string; labels?: Record<string, string> } }[], secretName: string): AnchorView[] {
  return items
    .filter((s) => s.metadata.labels?.[ANCHOR_FOR_LABEL] === secretName)
    .map((s) => ({ name: s.metadata.name, generation: Number(s.metadata.labels?.[ANCHOR_GENERATION_LABEL] ?? "NaN") }))
    .filter((a) => Number.isInteger(a.generation));
}

/** NHIs of a namespace that declare credentials the operator issues. */
export function issuingNhis(snapshot: ClusterSnapshot, namespace: string): string[] {
  return snapshot.nhis
    .filter((n) => (n.metadata.namespace ?? "default") === namespace && (n.spec.credentials ?? []).some((c) => c.type === "ServiceAccountToken" || c.type === "Generated"))
    .map((n) => n.metadata.name);
}

/**
 * A kubeconfig that authenticates with `token` (JSON is valid YAML; kubectl reads either). Built
 * only at the edge, straight into the Secret's data: it holds the token.
 */
export function kubeconfigFor(o: { server: string; caData?: string; namespace: string; user: string; token: string }): string {
  return JSON.stringify({
    apiVersion: "v1", kind: "Config",
    clusters: [{ name: "cluster", cluster: { server: o.server, ...(o.caData ? { "certificate-authority-data": o.caData } : {}) } }],
    users: [{ name: o.user, user: { token: o.token } }],
    contexts: [{ name: o.user, context: { cluster: "cluster", user: o.user, namespace: o.namespace } }],
    "current-context": o.user,
  }, null, 2);
}
