// The policy the decisions apply: NHIPolicy objects resolved over the built-in defaults.
import { globMatches } from "../glob.js";
import { selectorMatches } from "../labels.js";
import { parseDuration } from "../nhi/duration.js";
import { parseGroupIdentity } from "../rbac/groups.js";
import type { ClaimMode, NamespaceOverride, NHIPolicy } from "../nhi/types.js";
import type { Violation } from "./types.js";

export type Mode = "Enforce" | "Audit";

export interface Exemption {
  /** Namespace globs whose identities are exempt. */
  namespaces?: string[];
  /** ServiceAccount globs "namespace/name". */
  serviceAccounts?: string[];
  /** Catalogue entry or check ids the exemption allows; absent or empty means every rule. */
  rules?: string[];
  reason: string;
  /** The NHIPolicy that declares it, for messages. */
  policy?: string;
}

export interface BreakGlass {
  annotation: string;
  reasonAnnotation: string;
  /** Groups whose members may break glass; absent: human users only (core/policy/break-glass.ts). */
  allowedGroups?: string[];
}

export interface EffectivePolicy {
  /** High catalogue permissions for an identity no NHI claims: deny (Enforce) or warn (Audit). */
  unclaimedHighPermissions: Mode;
  /** ServiceAccounts that run pods must be claimed by an NHI: deny, warn, or not checked. */
  requireClaim: ClaimMode;
  /** A write opening a new attack path to cluster-admin or beyond an NHI's scopes: deny (Enforce) or warn (Audit). */
  transitiveEscalation: Mode;
  /** High catalogue entries promoted to forbidden-for-everyone, like the critical ones. */
  forbidden: string[];
  /** Longest token lifetime any identity may request, in seconds. */
  maxTokenTTLSeconds?: number;
  /** Longest credential age, in milliseconds. */
  maxCredentialAgeMs?: number;
  /** Widening an NHI's scopes needs this annotation (a change-request reference). */
  requireChangeRequest?: { annotation: string; valuePattern?: string };
  /** Namespace globs that no check applies to. */
  exemptNamespaces: string[];
  exemptions: Exemption[];
  breakGlass?: BreakGlass;
  /** Per-namespace modes; the first override whose selector matches the namespace's labels wins. */
  overrides: NamespaceOverride[];
  /** The NHIPolicies this was resolved from, for messages. */
  sources: string[];
}

const BASE: EffectivePolicy = {
  unclaimedHighPermissions: "Audit",
  requireClaim: "Audit",
  transitiveEscalation: "Audit",
  forbidden: [],
  exemptNamespaces: [],
  exemptions: [],
  overrides: [],
  sources: [],
};
/** The webhook's day-one default (DESIGN.md "adoptable on day one"). */
export const ADMISSION_DEFAULTS: EffectivePolicy = BASE;
/** The CLI's default: a pull request should not add power to an identity nobody owns. */
export const CLI_DEFAULTS: EffectivePolicy = { ...BASE, unclaimedHighPermissions: "Enforce" };

const CLAIM_STRICTNESS: Record<ClaimMode, number> = { Off: 0, Audit: 1, Enforce: 2 };
const stricter = <M extends ClaimMode>(a: M, b: M | undefined): M =>
  b !== undefined && CLAIM_STRICTNESS[b] > CLAIM_STRICTNESS[a] ? b : a;
const minDefined = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

/**
 * Merges NHIPolicies over `base`. Several policies combine to the strictest: the strictest modes,
 * the shortest limits, the union of forbidden ids, exemptions and overrides. Exemptions whose
 * `expiresAt` has passed at `now` are dropped. Break-glass comes from the first policy by name
 * that configures it. Policies are assumed valid (core/nhi validation runs first).
 */
export function resolvePolicy(
  policies: readonly NHIPolicy[],
  base: EffectivePolicy,
  now: Date,
): EffectivePolicy {
  const sorted = [...policies].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  let out: EffectivePolicy = {
    ...base,
    forbidden: [...base.forbidden],
    exemptNamespaces: [...base.exemptNamespaces],
    exemptions: [...base.exemptions],
    overrides: [...base.overrides],
    sources: [...base.sources],
  };
  for (const p of sorted) {
    const s = p.spec;
    const name = p.metadata.name;
    out = {
      ...out,
      unclaimedHighPermissions: stricter(out.unclaimedHighPermissions, s.unclaimedHighPermissions),
      requireClaim: stricter(out.requireClaim, s.requireClaim),
      transitiveEscalation: stricter(out.transitiveEscalation, s.transitiveEscalation),
      forbidden: [...new Set([...out.forbidden, ...(s.forbidden ?? [])])],
      maxTokenTTLSeconds: minDefined(
        out.maxTokenTTLSeconds,
        s.maxTokenTTL ? parseDuration(s.maxTokenTTL) / 1000 : undefined,
      ),
      maxCredentialAgeMs: minDefined(
        out.maxCredentialAgeMs,
        s.maxCredentialAge ? parseDuration(s.maxCredentialAge) : undefined,
      ),
      exemptNamespaces: [...out.exemptNamespaces, ...(s.exemptNamespaces ?? [])],
      exemptions: [
        ...out.exemptions,
        ...(s.exemptions ?? [])
          .filter((e) => e.expiresAt === undefined || Date.parse(e.expiresAt) > now.getTime())
          .map((e): Exemption => ({ ...e, policy: name })),
      ],
      overrides: [...out.overrides, ...(s.overrides ?? [])],
      sources: [...out.sources, name],
    };
    if (s.requireChangeRequest?.enabled && !out.requireChangeRequest) {
      const cr = s.requireChangeRequest;
      out.requireChangeRequest =
        cr.valuePattern !== undefined
          ? { annotation: cr.annotation ?? "nhi.io/change-request", valuePattern: cr.valuePattern }
          : { annotation: cr.annotation ?? "nhi.io/change-request" };
    }
    if (s.breakGlass && !out.breakGlass) {
      out.breakGlass = {
        annotation: s.breakGlass.annotation ?? "nhi.io/break-glass",
        reasonAnnotation: s.breakGlass.reasonAnnotation ?? "nhi.io/break-glass-reason",
        ...(s.breakGlass.allowedGroups ? { allowedGroups: s.breakGlass.allowedGroups } : {}),
      };
    }
  }
  return out;
}

