// Where the pod lives inside each workload kind, and what a pod spec refers to. Shared by the
// webhook, the CLI and the inventory, so all three read workloads the same way.
import type { WorkloadObject } from "../snapshot.js";
import { isRecord } from "../json.js";

export interface Container {
  name?: string;
  image?: string;
  env?: { name?: string; valueFrom?: { secretKeyRef?: { name?: string; key?: string } } }[];
  envFrom?: { secretRef?: { name?: string } }[];
}

export interface Volume {
  name?: string;
  secret?: { secretName?: string };
  projected?: {
    sources?: {
      secret?: { name?: string };
      serviceAccountToken?: { audience?: string; expirationSeconds?: number; path?: string };
    }[];
  };
}

export interface PodSpec {
  serviceAccountName?: string;
  /** Deprecated alias of serviceAccountName, still honoured by the API server. */
  serviceAccount?: string;
  automountServiceAccountToken?: boolean;
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: Volume[];
}

export interface PodTemplate {
  /** JSONPath of the template within the object, e.g. "$.spec.template" (for messages). */
  path: string;
  labels: Record<string, string>;
  spec: PodSpec;
}

/** A kind that runs pods: where it lives in the API, where its pod is, and what the control plane makes from it. */
export interface WorkloadKind {
  /** apiVersion of the kind, as objects and ownerReferences carry it. */
  apiVersion: string;
  /** Its REST resource (plural), as an AdmissionRequest names it. */
  resource: string;
  /** JSONPath to the pod (metadata + spec) within the object. */
  templatePath: string;
  /**
   * The kube-controller-manager controller that creates objects of `kind` from this kind's template
   * (its ServiceAccount name under --use-service-account-credentials), each with a controller
   * ownerReference back to the object.
   */
  makes?: { kind: string; controller: string };
  /**
   * Listed from the cluster (the cache's inventory tier, `nhictl --cluster`). ReplicaSets are not: a
   * Deployment's ReplicaSets are the Deployment, and their pods are listed as Pods.
   */
  listed: boolean;
  /** `kubectl rollout restart` restarts its pods by a pod-template annotation (rotation with `rollout: true`). */
  rolloutRestart: boolean;
  /**
   * A legacy-token rotation rewrites its pod template to the successor Secret, which rolls it out.
   * Not Jobs (their template is immutable), ReplicaSets (their Deployment's template wins) or
   * ReplicationControllers (a template change restarts nothing).
   */
  templateRewritable: boolean;
}

/** Every kind that runs pods: the one table the webhook, the CLI and the inventory read workloads by. */
export const WORKLOAD_KINDS: Readonly<Record<string, WorkloadKind>> = {
  Pod: {
    apiVersion: "v1",
    resource: "pods",
    templatePath: "$",
    listed: true,
    rolloutRestart: false,
    templateRewritable: false,
  },
  Deployment: {
    apiVersion: "apps/v1",
    resource: "deployments",
    templatePath: "$.spec.template",
    makes: { kind: "ReplicaSet", controller: "deployment-controller" },
    listed: true,
    rolloutRestart: true,
    templateRewritable: true,
  },
  StatefulSet: {
    apiVersion: "apps/v1",
    resource: "statefulsets",
    templatePath: "$.spec.template",
    makes: { kind: "Pod", controller: "statefulset-controller" },
    listed: true,
    rolloutRestart: true,
    templateRewritable: true,
  },
  DaemonSet: {
    apiVersion: "apps/v1",
    resource: "daemonsets",
    templatePath: "$.spec.template",
    makes: { kind: "Pod", controller: "daemon-set-controller" },
    listed: true,
    rolloutRestart: true,
    templateRewritable: true,
  },
  ReplicaSet: {
    apiVersion: "apps/v1",
    resource: "replicasets",
    templatePath: "$.spec.template",
    makes: { kind: "Pod", controller: "replicaset-controller" },
    listed: false,
    rolloutRestart: false,
    templateRewritable: false,
  },
  ReplicationController: {
    apiVersion: "v1",
    resource: "replicationcontrollers",
    templatePath: "$.spec.template",
    makes: { kind: "Pod", controller: "replication-controller" },
    listed: true,
    rolloutRestart: false,
    templateRewritable: false,
  },
  Job: {
    apiVersion: "batch/v1",
    resource: "jobs",
    templatePath: "$.spec.template",
    makes: { kind: "Pod", controller: "job-controller" },
    listed: true,
    rolloutRestart: false,
    templateRewritable: false,
  },
  CronJob: {
    apiVersion: "batch/v1",
    resource: "cronjobs",
    templatePath: "$.spec.jobTemplate.spec.template",
    makes: { kind: "Job", controller: "cronjob-controller" },
    listed: true,
    rolloutRestart: false,
    templateRewritable: true,
  },
};

const kindsWhere = (p: (k: WorkloadKind) => boolean): ReadonlySet<string> =>
  new Set(
    Object.entries(WORKLOAD_KINDS)
      .filter(([, k]) => p(k))
      .map(([kind]) => kind),
  );

