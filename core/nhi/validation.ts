// The validator's vocabulary, shared by the validator (validate.ts), its semantic checks (checks.ts)
// and every caller: field errors, options, the parsed result and the validator's interface. Types in
// a module of their own so that validate.ts and checks.ts do not import each other.
import type { KubeSchema } from "./schema.js";
import type { NHIKind, NHIPolicy, NonHumanIdentity } from "./types.js";

export type FieldErrorReason =
  | "Required"
  | "Unsupported"
  | "Invalid"
  | "TypeInvalid"
  | "Duplicate"
  | "Forbidden"
  | "TooLong"
  | "TooMany"
  | "UnknownField";

export interface FieldError {
  /** Kubernetes-style field path, e.g. "spec.credentials[0].renewBefore"; "" for the object itself. */
  path: string;
  /** What is wrong. */
  message: string;
  /** What would be valid. */
  fix: string;
  /** The allowed values, for enum fields. */
  allowed?: string[];
  reason: FieldErrorReason;
}

export interface ValidateOptions {
  /** The object before an update: enables transition rules (serviceAccountName is immutable). */
  oldObject?: unknown;
  /** The current time: enables "spec.lifetime.expiresAt is in the past". */
  now?: Date;
  /** Known escalation-catalogue ids: enables checking NHIPolicy forbidden[] and exemptions[].rules[]. */
  knownRuleIds?: ReadonlySet<string>;
}

export type Parsed<T> = { ok: true; value: T; errors: [] } | { ok: false; errors: FieldError[] };

export interface NHIValidator {
  validateNonHumanIdentity(obj: unknown, options?: ValidateOptions): FieldError[];
  validateNHIPolicy(obj: unknown, options?: ValidateOptions): FieldError[];
  /** Dispatches on `kind`; an unknown kind is an error at path "kind". */
  validate(obj: unknown, options?: ValidateOptions): FieldError[];
  /** Validates and returns a defaulted copy (the API server's defaults) typed, when valid. */
  parseNonHumanIdentity(obj: unknown, options?: ValidateOptions): Parsed<NonHumanIdentity>;
  parseNHIPolicy(obj: unknown, options?: ValidateOptions): Parsed<NHIPolicy>;
  readonly schemas: Readonly<Record<NHIKind, KubeSchema>>;
}

/** "spec.credentials[0].ttl: Invalid value: ... (fix: ...)" */
export function formatFieldError(e: FieldError): string {
  return `${e.path === "" ? "(object)" : e.path}: ${e.message} (fix: ${e.fix})`;
}
