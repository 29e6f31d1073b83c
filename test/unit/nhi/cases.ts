// The invalid-object table: each case edits a valid sample and names the one field path that must be
// reported and words its message or fix must contain. `apiServer` records what a real kube-apiserver
// v1.35 does with the same object (checked against one when these tables were written, and reusable by
// e2e): "rejects" at the same path, or "accepts" for checks that go beyond the CRD.
import type { FieldErrorReason, ValidateOptions } from "../../../core/nhi/validate.js";
import { MINIMAL_NHI, ORDERS_API, POLICY_SHAPE } from "./fixtures.js";

export type Base = "orders" | "minimal" | "policy";

export interface InvalidCase {
  name: string;
  base: Base;
  /** Field path → new value; undefined deletes the field. */
  set: Record<string, unknown>;
  /** The FieldError.path that must be reported. */
  path: string;
  /** Must occur in the error's message or fix. */
  expect: string;
  reason: FieldErrorReason;
  /** Other paths that may legitimately be reported too. */
  alsoPaths?: string[];
  options?: Omit<ValidateOptions, "oldObject"> & { old?: Record<string, unknown> };
  apiServer: "rejects" | "accepts" | "n/a";
}

export function baseObject(base: Base): Record<string, unknown> {
  const src = base === "orders" ? ORDERS_API : base === "minimal" ? MINIMAL_NHI : POLICY_SHAPE;
  const copy = JSON.parse(JSON.stringify(src)) as Record<string, unknown>;
  delete copy.status;
  return copy;
}

/** Sets (or with undefined, deletes) a field addressed like "spec.credentials[0].ttl" or "a.b[key]". */
export function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const tokens = [...path.matchAll(/([^.[\]]+)|\[([^\]]+)\]/g)].map((m) => (m[2] !== undefined && /^\d+$/.test(m[2]) ? Number(m[2]) : (m[1] ?? m[2] ?? "")));
  let node: unknown = root;
  tokens.forEach((tok, i) => {
    const last = i === tokens.length - 1;
    const container = node as Record<string | number, unknown>;
    if (last) {
      if (value === undefined) {
        if (Array.isArray(container) && typeof tok === "number") container.splice(tok, 1);
        else delete container[tok];
      } else container[tok] = value;
      return;
    }
    if (container[tok] === undefined) container[tok] = typeof tokens[i + 1] === "number" ? [] : {};
    node = container[tok];
  });
}

export function buildCase(c: InvalidCase): Record<string, unknown> {
  const o = baseObject(c.base);
  for (const [p, v] of Object.entries(c.set)) setPath(o, p, v);
  return o;
}

const long = (n: number): string => "x".repeat(n);

