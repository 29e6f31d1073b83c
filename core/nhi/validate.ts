// Validates NonHumanIdentity and NHIPolicy objects offline, with the answers the API server gives:
// 1. the CRD's own OpenAPI schema, compiled with ajv (Kubernetes keywords registered or translated);
// 2. list-type set/map uniqueness (x-kubernetes-list-type), which ajv does not know;
// 3. the CRD's CEL rules, through their JavaScript mirrors (cel.ts) and with the CRD's messages;
// 4. semantic checks the API server does not make but a pull request should (checks.ts).
// Every error names the field path, Kubernetes style ("spec.credentials[0].renewBefore"), and what
// would be valid. Pure: the CRD documents come in as data (crds/load.ts reads them).
import AjvModule from "ajv";
import type { ErrorObject, ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { CEL_MIRRORS } from "./cel.js";
import { NHI_CHECKS, POLICY_CHECKS } from "./checks.js";
import type { NamedCheck } from "./checks.js";
import { isDuration } from "./duration.js";
import { DURATION_PATTERN, PATTERN_MEANINGS } from "./patterns.js";
import { isRecord } from "../json.js";
import { findCrdSchema } from "./schema.js";
import type { KubeSchema } from "./schema.js";
import { NHI_API_VERSION } from "./types.js";
import type { NHIKind, NHIPolicy, NonHumanIdentity } from "./types.js";

// ajv and ajv-formats are CommonJS with `exports.default`; under NodeNext the default import is the
// module object.
const Ajv = AjvModule.default;
const addFormats = addFormatsModule.default;

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

// Formats Kubernetes accepts in CRD schemas. Those ajv-formats lacks are accepted as-is; "duration"
// is Kubernetes' Go-style duration (ajv-formats' is ISO 8601), so it gets our parser.
const KUBE_ONLY_FORMATS = [
  "bsonobjectid",
  "cidr",
  "mac",
  "uuid3",
  "uuid4",
  "uuid5",
  "isbn",
  "isbn10",
  "isbn13",
  "creditcard",
  "ssn",
  "hexcolor",
  "rgbcolor",
  "datetime",
  "int-or-string",
];

const KUBE_KEYWORDS = [
  "x-kubernetes-validations",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-int-or-string",
  "x-kubernetes-embedded-resource",
];

/**
 * The schema as ajv should see it: objects reject unknown fields (kubectl's strict field validation)
 * unless x-kubernetes-preserve-unknown-fields; int-or-string becomes a union type.
 */
function toAjvSchema(node: KubeSchema): Record<string, unknown> {
  const out: Record<string, unknown> = { ...node };
  if (node["x-kubernetes-int-or-string"] === true) {
    out.type = ["integer", "string"];
    if (out.format === "int-or-string") delete out.format;
  }
  if (node.properties) {
    out.properties = Object.fromEntries(
      Object.entries(node.properties).map(([k, v]) => [k, toAjvSchema(v)]),
    );
    if (
      node.additionalProperties === undefined &&
      node["x-kubernetes-preserve-unknown-fields"] !== true
    ) {
      out.additionalProperties = false;
    }
  }
  if (node.items) out.items = toAjvSchema(node.items);
  if (isRecord(node.additionalProperties))
    out.additionalProperties = toAjvSchema(node.additionalProperties as KubeSchema);
  return out;
}

function newAjv(): InstanceType<typeof Ajv> {
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    useDefaults: true,
    verbose: true,
    allowUnionTypes: true,
  });
  addFormats(ajv);
  for (const f of KUBE_ONLY_FORMATS) ajv.addFormat(f, true);
  ajv.addFormat("duration", { type: "string", validate: (s: string) => isDuration(s) });
  for (const k of KUBE_KEYWORDS) ajv.addKeyword({ keyword: k });
  return ajv;
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

const child = (path: string, name: string): string => (path === "" ? name : `${path}.${name}`);
const index = (path: string, i: number | string): string => `${path}[${i}]`;

