// NonHumanIdentities as detection reads them: one declaration per claimed ServiceAccount.
import type { NonHumanIdentity } from "../nhi/types.js";
import type { DeclaredIdentity } from "./detect.js";

export function declarationOf(nhi: NonHumanIdentity): DeclaredIdentity {
  return {
    nhi: `${nhi.metadata.namespace ?? ""}/${nhi.metadata.name ?? ""}`,
    scopes: nhi.spec.scopes ?? [],
    legacyTokens: nhi.spec.legacyTokens ?? "Forbid",
    declaresTokens: (nhi.spec.credentials ?? []).some((c) => c.type === "ServiceAccountToken"),
  };
}

/** "namespace/serviceAccount" → its declaration. When two NHIs claim one ServiceAccount the first (by name) wins. */
export function declarationIndex(nhis: readonly NonHumanIdentity[]): (namespace: string, serviceAccount: string) => DeclaredIdentity | undefined {
  const byAccount = new Map<string, DeclaredIdentity>();
  const sorted = [...nhis].sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  for (const nhi of sorted) {
    const key = `${nhi.metadata.namespace ?? ""}/${nhi.spec.serviceAccountName}`;
    if (!byAccount.has(key)) byAccount.set(key, declarationOf(nhi));
  }
  return (namespace, serviceAccount) => byAccount.get(`${namespace}/${serviceAccount}`);
}
