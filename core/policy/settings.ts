// The policy the decisions apply: NHIPolicy objects resolved over the built-in defaults.
import type { Violation } from "./types.js";

export type Mode = "Enforce" | "Audit";

export interface Exemption {
  /** Namespaces whose identities are exempt; "*" for all. */
  namespaces?: string[];
  /** ServiceAccounts as "namespace/name"; a "*" name part matches any name in that namespace. */
  serviceAccounts?: string[];
  /** Catalogue entry or check ids the exemption allows; empty or absent means every rule. */
  rules?: string[];
  reason: string;
  /** The NHIPolicy that declares it, for messages. */
  policy?: string;
}

export interface EffectivePolicy {
  /** High catalogue permissions for an identity no NHI claims: deny (Enforce) or warn (Audit). */
  unclaimedHighPermissions: Mode;
  exemptions: Exemption[];
}

/** The webhook's day-one default (DESIGN.md "adoptable on day one"). */
export const ADMISSION_DEFAULTS: EffectivePolicy = { unclaimedHighPermissions: "Audit", exemptions: [] };
/** The CLI's default: a pull request should not add power to an identity nobody owns. */
export const CLI_DEFAULTS: EffectivePolicy = { unclaimedHighPermissions: "Enforce", exemptions: [] };

/** Parses "system:serviceaccount:<ns>:<name>" into its parts. */
export function parseServiceAccountIdentity(identity: string): { namespace: string; name: string } | undefined {
  const parts = identity.split(":");
  if (parts.length !== 4 || parts[0] !== "system" || parts[1] !== "serviceaccount") return undefined;
  return { namespace: parts[2] ?? "", name: parts[3] ?? "" };
}

export function serviceAccountIdentity(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

export function exemptionFor(policy: EffectivePolicy, violation: Violation): Exemption | undefined {
  const sa = violation.identity ? parseServiceAccountIdentity(violation.identity) : undefined;
  if (!sa) return undefined;
  return policy.exemptions.find((e) => {
    const ruleOk = !e.rules || e.rules.length === 0 || e.rules.includes(violation.rule);
    const nsOk = (e.namespaces ?? []).some((ns) => ns === "*" || ns === sa.namespace);
    const saOk = (e.serviceAccounts ?? []).some((ref) => {
      const [ns, name] = ref.split("/");
      return ns === sa.namespace && (name === "*" || name === sa.name);
    });
    return ruleOk && (nsOk || saOk);
  });
}
