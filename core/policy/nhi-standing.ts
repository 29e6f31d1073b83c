// What an NHI's own standing says about admitting its use: its name in messages, the outcome its
// enforcement gives a finding, and whether it may be used at all now (suspended, expired).
import type { NonHumanIdentity } from "../nhi/types.js";
import type { Finding } from "./chain.js";

export const nhiName = (nhi: NonHumanIdentity): string =>
  `NonHumanIdentity ${nhi.metadata.namespace ?? ""}/${nhi.metadata.name}`;

/** A finding's outcome under the NHI's spec.enforcement: Audit warns, Enforce (the default) denies. */
export const enforced = (nhi: NonHumanIdentity): Finding["outcome"] =>
  nhi.spec.enforcement === "Audit" ? "warn" : "deny";

export type LifetimeProblem = { rule: "nhi-suspended" | "nhi-expired"; why: string };

/** Why an NHI may not be used at `now`, if it may not: suspended (quarantine) or past its expiry. */
export function lifetimeProblem(nhi: NonHumanIdentity, now: Date): LifetimeProblem | undefined {
  if (nhi.spec.suspended === true)
    return { rule: "nhi-suspended", why: `${nhiName(nhi)} is suspended (quarantined)` };
  const at = nhi.spec.lifetime?.expiresAt;
  if (at !== undefined) {
    const t = Date.parse(at);
    if (!Number.isNaN(t) && t <= now.getTime())
      return { rule: "nhi-expired", why: `${nhiName(nhi)} expired at ${at}` };
  }
  return undefined;
}

/** A suspension is a deliberate quarantine: Audit enforcement does not soften it. */
export const lifetimeOutcome = (nhi: NonHumanIdentity, p: LifetimeProblem): Finding["outcome"] =>
  p.rule === "nhi-suspended" ? "deny" : enforced(nhi);
