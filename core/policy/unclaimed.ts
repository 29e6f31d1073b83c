// ServiceAccounts written with nobody claiming them: no NonHumanIdentity names them and no workload
// written alongside runs as them (the workload decision reports those). Shadow identities in the
// making, reported per the policy's requireClaim. `nhictl check` asks this of its manifests.
import type { EffectivePolicy } from "./settings.js";
import { serviceAccountIdentity } from "./settings.js";
import type { Finding } from "./chain.js";
import { saKey } from "../rbac/effective.js";
import type { IdentityDirectory, ServiceAccountObject } from "../snapshot.js";

export interface UnclaimedInput {
  accounts: readonly ServiceAccountObject[];
  /** "namespace/name" of every account a workload written alongside runs as. */
  runsAs: ReadonlySet<string>;
  directory: IdentityDirectory;
  policy: EffectivePolicy;
}

/** One finding per unclaimed account (never `default`): a denial under requireClaim Enforce, else a warning; none when Off. */
export function unclaimedServiceAccounts(input: UnclaimedInput): Finding[] {
  const mode = input.policy.requireClaim;
  if (mode === "Off") return [];
  const out: Finding[] = [];
  for (const sa of input.accounts) {
    const ns = sa.metadata.namespace ?? "default";
    const ref = { namespace: ns, name: sa.metadata.name };
    if (
      input.directory.nhiFor(ref) ||
      input.runsAs.has(saKey(ref)) ||
      sa.metadata.name === "default"
    )
      continue;
    out.push({
      outcome: mode === "Enforce" ? "deny" : "warn",
      rule: "unclaimed-service-account",
      severity: "medium",
      object: { kind: "ServiceAccount", namespace: ns, name: sa.metadata.name },
      identity: serviceAccountIdentity(ns, sa.metadata.name),
      message: `ServiceAccount ${ns}/${sa.metadata.name} is not claimed by any NonHumanIdentity: nobody owns it, declares its purpose or bounds what it may do${mode === "Enforce" ? " (--strict or NHIPolicy requireClaim: Enforce)" : ""}.`,
      fix: `declare a NonHumanIdentity for ServiceAccount ${ns}/${sa.metadata.name} (spec.owner, spec.purpose, spec.scopes)`,
    });
  }
  return out;
}
