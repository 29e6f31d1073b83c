// What the cache keeps of an object: metadata without managedFields and the last-applied annotation
// (which can hold a whole Secret), and Pods/workloads reduced to what the decisions read. Every
// informer of the cache sanitizes with these on arrival, so its store holds one small copy.
import type { ObjectMeta } from "../../../core/rbac/types.js";
import type { WorkloadObject } from "../../../core/snapshot.js";
import { isRecord } from "../../../core/json.js";

export interface Meta extends ObjectMeta {
  ownerReferences?: { kind?: string; name?: string; controller?: boolean }[];
}

/** Metadata without managedFields and the last-applied annotation. */
export function trimMeta(m: Meta): Meta {
  const out: Meta = { name: m.name };
  if (m.namespace) out.namespace = m.namespace;
  if (m.labels) out.labels = m.labels;
  if (m.annotations) {
    const { "kubectl.kubernetes.io/last-applied-configuration": _drop, ...rest } = m.annotations;
    if (Object.keys(rest).length > 0) out.annotations = rest;
  }
  for (const k of ["uid", "resourceVersion", "generation", "creationTimestamp"] as const)
    if (m[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = m[k];
  if (m.ownerReferences?.length)
    out.ownerReferences = m.ownerReferences.map((o) => ({
      kind: o.kind,
      name: o.name,
      controller: o.controller,
    }));
  return out;
}

type Rec = Record<string, unknown>;

/** A pod spec reduced to what the decisions read: account, automount, images, secret references. */
export function trimPodSpec(spec: unknown): Rec {
  if (!isRecord(spec)) return {};
  const container = (c: unknown): Rec => {
    if (!isRecord(c)) return {};
    const env = Array.isArray(c.env)
      ? c.env
          .filter((e) => isRecord(e) && isRecord(e.valueFrom) && isRecord(e.valueFrom.secretKeyRef))
          .map((e) => ({
            name: (e as Rec).name,
            valueFrom: { secretKeyRef: ((e as Rec).valueFrom as Rec).secretKeyRef },
          }))
      : undefined;
    const envFrom = Array.isArray(c.envFrom)
      ? c.envFrom
          .filter((e) => isRecord(e) && isRecord(e.secretRef))
          .map((e) => ({ secretRef: (e as Rec).secretRef }))
      : undefined;
    return {
      name: c.name,
      image: c.image,
      ...(env?.length ? { env } : {}),
      ...(envFrom?.length ? { envFrom } : {}),
    };
  };
  const volumes = Array.isArray(spec.volumes)
    ? spec.volumes
        .filter((v) => isRecord(v) && (isRecord(v.secret) || isRecord(v.projected)))
        .map((v) => ({
          name: (v as Rec).name,
          ...(isRecord((v as Rec).secret) ? { secret: (v as Rec).secret } : {}),
          ...(isRecord((v as Rec).projected) ? { projected: (v as Rec).projected } : {}),
        }))
    : undefined;
  const out: Rec = {};
  for (const k of ["serviceAccountName", "serviceAccount", "automountServiceAccountToken"])
    if (spec[k] !== undefined) out[k] = spec[k];
  for (const k of ["containers", "initContainers", "ephemeralContainers"])
    if (Array.isArray(spec[k])) out[k] = (spec[k] as unknown[]).map(container);
  if (volumes?.length) out.volumes = volumes;
  return out;
}

export function trimWorkload(kind: string, o: Rec): WorkloadObject {
  const meta = trimMeta(o.metadata as Meta);
  if (kind === "Pod") {
    const st = isRecord(o.status) ? o.status : {};
    // The phase for the inventory; the IPs for runtime detection (a pod's token used from elsewhere).
    const status = {
      ...(st.phase ? { phase: st.phase } : {}),
      ...(typeof st.podIP === "string" ? { podIP: st.podIP } : {}),
      ...(Array.isArray(st.podIPs) ? { podIPs: st.podIPs } : {}),
    };
    return {
      kind,
      metadata: meta,
      spec: trimPodSpec(o.spec),
      ...(Object.keys(status).length > 0 ? { status } : {}),
    } as WorkloadObject;
  }
  const spec = isRecord(o.spec) ? o.spec : {};
  const tpl =
    kind === "CronJob"
      ? isRecord(spec.jobTemplate) && isRecord(spec.jobTemplate.spec)
        ? spec.jobTemplate.spec.template
        : undefined
      : spec.template;
  const t = isRecord(tpl)
    ? {
        metadata: { labels: isRecord(tpl.metadata) ? tpl.metadata.labels : undefined },
        spec: trimPodSpec(tpl.spec),
      }
    : undefined;
  return {
    kind,
    metadata: meta,
    spec: kind === "CronJob" ? { jobTemplate: { spec: { template: t } } } : { template: t },
  };
}
