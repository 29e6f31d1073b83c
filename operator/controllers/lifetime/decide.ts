// Pure part of the lifetime controller: the objects an expiry or a quarantine acts on, found in
// the snapshot (the decision itself is core/lifetime).
import type { NonHumanIdentity } from "../../../core/nhi/types.js";
import type { LifetimeObjects } from "../../../core/lifetime/lifetime.js";
import {
  ANCHOR_FOR_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  NHI_LABEL,
} from "../../../core/rotation/state.js";
import {
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
  type ClusterSnapshot,
} from "../../../core/snapshot.js";

export function lifetimeObjects(snapshot: ClusterSnapshot, nhi: NonHumanIdentity): LifetimeObjects {
  const ns = nhi.metadata.namespace ?? "default";
  const sa = nhi.spec.serviceAccountName;
  const creds = nhi.spec.credentials ?? [];
  const tokenSecrets = new Set(
    creds.filter((c) => c.type === "ServiceAccountToken").map((c) => c.secretName),
  );
  const otherManaged = new Set(
    creds.filter((c) => c.type === "Generated").map((c) => c.secretName),
  );
  const inNs = snapshot.secrets.filter((s) => (s.metadata.namespace ?? "default") === ns);
  const ours = (l: Record<string, string> | undefined): boolean =>
    l?.[MANAGED_BY_LABEL] === MANAGED_BY && l[NHI_LABEL] === nhi.metadata.name;
  return {
    serviceAccountExists: snapshot.serviceAccounts.some(
      (s) => (s.metadata.namespace ?? "default") === ns && s.metadata.name === sa,
    ),
    legacyTokenSecrets: inNs
      .filter(
        (s) =>
          s.type === SERVICE_ACCOUNT_TOKEN_TYPE &&
          s.metadata.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION] === sa,
      )
      .map((s) => s.metadata.name)
      .sort(),
    managedTokenSecrets: inNs
      .filter((s) => tokenSecrets.has(s.metadata.name) && ours(s.metadata.labels))
      .map((s) => s.metadata.name)
      .sort(),
    anchors: inNs
      .filter(
        (s) =>
          ours(s.metadata.labels) && tokenSecrets.has(s.metadata.labels?.[ANCHOR_FOR_LABEL] ?? ""),
      )
      .map((s) => s.metadata.name)
      .sort(),
    managedOtherSecrets: inNs
      .filter((s) => otherManaged.has(s.metadata.name) && ours(s.metadata.labels))
      .map((s) => s.metadata.name)
      .sort(),
  };
}