/** The modes that apply in a namespace, given its labels (first matching override wins). */
export function modesFor(
  policy: EffectivePolicy,
  namespaceLabels: Record<string, string> | undefined,
): { unclaimedHighPermissions: Mode; requireClaim: ClaimMode } {
  const o = namespaceLabels
    ? policy.overrides.find((x) => selectorMatches(x.namespaceSelector, namespaceLabels))
    : undefined;
  return {
    unclaimedHighPermissions: o?.unclaimedHighPermissions ?? policy.unclaimedHighPermissions,
    requireClaim: o?.requireClaim ?? policy.requireClaim,
  };
}

/** transitiveEscalation for paths from an identity of a namespace with these labels (as modesFor: the first matching override). */
export function transitiveEscalationFor(
  policy: EffectivePolicy,
  namespaceLabels: Record<string, string> | undefined,
): Mode {
  const o = namespaceLabels
    ? policy.overrides.find((x) => selectorMatches(x.namespaceSelector, namespaceLabels))
    : undefined;
  return o?.transitiveEscalation ?? policy.transitiveEscalation;
}

/** Parses "system:serviceaccount:<ns>:<name>" into its parts. */
export function parseServiceAccountIdentity(
  identity: string,
): { namespace: string; name: string } | undefined {
  const parts = identity.split(":");
  if (parts.length !== 4 || parts[0] !== "system" || parts[1] !== "serviceaccount")
    return undefined;
  return { namespace: parts[2] ?? "", name: parts[3] ?? "" };
}

export function serviceAccountIdentity(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** The exemption (or exempt namespace) that allows `violation`, if any. */
export function exemptionFor(policy: EffectivePolicy, violation: Violation): Exemption | undefined {
  const sa = violation.identity ? parseServiceAccountIdentity(violation.identity) : undefined;
  if (!sa)
    return violation.identity ? groupExemption(policy, violation, violation.identity) : undefined;
  const exemptNs = policy.exemptNamespaces.find((g) => globMatches(g, sa.namespace));
  if (exemptNs !== undefined)
    return { namespaces: [exemptNs], reason: `namespace ${sa.namespace} is exempt` };
  const ref = `${sa.namespace}/${sa.name}`;
  return policy.exemptions.find((e) => {
    const ruleOk = !e.rules || e.rules.length === 0 || e.rules.includes(violation.rule);
    const nsOk = (e.namespaces ?? []).some((g) => globMatches(g, sa.namespace));
    const saOk = (e.serviceAccounts ?? []).some((g) => globMatches(g, ref));
    return ruleOk && (nsOk || saOk);
  });
}

const everything = (glob: string): boolean => /^\*+$/.test(glob);

/**
 * A member group is exempt only where every member would be: its namespace is exempt, or an
 * exemption names it ("shop", or every account of it, "shop/*"); the cluster-wide groups only by
 * "*". Groups with users among their members (system:authenticated, system:unauthenticated) never.
 */
function groupExemption(
  policy: EffectivePolicy,
  violation: Violation,
  identity: string,
): Exemption | undefined {
  const group = parseGroupIdentity(identity);
  const ns = group?.serviceAccountNamespace;
  if (!group || group.users || ns === undefined) return undefined;
  const nsCovered = (glob: string): boolean =>
    ns === "*" ? everything(glob) : globMatches(glob, ns);
  const accountsCovered = (glob: string): boolean => {
    if (everything(glob)) return true;
    const slash = glob.indexOf("/");
    return slash > 0 && nsCovered(glob.slice(0, slash)) && everything(glob.slice(slash + 1));
  };
  const exemptNs = policy.exemptNamespaces.find(nsCovered);
  if (exemptNs !== undefined)
    return {
      namespaces: [exemptNs],
      reason: ns === "*" ? "every namespace is exempt" : `namespace ${ns} is exempt`,
    };
  return policy.exemptions.find((e) => {
    const ruleOk = !e.rules || e.rules.length === 0 || e.rules.includes(violation.rule);
    return (
      ruleOk &&
      ((e.namespaces ?? []).some(nsCovered) || (e.serviceAccounts ?? []).some(accountsCovered))
    );
  });
}
