// Light shape checks of untrusted objects before they reach the core, which trusts its types. The API
// server has validated real objects already; these stop malformed input from becoming a crash.
import { isRecord } from "../../core/json.js";
import { formatFieldError, type FieldError } from "../../core/nhi/validation.js";
import { describeValue } from "../admission/review.js";

export type Problem = string | undefined;

const strList = (x: unknown): boolean => Array.isArray(x) && x.every((s) => typeof s === "string");
const optStrList = (x: unknown): boolean => x === undefined || strList(x);
const optRecordList = (x: unknown): boolean =>
  x === undefined || (Array.isArray(x) && x.every(isRecord));
const optStrMap = (x: unknown): boolean =>
  x === undefined || (isRecord(x) && Object.values(x).every((v) => typeof v === "string"));

export function metadataProblem(obj: unknown, needName = true): Problem {
  if (!isRecord(obj)) return "the object is not a JSON object";
  const m = obj.metadata;
  if (!isRecord(m)) return "metadata is missing";
  if (needName && typeof m.name !== "string" && typeof m.generateName !== "string")
    return "metadata.name is missing";
  if (m.namespace !== undefined && typeof m.namespace !== "string")
    return "metadata.namespace must be a string";
  if (!optStrMap(m.labels)) return "metadata.labels must map strings to strings";
  if (!optStrMap(m.annotations)) return "metadata.annotations must map strings to strings";
  return undefined;
}

function selectorProblem(s: unknown, path: string): Problem {
  if (s === undefined || s === null) return undefined;
  if (!isRecord(s) || !optStrMap(s.matchLabels) || !optRecordList(s.matchExpressions))
    return `${path} is not a label selector`;
  for (const e of (s.matchExpressions as Record<string, unknown>[] | undefined) ?? []) {
    if (typeof e.key !== "string" || typeof e.operator !== "string" || !optStrList(e.values))
      return `${path}.matchExpressions has a malformed requirement`;
  }
  return undefined;
}

function rulesProblem(rules: unknown, path: string): Problem {
  if (rules === undefined || rules === null) return undefined;
  if (!Array.isArray(rules)) return `${path} must be a list`;
  for (const [i, r] of rules.entries()) {
    if (!isRecord(r) || !strList(r.verbs)) return `${path}[${i}].verbs must be a list of strings`;
    for (const f of ["apiGroups", "resources", "resourceNames", "nonResourceURLs"]) {
      if (!optStrList(r[f])) return `${path}[${i}].${f} must be a list of strings`;
    }
  }
  return undefined;
}

export function rbacProblem(obj: unknown, kind: string): Problem {
  const p = metadataProblem(obj);
  if (p || !isRecord(obj)) return p;
  if (obj.kind !== kind)
    return `kind is ${describeValue(obj.kind)}, which does not match the request's ${kind}`;
  if (kind === "Role" || kind === "ClusterRole") {
    const r = rulesProblem(obj.rules, "rules");
    if (r) return r;
    const agg = obj.aggregationRule;
    if (agg !== undefined && agg !== null) {
      if (!isRecord(agg) || !optRecordList(agg.clusterRoleSelectors))
        return "aggregationRule.clusterRoleSelectors must be a list of selectors";
      for (const [i, s] of ((agg.clusterRoleSelectors as unknown[] | undefined) ?? []).entries()) {
        const sp = selectorProblem(s, `aggregationRule.clusterRoleSelectors[${i}]`);
        if (sp) return sp;
      }
    }
    return undefined;
  }
  const ref = obj.roleRef;
  if (
    !isRecord(ref) ||
    (ref.kind !== "Role" && ref.kind !== "ClusterRole") ||
    typeof ref.name !== "string"
  )
    return "roleRef must name a Role or ClusterRole";
  if (!optRecordList(obj.subjects)) return "subjects must be a list";
  for (const [i, s] of ((obj.subjects as Record<string, unknown>[] | undefined) ?? []).entries()) {
    if (
      typeof s.kind !== "string" ||
      typeof s.name !== "string" ||
      (s.namespace !== undefined && typeof s.namespace !== "string")
    )
      return `subjects[${i}] must have a kind and a name`;
  }
  return undefined;
}