/** Renders a JSON pointer ("/spec/credentials/0/ttl") as the API server does: "spec.credentials[0].ttl". */
function renderPointer(
  schema: KubeSchema,
  pointer: string,
): { path: string; node: KubeSchema | undefined } {
  let path = "";
  let node: KubeSchema | undefined = schema;
  if (pointer === "") return { path, node };
  for (const raw of pointer.slice(1).split("/")) {
    const tok = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (node?.properties?.[tok] !== undefined) {
      path = child(path, tok);
      node = node.properties[tok];
    } else if (node?.items !== undefined && /^\d+$/.test(tok)) {
      path = index(path, tok);
      node = node.items;
    } else if (node !== undefined && isRecord(node.additionalProperties)) {
      path = child(path, tok); // map keys as the API server prints them: matchLabels.app

      node = node.additionalProperties as KubeSchema;
    } else {
      path = child(path, tok);
      node = undefined;
    }
  }
  return { path, node };
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    return `a ${typeName(v)}`; // nested too deep to print (hostile input), or a cycle
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function firstSentence(description: string | undefined): string {
  if (description === undefined) return "";
  const s = description.split(/(?<=\.)\s+(?=[A-Z])/)[0] ?? description;
  return s.endsWith(".") ? s.slice(0, -1) : s;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "list";
  if (typeof v === "object") return "object";
  if (Number.isInteger(v)) return "integer";
  return typeof v;
}

const A_TYPE: Readonly<Record<string, string>> = {
  object: "an object (key: value fields)",
  array: "a list",
  string: "a string",
  integer: "a whole number",
  number: "a number",
  boolean: "true or false",
};

/** Closest name by edit distance, for "did you mean". */
function closest(name: string, candidates: string[]): string | undefined {
  const dist = (a: string, b: string): number => {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
    for (let i = 1; i <= x.length; i++) {
      const cur = [i];
      for (let j = 1; j <= y.length; j++) {
        cur[j] = Math.min(
          (prev[j] ?? 0) + 1,
          (cur[j - 1] ?? 0) + 1,
          (prev[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1),
        );
      }
      prev = cur;
    }
    return prev[y.length] ?? Infinity;
  };
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = dist(name, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** One ajv error as a FieldError; undefined for errors that only restate another (e.g. "if"). */
function translate(schema: KubeSchema, e: ErrorObject): FieldError | undefined {
  const { path, node } = renderPointer(schema, e.instancePath);
  const parent = (e.parentSchema ?? node ?? {}) as KubeSchema;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required": {
      const missing = String(p.missingProperty);
      const desc = firstSentence(parent.properties?.[missing]?.description);
      return {
        path: child(path, missing),
        message: "Required value",
        fix: `add ${missing}${desc ? `: ${desc}` : ""}`,
        reason: "Required",
      };
    }
    case "additionalProperties": {
      const extra = String(p.additionalProperty);
      const known = Object.keys(parent.properties ?? {});
      const guess = closest(extra, known);
      return {
        path: child(path, extra),
        message: `Unknown field "${extra}"`,
        fix: `${guess ? `did you mean "${guess}"? ` : ""}remove it or use a known field: ${known.join(", ")}`,
        reason: "UnknownField",
      };
    }
    case "enum": {
      const allowed = (parent.enum ?? []).map(String);
      return {
        path,
        message: `Unsupported value: ${show(e.data)}: supported values: ${allowed.map((a) => `"${a}"`).join(", ")}`,
        fix: `use one of: ${allowed.join(", ")}`,
        allowed,
        reason: "Unsupported",
      };
    }
    case "pattern": {
      const meaning =
        PATTERN_MEANINGS[String(p.pattern)] ?? `a value matching ${String(p.pattern)}`;
      return {
        path,
        message: `Invalid value: ${show(e.data)}: must be ${meaning}`,
        fix: `write ${meaning}`,
        reason: "Invalid",
      };
    }
    case "format": {
      if (p.format === "date-time") {
        return {
          path,
          message: `Invalid value: ${show(e.data)}: must be an RFC 3339 date-time`,
          fix: "write a time with a time zone, e.g. 2027-06-30T00:00:00Z",
          reason: "Invalid",
        };
      }
      return {
        path,
        message: `Invalid value: ${show(e.data)}: must be a valid ${String(p.format)}`,
        fix: `write a valid ${String(p.format)}`,
        reason: "Invalid",
      };
    }
    case "type": {
      const want = String(p.type).split(",")[0] ?? "";
      const got = typeName(e.data);
      // YAML 1.1 (kubectl) reads unquoted Off/yes/no as booleans and 3600 as a number.
      const quote =
        want !== "string"
          ? ""
          : typeof e.data === "boolean"
            ? ` (quote it, e.g. "${parent.enum?.map(String).find((v) => /^(off|on|yes|no|true|false)$/i.test(v)) ?? String(e.data)}": YAML reads unquoted yes, no, on, off, true and false as booleans)`
            : typeof e.data === "number"
              ? ` (quote it: "${String(e.data)}")`
              : "";
      return {
        path,
        message: `Invalid value: ${show(e.data)}: must be ${A_TYPE[want] ?? want}, not ${got === "list" ? "a list" : `${/^[aeiou]/.test(got) ? "an" : "a"} ${got}`}`,
        fix: `write ${A_TYPE[want] ?? want}${quote}`,
        reason: "TypeInvalid",
      };
    }
    case "maxLength":
      return {
        path,
        message: `Too long: must have at most ${String(p.limit)} characters`,
        fix: `shorten it to ${String(p.limit)} characters or fewer`,
        reason: "TooLong",
      };
    case "minLength":
      return {
        path,
        message:
          p.limit === 1
            ? "Invalid value: must not be empty"
            : `Invalid value: must have at least ${String(p.limit)} characters`,
        fix:
          p.limit === 1
            ? "write a value, or remove the field if it is optional"
            : `lengthen it to at least ${String(p.limit)} characters`,
        reason: "Invalid",
      };
    case "maxItems":
      return {
        path,
        message: `Too many: ${Array.isArray(e.data) ? e.data.length : "?"}: must have at most ${String(p.limit)} items`,
        fix: `list at most ${String(p.limit)} items`,
        reason: "TooMany",
      };
    case "minItems":
      return {
        path,
        message: `Invalid value: must have at least ${String(p.limit)} item${p.limit === 1 ? "" : "s"}`,
        fix:
          p.limit === 1
            ? "list at least one item, or remove the field"
            : `list at least ${String(p.limit)} items`,
        reason: "Invalid",
      };
    case "maxProperties":
      return {
        path,
        message: `Too many: must have at most ${String(p.limit)} entries`,
        fix: `keep at most ${String(p.limit)} entries`,
        reason: "TooMany",
      };
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return {
        path,
        message: `Invalid value: ${show(e.data)}: must be ${String(p.comparison)} ${String(p.limit)}`,
        fix: `use a number between ${parent.minimum ?? "-∞"} and ${parent.maximum ?? "∞"}`,
        reason: "Invalid",
      };
    default:
      return {
        path,
        message: `Invalid value: ${e.message ?? e.keyword}`,
        fix: firstSentence(parent.description) || "see kubectl explain",
        reason: "Invalid",
      };
  }
}

// ---------------------------------------------------------------------------------------------
// Schema + value walks: list types, CEL mirrors, duration overflow
// ---------------------------------------------------------------------------------------------

const CEL_REASON: Readonly<Record<string, FieldErrorReason>> = {
  FieldValueInvalid: "Invalid",
  FieldValueForbidden: "Forbidden",
  FieldValueRequired: "Required",
  FieldValueDuplicate: "Duplicate",
};

function matchesType(node: KubeSchema, v: unknown): boolean {
  switch (node.type) {
    case "object":
      return isRecord(v);
    case "array":
      return Array.isArray(v);
    case "string":
      return typeof v === "string";
    default:
      return true;
  }
}

/** The old list item with the same list-map keys as `item`, for transition rules. */
function correlate(node: KubeSchema, item: unknown, oldList: unknown): unknown {
  const keys = node["x-kubernetes-list-map-keys"];
  if (
    node["x-kubernetes-list-type"] !== "map" ||
    !keys ||
    !isRecord(item) ||
    !Array.isArray(oldList)
  )
    return undefined;
  return oldList.find((o) => isRecord(o) && keys.every((k) => o[k] === item[k]));
}

function walkValue(
  node: KubeSchema,
  value: unknown,
  path: string,
  old: unknown,
  errors: FieldError[],
): void {
  if (value === undefined || value === null || !matchesType(node, value)) return;

  for (const rule of node["x-kubernetes-validations"] ?? []) {
    const mirror = CEL_MIRRORS[rule.rule];
    if (mirror === undefined) continue; // createValidator refuses such CRDs
    if (mirror.transition && old === undefined) continue;
    if (mirror.check(value, old) !== false) continue;
    const fp = rule.fieldPath ?? "";
    errors.push({
      path: fp === "" ? path : path === "" ? fp.slice(1) : `${path}${fp}`,
      message: rule.message ?? `failed rule: ${rule.rule}`,
      fix: mirror.fix,
      reason: CEL_REASON[rule.reason ?? "FieldValueInvalid"] ?? "Invalid",
    });
  }

  if (node.type === "string" && node.pattern === DURATION_PATTERN && typeof value === "string") {
    if (new RegExp(DURATION_PATTERN).test(value) && !isDuration(value)) {
      errors.push({
        path,
        message: `Invalid value: ${show(value)}: duration is too long`,
        fix: "use a duration shorter than 2562047h",
        reason: "Invalid",
      });
    }
  }

  if (Array.isArray(value) && node.items) {
    const listType = node["x-kubernetes-list-type"];
    const keys = node["x-kubernetes-list-map-keys"] ?? [];
    const seen = new Map<string, number>();
    value.forEach((item, i) => {
      if (listType === "set" || (listType === "map" && isRecord(item))) {
        const id =
          listType === "set"
            ? JSON.stringify(item)
            : JSON.stringify(keys.map((k) => (item as Record<string, unknown>)[k]));
        const first = seen.get(id);
        if (first !== undefined) {
          const shown =
            listType === "set"
              ? show(item)
              : `{${keys.map((k) => `"${k}":${show((item as Record<string, unknown>)[k])}`).join(",")}}`;
          errors.push({
            path: index(path, i),
            message: `Duplicate value: ${shown}`,
            fix:
              listType === "set"
                ? `remove it (already at [${first}])`
                : `give it a ${keys.join("/")} not used by [${first}]`,
            reason: "Duplicate",
          });
        } else seen.set(id, i);
      }
      walkValue(node.items as KubeSchema, item, index(path, i), correlate(node, item, old), errors);
    });
    return;
  }

  if (isRecord(value)) {
    const oldObj = isRecord(old) ? old : undefined;
    for (const [k, sub] of Object.entries(node.properties ?? {})) {
      walkValue(sub, value[k], child(path, k), oldObj?.[k], errors);
    }
    if (isRecord(node.additionalProperties)) {
      for (const [k, v] of Object.entries(value)) {
        walkValue(node.additionalProperties as KubeSchema, v, child(path, k), oldObj?.[k], errors);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The validator
// ---------------------------------------------------------------------------------------------

/** A JSON-value copy (objects from YAML or JSON are JSON values), so defaulting never mutates the input. */
function jsonClone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const id = `${e.path}\n${e.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

interface Compiled {
  kind: NHIKind;
  schema: KubeSchema;
  ajv: ValidateFunction;
  checks: readonly NamedCheck[];
}

function assertMirrored(kind: NHIKind, schema: KubeSchema, path = ""): void {
  for (const r of schema["x-kubernetes-validations"] ?? []) {
    if (CEL_MIRRORS[r.rule] === undefined) {
      throw new Error(
        `${kind} CRD: CEL rule at ${path || "(root)"} has no JavaScript mirror in core/nhi/cel.ts: ${r.rule}`,
      );
    }
  }
  for (const [k, v] of Object.entries(schema.properties ?? {}))
    assertMirrored(kind, v, child(path, k));
  if (schema.items) assertMirrored(kind, schema.items, `${path}[]`);
  if (isRecord(schema.additionalProperties))
    assertMirrored(kind, schema.additionalProperties as KubeSchema, `${path}{}`);
}

function run(
  c: Compiled,
  obj: unknown,
  options: ValidateOptions,
): { errors: FieldError[]; value: unknown } {
  if (!isRecord(obj)) {
    return {
      errors: [
        {
          path: "",
          message: `Invalid value: ${show(obj)}: must be a ${c.kind} object`,
          fix: `write a ${c.kind} manifest`,
          reason: "TypeInvalid",
        },
      ],
      value: obj,
    };
  }
  const errors: FieldError[] = [];
  if (obj.apiVersion !== NHI_API_VERSION) {
    errors.push({
      path: "apiVersion",
      message: `Unsupported value: ${show(obj.apiVersion)}: supported values: "${NHI_API_VERSION}"`,
      fix: `use apiVersion: ${NHI_API_VERSION}`,
      allowed: [NHI_API_VERSION],
      reason: "Unsupported",
    });
  }
  if (obj.kind !== c.kind) {
    errors.push({
      path: "kind",
      message: `Unsupported value: ${show(obj.kind)}: supported values: "${c.kind}"`,
      fix: `use kind: ${c.kind}`,
      allowed: [c.kind],
      reason: "Unsupported",
    });
  }
  const value = jsonClone(obj);
  if (!c.ajv(value)) {
    for (const e of c.ajv.errors ?? []) {
      const fe = translate(c.schema, e);
      if (fe) errors.push(fe);
    }
  }
  const schemaErrorPaths = new Set(errors.map((e) => e.path));
  walkValue(c.schema, value, "", options.oldObject, errors);
  // Semantic checks explain what the schema cannot; where the schema already flagged a field, its
  // error is the one to fix first.
  for (const check of c.checks) {
    for (const e of check.run(value as Record<string, unknown>, options)) {
      if (!schemaErrorPaths.has(e.path)) errors.push(e);
    }
  }
  return { errors: dedupe(errors), value };
}

/**
 * Compiles validators for both kinds from parsed CRD documents (crds/load.ts `loadCrdDocuments()`).
 * Throws when a CRD is missing or has a CEL rule without a mirror in cel.ts.
 */
export function createValidator(
  crdDocuments: readonly unknown[],
  options: { lazy?: boolean } = {},
): NHIValidator {
  let ajv: ReturnType<typeof newAjv> | undefined;
  const compile = (kind: NHIKind, checks: readonly NamedCheck[]): Compiled => {
    const schema = findCrdSchema(crdDocuments, kind);
    assertMirrored(kind, schema);
    // ajv compiles a CRD schema in tens of milliseconds. Lazy (the CLI): on the first object of the
    // kind, so nhictl check on manifests without NHIs never pays it; eager (the webhook): at start,
    // so a schema ajv rejects stops the process instead of failing a review.
    let fn: ValidateFunction | undefined =
      options.lazy === true ? undefined : (ajv ??= newAjv()).compile(toAjvSchema(schema));
    return {
      kind,
      schema,
      checks,
      get ajv(): ValidateFunction {
        fn ??= (ajv ??= newAjv()).compile(toAjvSchema(schema));
        return fn;
      },
    };
  };
  const nhi = compile("NonHumanIdentity", NHI_CHECKS);
  const policy = compile("NHIPolicy", POLICY_CHECKS);

  const parse = <T>(c: Compiled, obj: unknown, options: ValidateOptions = {}): Parsed<T> => {
    const { errors, value } = run(c, obj, options);
    return errors.length === 0
      ? { ok: true, value: value as T, errors: [] }
      : { ok: false, errors };
  };

  return {
    validateNonHumanIdentity: (obj, options = {}) => run(nhi, obj, options).errors,
    validateNHIPolicy: (obj, options = {}) => run(policy, obj, options).errors,
    validate: (obj, options = {}) => {
      const kind = isRecord(obj) ? obj.kind : undefined;
      if (kind === nhi.kind) return run(nhi, obj, options).errors;
      if (kind === policy.kind) return run(policy, obj, options).errors;
      return [
        {
          path: "kind",
          message: `Unsupported value: ${show(kind)}: supported values: "NonHumanIdentity", "NHIPolicy"`,
          fix: "use kind: NonHumanIdentity or kind: NHIPolicy",
          allowed: ["NonHumanIdentity", "NHIPolicy"],
          reason: "Unsupported",
        },
      ];
    },
    parseNonHumanIdentity: (obj, options) => parse<NonHumanIdentity>(nhi, obj, options),
    parseNHIPolicy: (obj, options) => parse<NHIPolicy>(policy, obj, options),
    schemas: { NonHumanIdentity: nhi.schema, NHIPolicy: policy.schema },
  };
}