/** Kinds listed from the cluster (see `WorkloadKind.listed`). */
export const LISTED_WORKLOAD_KINDS = kindsWhere((k) => k.listed);
/** Kinds whose pods a rotation restarts by a pod-template annotation. */
export const ROLLOUT_RESTART_KINDS = kindsWhere((k) => k.rolloutRestart);
/** Kinds whose pod template a legacy-token rotation rewrites. */
export const TEMPLATE_REWRITABLE_KINDS = kindsWhere((k) => k.templateRewritable);

/**
 * The REST path of a workload kind: its collection across namespaces, in `namespace`, or one object
 * named `name` there. Undefined for kinds that run no pods.
 */
export function workloadPath(kind: string, namespace?: string, name?: string): string | undefined {
  const k = WORKLOAD_KINDS[kind];
  if (!k) return undefined;
  const base = k.apiVersion.includes("/") ? `/apis/${k.apiVersion}` : `/api/${k.apiVersion}`;
  const ns = namespace === undefined ? "" : `/namespaces/${namespace}`;
  return `${base}${ns}/${k.resource}${name === undefined ? "" : `/${name}`}`;
}

/** True when `apiVersion`/`kind` name a kind that runs pods (at the version the table knows). */
export const isWorkloadKind = (apiVersion: string | undefined, kind: string): boolean =>
  WORKLOAD_KINDS[kind]?.apiVersion === apiVersion;

/** JSONPath to the pod (metadata + spec) of each kind that runs pods. */
export const POD_TEMPLATE_PATHS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(WORKLOAD_KINDS).map(([kind, k]) => [kind, k.templatePath]),
);

// The template paths are plain dotted paths ("$", "$.spec.template"): walked as property steps,
// once split, instead of through a JSONPath engine on every admission review.
const TEMPLATE_STEPS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(POD_TEMPLATE_PATHS).map(([kind, path]) => {
    if (!/^\$(\.[A-Za-z]+)*$/.test(path))
      throw new Error(`WORKLOAD_KINDS.${kind}.templatePath ${path} is not a dotted path`);
    return [kind, path.split(".").slice(1)];
  }),
);

export const runsPods = (kind: string): boolean => kind in POD_TEMPLATE_PATHS;

/** The pod template of a workload, or undefined for kinds that run no pods or objects without one. */
export function podTemplateOf(obj: WorkloadObject): PodTemplate | undefined {
  const path = POD_TEMPLATE_PATHS[obj.kind];
  const steps = TEMPLATE_STEPS[obj.kind];
  if (path === undefined || steps === undefined) return undefined;
  let found: unknown = obj;
  for (const step of steps) found = isRecord(found) ? found[step] : undefined;
  if (!isRecord(found) || !isRecord(found.spec)) return undefined;
  const meta = isRecord(found.metadata) ? found.metadata : {};
  const labels = isRecord(meta.labels)
    ? Object.fromEntries(
        Object.entries(meta.labels).filter((e): e is [string, string] => typeof e[1] === "string"),
      )
    : {};
  return { path, labels, spec: found.spec as PodSpec };
}

/** The ServiceAccount a pod runs as: serviceAccountName, its deprecated alias, or "default". */
export function serviceAccountOf(spec: PodSpec): string {
  return spec.serviceAccountName || spec.serviceAccount || "default";
}

export function containersOf(spec: PodSpec): Container[] {
  return [
    ...(spec.initContainers ?? []),
    ...(spec.containers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ];
}

export interface SecretReference {
  secretName: string;
  /** How the pod consumes it, for messages: "volume tokens", "env API_KEY of container app", … */
  via: string;
}

/** Every Secret a pod spec consumes: volumes, projected sources, env and envFrom. */
export function secretReferences(spec: PodSpec): SecretReference[] {
  const refs: SecretReference[] = [];
  for (const v of spec.volumes ?? []) {
    if (v.secret?.secretName)
      refs.push({ secretName: v.secret.secretName, via: `volume ${v.name ?? ""}` });
    for (const src of v.projected?.sources ?? []) {
      if (src.secret?.name)
        refs.push({ secretName: src.secret.name, via: `projected volume ${v.name ?? ""}` });
    }
  }
  for (const c of containersOf(spec)) {
    for (const e of c.env ?? []) {
      const name = e.valueFrom?.secretKeyRef?.name;
      if (name)
        refs.push({ secretName: name, via: `env ${e.name ?? ""} of container ${c.name ?? ""}` });
    }
    for (const ef of c.envFrom ?? []) {
      if (ef.secretRef?.name)
        refs.push({ secretName: ef.secretRef.name, via: `envFrom of container ${c.name ?? ""}` });
    }
  }
  return refs;
}

/** Whether pods of this spec get a token mounted automatically (pod setting wins over the account's). */
export function automountsToken(
  spec: PodSpec,
  serviceAccountAutomount: boolean | undefined,
): boolean {
  return spec.automountServiceAccountToken ?? serviceAccountAutomount ?? true;
}
