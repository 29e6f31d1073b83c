// What the schema says but ajv does not check, walked over schema and value together:
// x-kubernetes-list-type set/map uniqueness, the CRD's CEL rules through their JavaScript mirrors
// (cel.ts), and durations too long for the API server.
import { CEL_MIRRORS } from "./cel.js";
import { isDuration } from "./duration.js";
import { child, index } from "./field-paths.js";
import { isRecord, show } from "../json.js";
import { DURATION_PATTERN } from "./patterns.js";
import type { KubeSchema } from "./schema.js";
import type { FieldError, FieldErrorReason } from "./validation.js";

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

export function walkValue(
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
