// Pods and every workload kind that carries a pod template, CREATE/UPDATE → core decideWorkload.
import { decideWorkload, type WorkloadInput } from "../../core/policy/workload.js";
import type { WorkloadObject } from "../../core/snapshot.js";
import { POD_TEMPLATE_PATHS, WORKLOAD_KINDS } from "../../core/workloads/pod-template.js";
import { isRecord } from "../../core/json.js";
import type { AdmissionRequest } from "../admission/review.js";
import { metadataProblem, podSpecProblem } from "./shape.js";
import { lookupsOf, type AdmissionCheck } from "./types.js";

/** group/resource → kind, for the kinds core/workloads locates a pod template in. */
const KINDS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(WORKLOAD_KINDS).map(([kind, k]) => {
    const group = k.apiVersion.includes("/") ? k.apiVersion.split("/")[0] : "";
    return [`${group ?? ""}/${k.resource}`, kind];
  }),
);

const kindOf = (req: AdmissionRequest): string | undefined =>
  KINDS[`${req.resource.group}/${req.resource.resource}`];

/** The object with `kind` set to the kind its resource names (the object's own may be missing). */
const withKind = (o: WorkloadObject, kind: string): WorkloadObject =>
  o.kind === kind ? o : Object.assign({}, o, { kind });

/** The pod template inside the object, walked by the same paths core uses (for the shape check). */
function templateSpec(obj: Record<string, unknown>, kind: string): unknown {
  const path = POD_TEMPLATE_PATHS[kind] ?? "$";
  let node: unknown = obj;
  for (const part of path.split(".").slice(1)) node = isRecord(node) ? node[part] : undefined;
  return isRecord(node) ? node.spec : undefined;
}

export const workloadCheck: AdmissionCheck = {
  name: "workload",
  handles: (req) =>
    kindOf(req) !== undefined &&
    !req.subResource &&
    (req.operation === "CREATE" || req.operation === "UPDATE"),
  decide(req, ctx) {
    const kind = kindOf(req) ?? "Pod";
    const specPath = kind === "Pod" ? "spec" : (POD_TEMPLATE_PATHS[kind] ?? "").slice(2) + ".spec";
    const problem =
      metadataProblem(req.object) ??
      podSpecProblem(templateSpec(req.object as Record<string, unknown>, kind), specPath);
    if (problem) return { bad: `${kind}: ${problem}` };
    // The stored version is read too (which token Secrets it already mounted): the same shape or a 400.
    if (req.operation === "UPDATE" && req.oldObject !== undefined) {
      const stored =
        metadataProblem(req.oldObject, false) ??
        podSpecProblem(templateSpec(req.oldObject as Record<string, unknown>, kind), specPath);
      if (stored) return { bad: `${kind}: oldObject: ${stored}` };
    }
    const object = withKind(req.object as WorkloadObject, kind);
    const namespace = object.metadata.namespace ?? req.namespace;
    if (!namespace) return { bad: `${kind}: metadata.namespace is missing` };
    // Every field named, nothing spread: V8's optimized code gives an object spread followed by new
    // properties a fresh hidden class per call, allocated in the old generation (issue 14).
    const lookups = lookupsOf(ctx.view);
    const input: WorkloadInput = {
      index: lookups.index,
      directory: lookups.directory,
      serviceAccount: lookups.serviceAccount,
      secretType: lookups.secretType,
      tokenSecretAccount: lookups.tokenSecretAccount,
      namespaceLabels: lookups.namespaceLabels,
      object,
      namespace,
      policy: ctx.policy,
      now: ctx.now,
      requester: req.userInfo,
    };
    if (req.operation === "UPDATE" && req.oldObject !== undefined)
      input.oldObject = withKind(req.oldObject as WorkloadObject, kind);
    return decideWorkload(input);
  },
};

/** Annotations of the object and, for workloads, of its pod template (break-glass may sit on either). */
export function workloadAnnotations(req: AdmissionRequest): Record<string, string>[] {
  const kind = kindOf(req);
  if (!kind || !isRecord(req.object)) return [];
  const out: Record<string, string>[] = [];
  const path = (POD_TEMPLATE_PATHS[kind] ?? "$").split(".").slice(1);
  let node: unknown = req.object;
  for (const part of path) node = isRecord(node) ? node[part] : undefined;
  if (
    kind !== "Pod" &&
    isRecord(node) &&
    isRecord(node.metadata) &&
    isRecord(node.metadata.annotations)
  ) {
    out.push(node.metadata.annotations as Record<string, string>);
  }
  return out;
}
