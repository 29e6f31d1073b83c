// Validates NonHumanIdentity and NHIPolicy objects offline, with the answers the API server gives:
// 1. the CRD's own OpenAPI schema, compiled with ajv (Kubernetes keywords registered or translated);
// 2. list-type set/map uniqueness (x-kubernetes-list-type), which ajv does not know;
// 3. the CRD's CEL rules, through their JavaScript mirrors (cel.ts) and with the CRD's messages;
// 4. semantic checks the API server does not make but a pull request should (checks.ts).
// Every error names the field path, Kubernetes style ("spec.credentials[0].renewBefore"), and what
// would be valid. Pure: the CRD documents come in as data (crds/load.ts reads them).
// The steps live in their own modules: ajv-schema.ts (1), value-walk.ts (2, 3), checks.ts (4),
// ajv-errors.ts (ajv's errors in the API server's words) and validation.ts (the types).
import type { ValidateFunction } from "ajv";
import { translate } from "./ajv-errors.js";
import { newAjv, toAjvSchema } from "./ajv-schema.js";
import { CEL_MIRRORS } from "./cel.js";
import { NHI_CHECKS, POLICY_CHECKS } from "./checks.js";
import type { NamedCheck } from "./checks.js";
import { child } from "./field-paths.js";
import { isRecord, show } from "../json.js";
import { findCrdSchema } from "./schema.js";
import type { KubeSchema } from "./schema.js";
import { NHI_API_VERSION } from "./types.js";
import type { NHIKind, NHIPolicy, NonHumanIdentity } from "./types.js";
import type { FieldError, NHIValidator, Parsed, ValidateOptions } from "./validation.js";
import { walkValue } from "./value-walk.js";

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
  options: {
    lazy?: boolean;
    /**
     * The schemas' ajv code compiled at build time (crds/standalone.ts, from these same CRDs),
     * asked for when a kind's validator is first needed: used instead of compiling it here.
     */
    precompiled?: (kind: NHIKind) => ValidateFunction | undefined;
  } = {},
): NHIValidator {
  let ajv: ReturnType<typeof newAjv> | undefined;
  const compile = (kind: NHIKind, checks: readonly NamedCheck[]): Compiled => {
    const schema = findCrdSchema(crdDocuments, kind);
    assertMirrored(kind, schema);
    // ajv compiles a CRD schema in tens of milliseconds. Lazy (the CLI): on the first object of the
    // kind, so nhictl check on manifests without NHIs never pays it; eager (the webhook): at start,
    // so a schema ajv rejects stops the process instead of failing a review.
    const build = (): ValidateFunction =>
      options.precompiled?.(kind) ?? (ajv ??= newAjv()).compile(toAjvSchema(schema));
    let fn: ValidateFunction | undefined = options.lazy === true ? undefined : build();
    return {
      kind,
      schema,
      checks,
      get ajv(): ValidateFunction {
        fn ??= build();
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
