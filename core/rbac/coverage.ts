// Rule coverage with the API server's own semantics: a line-by-line port of
// k8s.io/component-helpers/auth/rbac/validation/policy_comparator.go (v0.35.4: Covers, BreakdownRule,
// ruleCovers, resourceCoversAll, nonResourceURLsCoversAll, nonResourceURLCovers), which
// pkg/registry/rbac/validation/rule.go ConfirmNoEscalation uses to refuse a Role/binding write that
// grants more than the writer holds. We keep its quirks on purpose, so that "covered" here means
// exactly what the API server would accept:
// - verbs and apiGroups: owner "*" or exact string match; a requested "*" is only covered by "*";
// - resources: owner "*" covers everything, including subresources; otherwise exact match, or
//   "*/<sub>" for a requested "<res>/<sub>" ("pods" never covers "pods/exec");
// - resourceNames: an owner without names covers every name; one with names covers only those,
//   and never a requested rule without names;
// - nonResourceURLs: exact, or an owner ending in "*" covers every URL with that prefix;
// - a requested rule is broken down into atomic rules first, so several owner rules can jointly
//   cover it, and a requested rule lacking apiGroups or resources breaks down to nothing.

import type { PolicyRule } from "./types.js";

const ALL = "*";
/** The value of an absent list field (shared, never written). */
const NONE: readonly string[] = Object.freeze([]);

/**
 * BreakdownRule: the equivalent list of atomic rules, each with one verb, one apiGroup, one
 * resource and at most one resourceName, or one nonResourceURL and one verb. Duplicates in the
 * input are kept, as in Go.
 */
export function breakdown(rule: PolicyRule): readonly PolicyRule[] {
  // Rules are the cache's long-lived objects, broken down again on every review that judges them.
  let out = breakdowns.get(rule);
  if (out === undefined) {
    out = Object.freeze(breakdownOnce(rule).map((r) => Object.freeze(r)));
    breakdowns.set(rule, out);
  }
  return out;
}

const breakdowns = new WeakMap<PolicyRule, readonly PolicyRule[]>();

function breakdownOnce(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  const names = rule.resourceNames ?? [];
  // `verbs` is required by the API, but a hand-written manifest may omit it: treat as none.
  const verbs = rule.verbs ?? [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of verbs) {
        if (names.length > 0) {
          for (const name of names) {
            out.push({
              apiGroups: [group],
              resources: [resource],
              verbs: [verb],
              resourceNames: [name],
            });
          }
        } else {
          out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        }
      }
    }
  }
  // Non-resource URLs only combine with verbs.
  for (const url of rule.nonResourceURLs ?? []) {
    for (const verb of verbs) out.push({ nonResourceURLs: [url], verbs: [verb] });
  }
  return out;
}

function hasAll(set: readonly string[], contains: readonly string[]): boolean {
  // Sub-rules are atomic, so `contains` is almost always one element: avoid building a Set.
  for (const c of contains) if (!set.includes(c)) return false;
  return true;
}

function resourceCoversAll(set: readonly string[], covers: readonly string[]): boolean {
  if (set.includes(ALL) || hasAll(set, covers)) return true;
  for (const path of covers) {
    if (set.includes(path)) continue;
    // Not a subresource: nothing but "*" or an exact match covers it.
    const slash = path.indexOf("/");
    if (slash < 0) return false;
    // Go: strings.SplitN(path, "/", 2) → "*/" + everything after the first "/".
    if (!set.includes(ALL + path.slice(slash))) return false;
  }
  return true;
}

export function nonResourceURLCovers(ownerPath: string, subPath: string): boolean {
  if (ownerPath === subPath) return true;
  // Go: HasSuffix(owner, "*") && HasPrefix(sub, TrimRight(owner, "*")) — TrimRight strips every
  // trailing "*", so "/api**" behaves like "/api*".
  return ownerPath.endsWith(ALL) && subPath.startsWith(ownerPath.replace(/\*+$/, ""));
}

function nonResourceURLsCoversAll(set: readonly string[], covers: readonly string[]): boolean {
  return covers.every((path) => set.some((owner) => nonResourceURLCovers(owner, path)));
}

/**
 * ruleCovers: does a single owner rule cover `subRule`? Exact port: meant for atomic sub-rules
 * (see breakdown); on a non-atomic sub-rule it answers "does this one owner rule cover all of it".
 */
export function ruleCovers(owner: PolicyRule, subRule: PolicyRule): boolean {
  // NONE, not a fresh [] per absent field: judging calls this millions of times on a large set.
  const ownerVerbs = owner.verbs ?? NONE;
  const ownerGroups = owner.apiGroups ?? NONE;
  const verbMatches = ownerVerbs.includes(ALL) || hasAll(ownerVerbs, subRule.verbs ?? NONE);
  if (!verbMatches) return false;
  const groupMatches = ownerGroups.includes(ALL) || hasAll(ownerGroups, subRule.apiGroups ?? NONE);
  if (!groupMatches) return false;
  if (!resourceCoversAll(owner.resources ?? NONE, subRule.resources ?? NONE)) return false;
  const subUrls = subRule.nonResourceURLs ?? NONE;
  if (subUrls.length > 0 && !nonResourceURLsCoversAll(owner.nonResourceURLs ?? NONE, subUrls))
    return false;
  const ownerNames = owner.resourceNames ?? NONE;
  const subNames = subRule.resourceNames ?? NONE;
  return subNames.length === 0
    ? ownerNames.length === 0
    : ownerNames.length === 0 || hasAll(ownerNames, subNames);
}

/** Does some rule of `owners` cover the atomic `sub`? A loop, not owners.some(closure): see NONE. */
function anyCovers(owners: readonly PolicyRule[], sub: PolicyRule): boolean {
  for (const o of owners) if (ruleCovers(o, sub)) return true;
  return false;
}

/**
 * Covers: the atomic rules of `requested` that no rule of `owner` covers, in breakdown order
 * (duplicates kept). [] means the owner rules cover every requested permission.
 */
export function uncoveredRules(
  owner: readonly PolicyRule[],
  requested: readonly PolicyRule[],
): PolicyRule[] {
  const uncovered: PolicyRule[] = [];
  for (const rule of requested) {
    for (const sub of breakdown(rule)) {
      if (!anyCovers(owner, sub)) uncovered.push(sub);
    }
  }
  return uncovered;
}

/**
 * Do the owner rule(s) cover every permission of `rule` (or of each rule in a list)? Accepts one
 * owner rule or a set; several owner rules may jointly cover one requested rule.
 */
export function covers(
  owner: PolicyRule | readonly PolicyRule[],
  rule: PolicyRule | readonly PolicyRule[],
): boolean {
  if (!isRuleList(rule)) return coversRule(owner, rule);
  for (const r of rule) if (!coversRule(owner, r)) return false;
  return true;
}

function coversRule(owner: PolicyRule | readonly PolicyRule[], rule: PolicyRule): boolean {
  for (const sub of breakdown(rule)) {
    if (isRuleList(owner) ? !anyCovers(owner, sub) : !ruleCovers(owner, sub)) return false;
  }
  return true;
}

function isRuleList(x: PolicyRule | readonly PolicyRule[]): x is readonly PolicyRule[] {
  return Array.isArray(x);
}

/** A canonical string for a rule (field order fixed, lists kept in order): for dedup and maps. */
export function ruleKey(rule: PolicyRule): string {
  return JSON.stringify([
    rule.apiGroups ?? [],
    rule.resources ?? [],
    rule.resourceNames ?? [],
    rule.nonResourceURLs ?? [],
    rule.verbs ?? [],
  ]);
}