export const NHI_CASES: InvalidCase[] = [
  // --- required fields and structure ---
  { name: "owner.team missing", base: "minimal", set: { "spec.owner.team": undefined }, path: "spec.owner.team", expect: "add team", reason: "Required", apiServer: "rejects" },
  { name: "owner.contact missing", base: "minimal", set: { "spec.owner.contact": undefined }, path: "spec.owner.contact", expect: "How to reach the owners", reason: "Required", apiServer: "rejects" },
  { name: "purpose missing", base: "minimal", set: { "spec.purpose": undefined }, path: "spec.purpose", expect: "Required value", reason: "Required", apiServer: "rejects" },
  { name: "serviceAccountName missing", base: "minimal", set: { "spec.serviceAccountName": undefined }, path: "spec.serviceAccountName", expect: "Required value", reason: "Required", apiServer: "rejects" },
  { name: "spec missing", base: "minimal", set: { spec: undefined }, path: "spec", expect: "Required value", reason: "Required", apiServer: "rejects" },
  { name: "purpose empty", base: "minimal", set: { "spec.purpose": "" }, path: "spec.purpose", expect: "must not be empty", reason: "Invalid", apiServer: "rejects" },
  { name: "contact too long", base: "minimal", set: { "spec.owner.contact": long(257) }, path: "spec.owner.contact", expect: "at most 256 characters", reason: "TooLong", apiServer: "rejects" },
  { name: "serviceAccountName not a DNS name", base: "minimal", set: { "spec.serviceAccountName": "Orders_API" }, path: "spec.serviceAccountName", expect: "lowercase name", reason: "Invalid", apiServer: "rejects" },
  { name: "misspelt field", base: "orders", set: { "spec.credentials[0].renewbefore": "1m" }, path: "spec.credentials[0].renewbefore", expect: 'did you mean "renewBefore"', reason: "UnknownField", apiServer: "rejects" },
  { name: "unknown top-level spec field", base: "minimal", set: { "spec.owners": "x" }, path: "spec.owners", expect: 'did you mean "owner"', reason: "UnknownField", apiServer: "rejects" },
  { name: "metadata.name not a DNS subdomain", base: "minimal", set: { "metadata.name": "Orders" }, path: "metadata.name", expect: "lowercase", reason: "Invalid", apiServer: "rejects" },
  { name: "metadata.name missing", base: "minimal", set: { "metadata.name": undefined }, path: "metadata.name", expect: "add metadata.name", reason: "Required", apiServer: "n/a" },
  { name: "wrong apiVersion", base: "minimal", set: { apiVersion: "nhi.io/v1" }, path: "apiVersion", expect: "nhi.io/v1alpha1", reason: "Unsupported", apiServer: "n/a" },
  // --- enums ---
  { name: "legacyTokens not an enum value", base: "minimal", set: { "spec.legacyTokens": "Deny" }, path: "spec.legacyTokens", expect: "Forbid, Allow, Rotate", reason: "Unsupported", apiServer: "rejects" },
  { name: "enforcement in lower case", base: "minimal", set: { "spec.enforcement": "enforce" }, path: "spec.enforcement", expect: "Enforce, Audit", reason: "Unsupported", apiServer: "rejects" },
  { name: "credential type unknown", base: "orders", set: { "spec.credentials[2].type": "Token" }, path: "spec.credentials[2].type", expect: "ServiceAccountToken, Generated, External, Certificate", reason: "Unsupported",
    // The type-specific CEL rules see a type that allows none of the External fields.
    alsoPaths: ["spec.credentials[2].maxAge", "spec.credentials[2].expiryJSONPath", "spec.credentials[2].renewBefore"], apiServer: "rejects" },
  { name: "encoding unknown", base: "orders", set: { "spec.credentials[1].encoding": "base32" }, path: "spec.credentials[1].encoding", expect: "base64, base64url, hex, alphanumeric", reason: "Unsupported", apiServer: "rejects" },
  { name: "onExpiry unknown", base: "orders", set: { "spec.lifetime.onExpiry": "Revoke" }, path: "spec.lifetime.onExpiry", expect: "Disable, Delete, Notify", reason: "Unsupported", apiServer: "rejects" },
  { name: "matchExpressions operator unknown", base: "orders", set: { "spec.workloads.podSelector.matchExpressions[0].operator": "Equals" }, path: "spec.workloads.podSelector.matchExpressions[0].operator", expect: "In, NotIn, Exists, DoesNotExist", reason: "Unsupported", apiServer: "rejects" },
  // --- types, formats, bounds ---
  { name: "ttl in words", base: "orders", set: { "spec.credentials[0].ttl": "1 hour" }, path: "spec.credentials[0].ttl", expect: "a duration such as 1h", reason: "Invalid", apiServer: "rejects" },
  { name: "ttl in days", base: "orders", set: { "spec.credentials[0].ttl": "1d" }, path: "spec.credentials[0].ttl", expect: "units h, m and s", reason: "Invalid", apiServer: "rejects" },
  { name: "ttl as a number", base: "orders", set: { "spec.credentials[0].ttl": 3600 }, path: "spec.credentials[0].ttl", expect: 'quote it: "3600"', reason: "TypeInvalid", apiServer: "rejects" },
  { name: "duration overflows int64 nanoseconds", base: "orders", set: { "spec.credentials[0].ttl": "9999999999h" }, path: "spec.credentials[0].ttl", expect: "too long", reason: "Invalid", apiServer: "rejects" },
  { name: "length as a string", base: "orders", set: { "spec.credentials[1].length": "32" }, path: "spec.credentials[1].length", expect: "a whole number", reason: "TypeInvalid", apiServer: "rejects" },
  { name: "length below 16", base: "orders", set: { "spec.credentials[1].length": 8 }, path: "spec.credentials[1].length", expect: ">= 16", reason: "Invalid", apiServer: "rejects" },
  { name: "expiresAt without time", base: "orders", set: { "spec.lifetime.expiresAt": "2027-06-30" }, path: "spec.lifetime.expiresAt", expect: "2027-06-30T00:00:00Z", reason: "Invalid", apiServer: "rejects" },
  { name: "suspended as a string", base: "minimal", set: { "spec.suspended": "yes" }, path: "spec.suspended", expect: "true or false", reason: "TypeInvalid", apiServer: "rejects" },
  { name: "scopes as an object", base: "minimal", set: { "spec.scopes": { verbs: ["get"] } }, path: "spec.scopes", expect: "must be a list", reason: "TypeInvalid", apiServer: "rejects" },
  { name: "empty verbs", base: "orders", set: { "spec.scopes[0].verbs": [] }, path: "spec.scopes[0].verbs", expect: "at least one", reason: "Invalid", apiServer: "rejects" },
  { name: "scope namespace not a name", base: "orders", set: { "spec.scopes[0].namespaces": ["Shop"] }, path: "spec.scopes[0].namespaces[0]", expect: "namespace name", reason: "Invalid", apiServer: "rejects" },
  { name: "nonResourceURL without slash", base: "orders", set: { "spec.scopes[1].nonResourceURLs": ["metrics"] }, path: "spec.scopes[1].nonResourceURLs[0]", expect: 'starting with "/"', reason: "Invalid", apiServer: "rejects" },
  { name: "nonResourceURL with inner star", base: "orders", set: { "spec.scopes[1].nonResourceURLs": ["/a*/b"] }, path: "spec.scopes[1].nonResourceURLs[0]", expect: '"*" only at the end', reason: "Invalid", apiServer: "rejects" },
  { name: "image without registry host", base: "orders", set: { "spec.workloads.images": ["nginx:*"] }, path: "spec.workloads.images[0]", expect: "registry host", reason: "Invalid", apiServer: "rejects" },
  { name: "image with wildcard registry", base: "orders", set: { "spec.workloads.images": ["*.example.com/app:*"] }, path: "spec.workloads.images[0]", expect: "registry host", reason: "Invalid", apiServer: "rejects" },
  { name: "label value invalid", base: "orders", set: { "spec.workloads.podSelector.matchLabels.app": "orders api" }, path: "spec.workloads.podSelector.matchLabels.app", expect: "label value", reason: "Invalid", apiServer: "rejects" },
  { name: "too many audiences", base: "orders", set: { "spec.credentials[0].audiences": Array.from({ length: 17 }, (_, i) => `aud-${i}`) }, path: "spec.credentials[0].audiences", expect: "at most 16 items", reason: "TooMany", apiServer: "rejects" },
  // --- list types ---
  { name: "duplicate verb", base: "orders", set: { "spec.scopes[0].verbs": ["get", "list", "get"] }, path: "spec.scopes[0].verbs[2]", expect: 'Duplicate value: "get"', reason: "Duplicate", apiServer: "rejects" },
  { name: "duplicate credential name", base: "orders", set: { "spec.credentials[1].name": "ci" }, path: "spec.credentials[1]", expect: '{"name":"ci"}', reason: "Duplicate", apiServer: "rejects" },
  // --- CEL: credential type-specific fields ---
  { name: "ttl on a Generated credential", base: "orders", set: { "spec.credentials[1].ttl": "1h" }, path: "spec.credentials[1].ttl", expect: "ttl applies only to type ServiceAccountToken", reason: "Forbidden", apiServer: "rejects" },
  { name: "ServiceAccountToken without ttl", base: "orders", set: { "spec.credentials[0].ttl": undefined }, path: "spec.credentials[0].ttl", expect: "ttl is required for type ServiceAccountToken", reason: "Required", apiServer: "rejects" },
  { name: "audiences on an External credential", base: "orders", set: { "spec.credentials[2].audiences": ["x"] }, path: "spec.credentials[2].audiences", expect: "audiences applies only", reason: "Forbidden", apiServer: "rejects" },
  { name: "renewBefore on a Generated credential", base: "orders", set: { "spec.credentials[1].renewBefore": "1h" }, path: "spec.credentials[1].renewBefore", expect: "renewBefore does not apply to type Generated", reason: "Forbidden", apiServer: "rejects" },
  { name: "length on a ServiceAccountToken", base: "orders", set: { "spec.credentials[0].length": 32 }, path: "spec.credentials[0].length", expect: "length applies only to type Generated", reason: "Forbidden", apiServer: "rejects" },
  { name: "encoding on an External credential", base: "orders", set: { "spec.credentials[2].encoding": "hex" }, path: "spec.credentials[2].encoding", expect: "encoding applies only", reason: "Forbidden", apiServer: "rejects" },
  { name: "gracePeriod on a Certificate", base: "orders", set: { "spec.credentials[3].gracePeriod": "1h" }, path: "spec.credentials[3].gracePeriod", expect: "gracePeriod applies only", reason: "Forbidden", apiServer: "rejects" },
  { name: "key on an External credential", base: "orders", set: { "spec.credentials[2].key": "token" }, path: "spec.credentials[2].key", expect: "key applies only to types Generated and Certificate", reason: "Forbidden", apiServer: "rejects" },
  { name: "maxAge on a ServiceAccountToken", base: "orders", set: { "spec.credentials[0].maxAge": "2h" }, path: "spec.credentials[0].maxAge", expect: "maxAge applies only to types Generated and External", reason: "Forbidden", apiServer: "rejects" },
  { name: "Generated without maxAge", base: "orders", set: { "spec.credentials[1].maxAge": undefined }, path: "spec.credentials[1].maxAge", expect: "maxAge is required for type Generated", reason: "Required", apiServer: "rejects" },
  { name: "expiryJSONPath on a Generated credential", base: "orders", set: { "spec.credentials[1].expiryJSONPath": "$.data.x" }, path: "spec.credentials[1].expiryJSONPath", expect: "expiryJSONPath applies only to type External", reason: "Forbidden", apiServer: "rejects" },
  // --- CEL: durations ---
  { name: "renewBefore equal to ttl", base: "orders", set: { "spec.credentials[0].renewBefore": "1h" }, path: "spec.credentials[0].renewBefore", expect: "renewBefore must be shorter than ttl", reason: "Invalid", apiServer: "rejects" },
  { name: "renewBefore longer than ttl (mixed units)", base: "orders", set: { "spec.credentials[0].renewBefore": "61m" }, path: "spec.credentials[0].renewBefore", expect: "shorter than ttl", reason: "Invalid", apiServer: "rejects" },
  { name: "renewBefore not below maxAge (External)", base: "orders", set: { "spec.credentials[2].renewBefore": "2160h" }, path: "spec.credentials[2].renewBefore", expect: "renewBefore must be shorter than maxAge", reason: "Invalid", apiServer: "rejects" },
  { name: "gracePeriod not below maxAge", base: "orders", set: { "spec.credentials[1].gracePeriod": "720h" }, path: "spec.credentials[1].gracePeriod", expect: "gracePeriod must be shorter than maxAge", reason: "Invalid", apiServer: "rejects" },
  { name: "ttl below 10m", base: "orders", set: { "spec.credentials[0].ttl": "5m", "spec.credentials[0].renewBefore": "1m" }, path: "spec.credentials[0].ttl", expect: "at least 10m", reason: "Invalid", apiServer: "rejects" },
  { name: "renewBefore zero", base: "orders", set: { "spec.credentials[3].renewBefore": "0s" }, path: "spec.credentials[3].renewBefore", expect: "positive duration", reason: "Invalid", apiServer: "rejects" },
  { name: "unusedAfter below 1h", base: "orders", set: { "spec.lifetime.unusedAfter": "30m" }, path: "spec.lifetime.unusedAfter", expect: "at least 1h", reason: "Invalid", apiServer: "rejects" },
  // --- CEL: cross-field ---
  { name: "two credentials share a Secret", base: "orders", set: { "spec.credentials[3].secretName": "orders-ci-token" }, path: "spec.credentials", expect: "secretName must be unique", reason: "Invalid", apiServer: "rejects" },
  { name: "scope with neither resources nor nonResourceURLs", base: "orders", set: { "spec.scopes[0].resources": undefined }, path: "spec.scopes[0]", expect: "exactly one of resources or nonResourceURLs", reason: "Invalid", apiServer: "rejects" },
  { name: "scope with both resources and nonResourceURLs", base: "orders", set: { "spec.scopes[0].nonResourceURLs": ["/healthz"], "spec.scopes[0].apiGroups": undefined }, path: "spec.scopes[0]", expect: "exactly one of resources or nonResourceURLs", reason: "Invalid", alsoPaths: ["spec.scopes[0].apiGroups", "spec.scopes[0].namespaces"], apiServer: "rejects" },
  { name: "resources without apiGroups", base: "orders", set: { "spec.scopes[0].apiGroups": undefined }, path: "spec.scopes[0].apiGroups", expect: 'use [""] for the core API group', reason: "Required", apiServer: "rejects" },
  { name: "nonResourceURLs with apiGroups", base: "orders", set: { "spec.scopes[1].apiGroups": [""] }, path: "spec.scopes[1]", expect: "do not apply to nonResourceURLs", reason: "Forbidden", apiServer: "rejects" },
  { name: "nonResourceURLs in a namespace", base: "orders", set: { "spec.scopes[1].namespaces": ["shop"] }, path: "spec.scopes[1].namespaces", expect: 'set namespaces: ["*"]', reason: "Invalid", apiServer: "rejects" },
  { name: "star namespace mixed with names", base: "orders", set: { "spec.scopes[0].namespaces": ["*", "shop"] }, path: "spec.scopes[0].namespaces", expect: "must be the only entry", reason: "Invalid", apiServer: "rejects" },
  { name: "In without values", base: "orders", set: { "spec.workloads.podSelector.matchExpressions[0].operator": "In" }, path: "spec.workloads.podSelector.matchExpressions[0].values", expect: "values must be non-empty for operators In and NotIn", reason: "Invalid", apiServer: "rejects" },
  { name: "Exists with values", base: "orders", set: { "spec.workloads.podSelector.matchExpressions[0].values": ["x"] }, path: "spec.workloads.podSelector.matchExpressions[0].values", expect: "empty for Exists", reason: "Invalid", apiServer: "rejects" },
  { name: "lifetime without expiresAt or unusedAfter", base: "orders", set: { "spec.lifetime.expiresAt": undefined, "spec.lifetime.unusedAfter": undefined }, path: "spec.lifetime", expect: "lifetime needs expiresAt, unusedAfter or both", reason: "Required", apiServer: "rejects" },
  {
    name: "serviceAccountName changed on update",
    base: "orders",
    set: { "spec.serviceAccountName": "orders-api-v2" },
    path: "spec.serviceAccountName",
    expect: "serviceAccountName is immutable",
    reason: "Invalid",
    options: { old: baseObject("orders") },
    apiServer: "rejects",
  },
  // --- beyond the CRD: the API server stores these, but they are mistakes ---
  { name: "apiGroups names the core group 'core'", base: "orders", set: { "spec.scopes[0].apiGroups": ["core"] }, path: "spec.scopes[0].apiGroups[0]", expect: '"" (the empty string)', reason: "Invalid", apiServer: "accepts" },
  { name: "apiGroups with a version", base: "orders", set: { "spec.scopes[0].apiGroups": ["apps/v1"] }, path: "spec.scopes[0].apiGroups[0]", expect: 'use "apps"', reason: "Invalid", apiServer: "accepts" },
  { name: "resource written as a kind", base: "orders", set: { "spec.scopes[0].resources": ["Deployment"] }, path: "spec.scopes[0].resources[0]", expect: 'use "deployments"', reason: "Invalid", apiServer: "accepts" },
  { name: "resource/* subresource wildcard", base: "orders", set: { "spec.scopes[0].resources": ["pods/*"] }, path: "spec.scopes[0].resources[0]", expect: "does not expand", reason: "Invalid", apiServer: "accepts" },
  { name: "verb in upper case", base: "orders", set: { "spec.scopes[0].verbs": ["GET"] }, path: "spec.scopes[0].verbs[0]", expect: 'use "get"', reason: "Invalid", apiServer: "accepts" },
  { name: "image host is not a registry", base: "orders", set: { "spec.workloads.images": ["library/nginx:*"] }, path: "spec.workloads.images[0]", expect: "docker.io/library/nginx:*", reason: "Invalid", apiServer: "accepts" },
  { name: "image with an empty path component", base: "orders", set: { "spec.workloads.images": ["registry.example.com//app:*"] }, path: "spec.workloads.images[0]", expect: "empty path component", reason: "Invalid", apiServer: "accepts" },
  { name: "image repository in upper case", base: "orders", set: { "spec.workloads.images": ["registry.example.com/Shop/app:*"] }, path: "spec.workloads.images[0]", expect: "lowercase", reason: "Invalid", apiServer: "accepts" },
  { name: "image with **", base: "orders", set: { "spec.workloads.images": ["registry.example.com/**"] }, path: "spec.workloads.images[0]", expect: "single *", reason: "Invalid", apiServer: "accepts" },
  { name: "matchLabels key invalid", base: "orders", set: { "spec.workloads.podSelector.matchLabels": { "-app": "x" } }, path: "spec.workloads.podSelector.matchLabels.-app", expect: "start and end with a letter or digit", reason: "Invalid", apiServer: "accepts" },
  { name: "matchExpressions key name part too long", base: "orders", set: { "spec.workloads.podSelector.matchExpressions[0].key": `example.com/${long(64)}` }, path: "spec.workloads.podSelector.matchExpressions[0].key", expect: "at most 63 characters", reason: "Invalid", apiServer: "accepts" },
  { name: "expiryJSONPath with a wildcard", base: "orders", set: { "spec.credentials[2].expiryJSONPath": "$.data.*" }, path: "spec.credentials[2].expiryJSONPath", expect: "must select one field", reason: "Invalid", apiServer: "accepts" },
  { name: "expiryJSONPath with recursive descent", base: "orders", set: { "spec.credentials[2].expiryJSONPath": "$..expires" }, path: "spec.credentials[2].expiryJSONPath", expect: "$.metadata.annotations['<key>']", reason: "Invalid", apiServer: "accepts" },
  { name: "expiryJSONPath outside annotations, labels and data", base: "orders", set: { "spec.credentials[2].expiryJSONPath": "$.metadata.name" }, path: "spec.credentials[2].expiryJSONPath", expect: "must select one field", reason: "Invalid", apiServer: "accepts" },
  { name: "expired identity (with a clock)", base: "orders", set: {}, path: "spec.lifetime.expiresAt", expect: "the identity expired", reason: "Invalid", options: { now: new Date("2028-01-01T00:00:00Z") }, apiServer: "accepts" },
];

