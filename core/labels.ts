// Label selector matching with the semantics of apimachinery's metav1.LabelSelectorAsSelector and
// labels.Requirement.Matches (k8s.io/apimachinery pkg/apis/meta/v1/helpers.go, pkg/labels/selector.go):
// - a missing selector (undefined/null) selects nothing;
// - an empty selector ({}, or no matchLabels and no matchExpressions) selects everything;
// - otherwise every matchLabels pair and every matchExpression must hold (AND);
// - NotIn and DoesNotExist hold for objects that lack the key.
// Used for ClusterRole aggregation and for NHI podSelectors.

import type { LabelSelector, LabelSelectorRequirement } from "./rbac/types.js";

export type Labels = Readonly<Record<string, string>>;

/**
 * Structural problems that make the API server reject the selector (NewRequirement's value-count
 * rules and the operator enum). Key/value syntax is left to schema validation. [] means valid.
 */
export function selectorErrors(selector: LabelSelector | undefined | null): string[] {
  const errors: string[] = [];
  (selector?.matchExpressions ?? []).forEach((expr, i) => {
    const at = `matchExpressions[${i}]`;
    const n = expr.values?.length ?? 0;
    switch (expr.operator) {
      case "In":
      case "NotIn":
        if (n === 0)
          errors.push(`${at}.values: for 'In', 'NotIn' operators, values set can't be empty`);
        break;
      case "Exists":
      case "DoesNotExist":
        if (n !== 0)
          errors.push(`${at}.values: values set must be empty for 'Exists' and 'DoesNotExist'`);
        break;
      default:
        errors.push(
          `${at}.operator: ${JSON.stringify(expr.operator)} is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)`,
        );
    }
  });
  return errors;
}

function has(labels: Labels, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(labels, key);
}

export function requirementMatches(expr: LabelSelectorRequirement, labels: Labels): boolean {
  const present = has(labels, expr.key);
  switch (expr.operator) {
    case "In":
      return present && (expr.values ?? []).includes(labels[expr.key] as string);
    case "NotIn":
      return !present || !(expr.values ?? []).includes(labels[expr.key] as string);
    case "Exists":
      return present;
    case "DoesNotExist":
      return !present;
    default:
      // An operator the API server would reject: such a selector cannot select anything.
      return false;
  }
}

/**
 * Does `selector` select an object with these labels? An invalid selector (see selectorErrors)
 * selects nothing, as the API server would never have accepted it.
 */
export function selectorMatches(
  selector: LabelSelector | undefined | null,
  labels: Labels | undefined,
): boolean {
  if (selector === undefined || selector === null) return false;
  const ls: Labels = labels ?? {};
  const ml = selector.matchLabels ?? {};
  for (const key of Object.keys(ml)) {
    if (!has(ls, key) || ls[key] !== ml[key]) return false;
  }
  const exprs = selector.matchExpressions ?? [];
  if (exprs.length > 0 && selectorErrors(selector).length > 0) return false;
  for (const expr of exprs) {
    if (!requirementMatches(expr, ls)) return false;
  }
  return true;
}

/** True when the selector is empty and so selects every object. */
export function selectsEverything(selector: LabelSelector | undefined | null): boolean {
  if (selector === undefined || selector === null) return false;
  return (
    Object.keys(selector.matchLabels ?? {}).length === 0 &&
    (selector.matchExpressions ?? []).length === 0
  );
}
