// AdmissionReview v1: parsing what the API server sends (defensively: the body is untrusted input)
// and building what it expects back.
import { isRecord } from "../../core/json.js";

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
const OPERATIONS: ReadonlySet<string> = new Set(["CREATE", "UPDATE", "DELETE", "CONNECT"]);

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}
export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo: { username: string; groups: string[] };
  object?: unknown;
  oldObject?: unknown;
  dryRun: boolean;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string };
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReviewResponse {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  response: AdmissionResponse;
}

const str = (x: unknown): x is string => typeof x === "string";

/** UIDs are UUIDs; anything long or odd is refused rather than echoed into logs. */
const UID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A short description of an untrusted value for an error message: a string quoted (cut to 60
 * characters), anything else by its type — never serialised whole, which a 10,000-level nesting
 * would turn into a stack overflow.
 */
export function describeValue(v: unknown): string {
  if (v === undefined || v === null) return "missing";
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === "number" || typeof v === "boolean") return `the ${typeof v} ${String(v)}`;
  return Array.isArray(v) ? "an array" : `an ${typeof v}`;
}

export type ParsedReview =
  { ok: true; request: AdmissionRequest } | { ok: false; message: string; uid?: string };

/** Validates the envelope; the objects inside are judged (and shape-checked) by the checks. */
export function parseReview(body: unknown): ParsedReview {
  if (!isRecord(body))
    return {
      ok: false,
      message: "the body is not a JSON object (expected an admission.k8s.io/v1 AdmissionReview)",
    };
  if (body.kind !== "AdmissionReview")
    return { ok: false, message: `kind is ${describeValue(body.kind)}, expected AdmissionReview` };
  if (body.apiVersion !== "admission.k8s.io/v1") {
    return {
      ok: false,
      message: `apiVersion is ${describeValue(body.apiVersion)}, expected admission.k8s.io/v1; register the webhook with admissionReviewVersions: [v1]`,
    };
  }
  const r = body.request;
  if (!isRecord(r)) return { ok: false, message: "request is missing" };
  if (!str(r.uid) || !UID.test(r.uid))
    return { ok: false, message: "request.uid is missing or malformed" };
  const uid = r.uid;
  const fail = (message: string): ParsedReview => ({ ok: false, message, uid });
  const k = r.kind;
  if (!isRecord(k) || !str(k.group) || !str(k.version) || !str(k.kind))
    return fail("request.kind must have group, version and kind");
  const res = r.resource;
  if (!isRecord(res) || !str(res.group) || !str(res.version) || !str(res.resource))
    return fail("request.resource must have group, version and resource");
  if (!str(r.operation) || !OPERATIONS.has(r.operation))
    return fail("request.operation must be CREATE, UPDATE, DELETE or CONNECT");
  const u = r.userInfo;
  if (!isRecord(u)) return fail("request.userInfo is missing");
  if (u.username !== undefined && !str(u.username))
    return fail("request.userInfo.username must be a string");
  if (u.groups !== undefined && !(Array.isArray(u.groups) && u.groups.every(str)))
    return fail("request.userInfo.groups must be a list of strings");
  for (const f of ["subResource", "name", "namespace"] as const) {
    if (r[f] !== undefined && !str(r[f])) return fail(`request.${f} must be a string`);
  }
  if (r.dryRun !== undefined && typeof r.dryRun !== "boolean")
    return fail("request.dryRun must be a boolean");
  const request: AdmissionRequest = {
    uid,
    kind: { group: k.group, version: k.version, kind: k.kind },
    resource: { group: res.group, version: res.version, resource: res.resource },
    operation: r.operation as Operation,
    userInfo: {
      username: str(u.username) ? u.username : "",
      groups: Array.isArray(u.groups) ? (u.groups as string[]) : [],
    },
    dryRun: r.dryRun === true,
    ...(str(r.subResource) && r.subResource !== "" ? { subResource: r.subResource } : {}),
    ...(str(r.name) && r.name !== "" ? { name: r.name } : {}),
    ...(str(r.namespace) && r.namespace !== "" ? { namespace: r.namespace } : {}),
    ...(r.object !== undefined && r.object !== null ? { object: r.object } : {}),
    ...(r.oldObject !== undefined && r.oldObject !== null ? { oldObject: r.oldObject } : {}),
  };
  return { ok: true, request };
}

export function reviewResponse(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response };
}

/** "pods", "serviceaccounts/token", "deployments.apps" — for metrics labels and messages. */
export function resourceLabel(r: Pick<AdmissionRequest, "resource" | "subResource">): string {
  const base =
    r.resource.group === "" ? r.resource.resource : `${r.resource.resource}.${r.resource.group}`;
  return r.subResource ? `${base}/${r.subResource}` : base;
}