export const POLICY_CASES: InvalidCase[] = [
  { name: "requireClaim lower case", base: "policy", set: { "spec.requireClaim": "off" }, path: "spec.requireClaim", expect: "Enforce, Audit, Off", reason: "Unsupported", apiServer: "rejects" },
  { name: "requireClaim read as a YAML 1.1 boolean", base: "policy", set: { "spec.requireClaim": false }, path: "spec.requireClaim", expect: "YAML reads unquoted", reason: "TypeInvalid", apiServer: "rejects" },
  { name: "unclaimedHighPermissions Off", base: "policy", set: { "spec.unclaimedHighPermissions": "Off" }, path: "spec.unclaimedHighPermissions", expect: "Enforce, Audit", reason: "Unsupported", apiServer: "rejects" },
  { name: "maxTokenTTL below 10m", base: "policy", set: { "spec.maxTokenTTL": "5m" }, path: "spec.maxTokenTTL", expect: "at least 10m", reason: "Invalid", apiServer: "rejects" },
  { name: "maxTokenTTL in weeks", base: "policy", set: { "spec.maxTokenTTL": "1w" }, path: "spec.maxTokenTTL", expect: "a duration such as", reason: "Invalid", apiServer: "rejects" },
  { name: "maxCredentialAge zero", base: "policy", set: { "spec.maxCredentialAge": "0h" }, path: "spec.maxCredentialAge", expect: "positive duration", reason: "Invalid", apiServer: "rejects" },
  { name: "exemption names nobody", base: "policy", set: { "spec.exemptions[0].namespaces": undefined, "spec.exemptions[0].serviceAccounts": undefined }, path: "spec.exemptions[0]", expect: "must name namespaces, serviceAccounts or both", reason: "Required", apiServer: "rejects" },
  { name: "exemption without reason", base: "policy", set: { "spec.exemptions[0].reason": undefined }, path: "spec.exemptions[0].reason", expect: "Required value", reason: "Required", apiServer: "rejects" },
  { name: "exemption for everyone without rules", base: "policy", set: { "spec.exemptions[0].serviceAccounts": ["*/*"], "spec.exemptions[0].rules": undefined }, path: "spec.exemptions[0].rules", expect: "must list the catalogue rules", reason: "Required", apiServer: "rejects" },
  { name: "exemption for every namespace without rules", base: "policy", set: { "spec.exemptions[0].namespaces": ["*"], "spec.exemptions[0].rules": undefined }, path: "spec.exemptions[0].rules", expect: "must list the catalogue rules", reason: "Required", apiServer: "rejects" },
  { name: "exempt ServiceAccount without namespace", base: "policy", set: { "spec.exemptions[0].serviceAccounts": ["prometheus"] }, path: "spec.exemptions[0].serviceAccounts[0]", expect: "namespace/name", reason: "Invalid", apiServer: "rejects" },
  { name: "forbidden id in upper case", base: "policy", set: { "spec.forbidden": ["Pods-Exec"] }, path: "spec.forbidden[0]", expect: "lowercase", reason: "Invalid", apiServer: "rejects" },
  { name: "exemptNamespaces not a name", base: "policy", set: { "spec.exemptNamespaces": ["kube_system"] }, path: "spec.exemptNamespaces[0]", expect: "lowercase", reason: "Invalid", apiServer: "rejects" },
  { name: "exemptNamespaces duplicate", base: "policy", set: { "spec.exemptNamespaces": ["a", "a"] }, path: "spec.exemptNamespaces[1]", expect: "Duplicate value", reason: "Duplicate", apiServer: "rejects" },
  { name: "breakGlass annotations equal", base: "policy", set: { "spec.breakGlass.reasonAnnotation": "nhi.io/break-glass" }, path: "spec.breakGlass.reasonAnnotation", expect: "must differ", reason: "Invalid", apiServer: "rejects" },
  { name: "breakGlass reason annotation equals the defaulted annotation", base: "policy", set: { "spec.breakGlass": { reasonAnnotation: "nhi.io/break-glass" } }, path: "spec.breakGlass.reasonAnnotation", expect: "must differ", reason: "Invalid", apiServer: "rejects" },
  { name: "breakGlass annotation with a space", base: "policy", set: { "spec.breakGlass.annotation": "nhi.io/break glass" }, path: "spec.breakGlass.annotation", expect: "annotation key", reason: "Invalid", apiServer: "rejects" },
  { name: "override that sets nothing", base: "policy", set: { "spec.overrides[0].requireClaim": undefined, "spec.overrides[0].unclaimedHighPermissions": undefined }, path: "spec.overrides[0]", expect: "must set unclaimedHighPermissions, requireClaim or both", reason: "Required", apiServer: "rejects" },
  { name: "override without selector", base: "policy", set: { "spec.overrides[0].namespaceSelector": undefined }, path: "spec.overrides[0].namespaceSelector", expect: "Required value", reason: "Required", apiServer: "rejects" },
  { name: "override selector: Exists with values", base: "policy", set: { "spec.overrides[0].namespaceSelector.matchExpressions[0].operator": "Exists" }, path: "spec.overrides[0].namespaceSelector.matchExpressions[0].values", expect: "empty for Exists and DoesNotExist", reason: "Invalid", apiServer: "rejects" },
  { name: "unknown policy field", base: "policy", set: { "spec.requireClaims": "Audit" }, path: "spec.requireClaims", expect: 'did you mean "requireClaim"', reason: "UnknownField", apiServer: "rejects" },
  // --- beyond the CRD ---
  { name: "forbidden id not in the catalogue", base: "policy", set: { "spec.forbidden": ["pods-exce"] }, path: "spec.forbidden[0]", expect: "not an escalation-catalogue id", reason: "Unsupported", options: { knownRuleIds: new Set(["pods-exec", "nodes-proxy"]) }, apiServer: "accepts" },
  { name: "exemption rule not in the catalogue", base: "policy", set: { "spec.exemptions[0].rules": ["node-proxy"] }, path: "spec.exemptions[0].rules[0]", expect: "nodes-proxy", reason: "Unsupported", options: { knownRuleIds: new Set(["pods-exec", "nodes-proxy"]) }, apiServer: "accepts" },
  { name: "valuePattern with lookahead", base: "policy", set: { "spec.requireChangeRequest.valuePattern": "^CHG-(?=[0-9])" }, path: "spec.requireChangeRequest.valuePattern", expect: "RE2 has no lookaround", reason: "Invalid", apiServer: "accepts" },
  { name: "valuePattern not a regular expression", base: "policy", set: { "spec.requireChangeRequest.valuePattern": "CHG-[" }, path: "spec.requireChangeRequest.valuePattern", expect: "not a regular expression", reason: "Invalid", apiServer: "accepts" },
  {
    name: "override shadowed by an identical earlier one",
    base: "policy",
    set: { "spec.overrides[1]": { namespaceSelector: { matchLabels: { "nhi.io/tier": "production" }, matchExpressions: [{ key: "team", operator: "In", values: ["payments"] }] }, requireClaim: "Off" } },
    path: "spec.overrides[1].namespaceSelector",
    expect: "never applies",
    reason: "Invalid",
    apiServer: "accepts",
  },
  { name: "override selector label key invalid", base: "policy", set: { "spec.overrides[0].namespaceSelector.matchLabels": { "nhi.io/": "x" } }, path: "spec.overrides[0].namespaceSelector.matchLabels.nhi.io/", expect: "name part must not be empty", reason: "Invalid", apiServer: "accepts" },
];
