// --cluster: the live cluster's state, read once with the current kubeconfig, in the snapshot shape.
// Secrets are listed for their type only (token Secrets); their data is dropped on arrival and never
// kept, compared or printed.
import { AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import type { ClusterSnapshot, SecretMetadata, WorkloadObject } from "../core/snapshot.js";
import type { ClusterRole, ClusterRoleBinding, ObjectMeta, Role, RoleBinding } from "../core/rbac/types.js";
import type { NHIPolicy, NonHumanIdentity } from "../core/nhi/types.js";

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

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

export async function readCluster(source: ClusterSource = {}): Promise<ClusterSnapshot> {
  const kc = new KubeConfig();
  const { context, kubeconfig } = source;
  try {
    if (kubeconfig !== undefined) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
    if (context !== undefined) kc.setCurrentContext(context);
  } catch (e) {
    throw new Error(`cannot load kubeconfig: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!kc.getCurrentCluster()) throw new Error("cannot use --cluster: the kubeconfig has no current cluster (set KUBECONFIG or --context)");
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const customItems = async (plural: string): Promise<unknown[]> => {
    try {
      const body: unknown = await custom.listClusterCustomObject({ group: "nhi.io", version: "v1alpha1", plural });
      return isRecord(body) && Array.isArray(body.items) ? body.items : [];
    } catch {
      return []; // CRDs not installed: no NHIs, no policies
    }
  };
  try {
    const [namespaces, sas, roles, clusterRoles, roleBindings, clusterRoleBindings, secrets, pods, deployments, statefulSets, daemonSets, jobs, cronJobs, nhis, policies] = await Promise.all([
      core.listNamespace(), core.listServiceAccountForAllNamespaces(),
      rbac.listRoleForAllNamespaces(), rbac.listClusterRole(), rbac.listRoleBindingForAllNamespaces(), rbac.listClusterRoleBinding(),
      core.listSecretForAllNamespaces({ fieldSelector: "type=kubernetes.io/service-account-token" }),
      core.listPodForAllNamespaces(), apps.listDeploymentForAllNamespaces(), apps.listStatefulSetForAllNamespaces(), apps.listDaemonSetForAllNamespaces(),
      batch.listJobForAllNamespaces(), batch.listCronJobForAllNamespaces(),
      customItems("nonhumanidentities"), customItems("nhipolicies"),
    ]);
    // Only metadata and type: the token itself is never copied out of the response.
    const secretMeta: SecretMetadata[] = secrets.items.map((s) => ({ apiVersion: "v1", kind: "Secret", metadata: meta(s.metadata), ...(s.type ? { type: s.type } : {}) }));
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
  } catch (e) {
    throw new Error(`cannot read the cluster ${kc.getCurrentCluster()?.server ?? ""}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
