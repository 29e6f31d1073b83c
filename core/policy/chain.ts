// Decisions are chains of small named checks (cert-manager's policy chain): each check looks at one
// thing and returns findings; the chain applies exemptions and folds the findings into a Decision.
import type { Decision, Violation } from "./types.js";
import { exemptionFor, type EffectivePolicy } from "./settings.js";

/** A finding either denies the request or only warns (Audit enforcement, day-one defaults, exemptions). */
export interface Finding extends Violation {
  outcome: "deny" | "warn";
}

export interface Check<I> {
  /** Stable name, used in metrics and tests. */
  name: string;
  run(input: I): Finding[];
}

/**
 * Runs every check (all must allow), turns findings that an NHIPolicy exemption names into
 * warnings that say so, and returns the decision. A check that throws becomes a denial naming it,
 * never a silent allow.
 */
export function runChain<I>(
  checks: readonly Check<I>[],
  input: I,
  policy: EffectivePolicy,
): Decision {
  const findings: Finding[] = [];
  for (const check of checks) {
    try {
      findings.push(...check.run(input));
    } catch (err) {
      findings.push({
        outcome: "deny",
        rule: "internal-error",
        severity: "high",
        object: { kind: "Unknown", name: check.name },
        message: `check ${check.name} failed: ${err instanceof Error ? err.message : String(err)}`,
        fix: "report this as a bug in nhi-operator; the request was denied because it could not be judged",
      });
    }
  }
  return foldFindings(findings, policy);
}

/**
 * Findings into a Decision: a denial an NHIPolicy exemption names becomes a warning that says so;
 * other denials are violations, the rest warnings. The one place exemptions apply.
 */
export function foldFindings(findings: readonly Finding[], policy: EffectivePolicy): Decision {
  const violations: Violation[] = [];
  const warnings: Violation[] = [];
  for (const { outcome, ...violation } of findings) {
    const exemption = outcome === "deny" ? exemptionFor(policy, violation) : undefined;
    if (exemption) {
      warnings.push({
        ...violation,
        message: `${violation.message} (allowed by ${exemption.policy ? `NHIPolicy ${exemption.policy}` : "policy"} exemption: ${exemption.reason})`,
      });
    } else if (outcome === "deny") {
      violations.push(violation);
    } else {
      warnings.push(violation);
    }
  }
  return { allowed: violations.length === 0, violations, warnings };
}
