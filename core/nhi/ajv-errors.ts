// ajv's errors in the API server's words: one FieldError each, with the field path, what is wrong
// and what would be valid ("did you mean", the allowed values, the schema's description).
import type { ErrorObject } from "ajv";
import { quoteHint, show, typeName } from "../json.js";
import { child, renderPointer } from "./field-paths.js";
import { PATTERN_MEANINGS } from "./patterns.js";
import type { KubeSchema } from "./schema.js";
import type { FieldError } from "./validation.js";

function firstSentence(description: string | undefined): string {
  if (description === undefined) return "";
  const s = description.split(/(?<=\.)\s+(?=[A-Z])/)[0] ?? description;
  return s.endsWith(".") ? s.slice(0, -1) : s;
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
export function translate(schema: KubeSchema, e: ErrorObject): FieldError | undefined {
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
          : quoteHint(
              e.data,
              parent.enum?.map(String).find((v) => /^(off|on|yes|no|true|false)$/i.test(v)),
            );
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