function containersProblem(x: unknown, path: string): Problem {
  if (!optRecordList(x)) return `${path} must be a list of containers`;
  for (const [i, c] of ((x as Record<string, unknown>[] | undefined) ?? []).entries()) {
    if (c.image !== undefined && typeof c.image !== "string")
      return `${path}[${i}].image must be a string`;
    if (c.name !== undefined && typeof c.name !== "string")
      return `${path}[${i}].name must be a string`;
    if (!optRecordList(c.env) || !optRecordList(c.envFrom))
      return `${path}[${i}].env and envFrom must be lists`;
    for (const e of (c.env as Record<string, unknown>[] | undefined) ?? []) {
      const ref = isRecord(e.valueFrom) ? e.valueFrom.secretKeyRef : undefined;
      if (
        ref !== undefined &&
        !(isRecord(ref) && (ref.name === undefined || typeof ref.name === "string"))
      )
        return `${path}[${i}].env has a malformed secretKeyRef`;
    }
    for (const e of (c.envFrom as Record<string, unknown>[] | undefined) ?? []) {
      if (
        e.secretRef !== undefined &&
        !(
          isRecord(e.secretRef) &&
          (e.secretRef.name === undefined || typeof e.secretRef.name === "string")
        )
      )
        return `${path}[${i}].envFrom has a malformed secretRef`;
    }
  }
  return undefined;
}

export function podSpecProblem(spec: unknown, path: string): Problem {
  if (!isRecord(spec)) return `${path} is missing`;
  for (const f of ["serviceAccountName", "serviceAccount"])
    if (spec[f] !== undefined && typeof spec[f] !== "string")
      return `${path}.${f} must be a string`;
  if (
    spec.automountServiceAccountToken !== undefined &&
    typeof spec.automountServiceAccountToken !== "boolean"
  )
    return `${path}.automountServiceAccountToken must be a boolean`;
  for (const f of ["containers", "initContainers", "ephemeralContainers"]) {
    const p = containersProblem(spec[f], `${path}.${f}`);
    if (p) return p;
  }
  if (!optRecordList(spec.volumes)) return `${path}.volumes must be a list`;
  for (const [i, v] of ((spec.volumes as Record<string, unknown>[] | undefined) ?? []).entries()) {
    if (
      v.secret !== undefined &&
      !(
        isRecord(v.secret) &&
        (v.secret.secretName === undefined || typeof v.secret.secretName === "string")
      )
    )
      return `${path}.volumes[${i}].secret is malformed`;
    if (v.projected !== undefined && !(isRecord(v.projected) && optRecordList(v.projected.sources)))
      return `${path}.volumes[${i}].projected is malformed`;
    for (const s of ((isRecord(v.projected) ? v.projected.sources : undefined) as
      Record<string, unknown>[] | undefined) ?? []) {
      if (
        s.secret !== undefined &&
        !(isRecord(s.secret) && (s.secret.name === undefined || typeof s.secret.name === "string"))
      )
        return `${path}.volumes[${i}].projected has a malformed secret source`;
    }
  }
  return undefined;
}

/**
 * Problems of a stored NonHumanIdentity or NHIPolicy (an UPDATE's oldObject) that would break the
 * checks reading it: wrong types or missing required fields. Other findings (an unknown field, a
 * rule the schema gained since it was stored) do not stop its owners from updating it.
 */
export function storedObjectProblem(obj: unknown, errors: readonly FieldError[]): Problem {
  const p = metadataProblem(obj, false);
  if (p) return p;
  const e = errors.find((x) => x.reason === "TypeInvalid" || x.reason === "Required");
  return e ? formatFieldError(e) : undefined;
}

export function selectorShapeProblem(s: unknown, path: string): Problem {
  return selectorProblem(s, path);
}
