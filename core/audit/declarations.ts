// NonHumanIdentities as detection reads them: one declaration per claimed ServiceAccount.
import { isRecord } from "../json.js";
import type { LegacyTokenMode, NonHumanIdentity } from "../nhi/types.js";
import type { ScopedRule } from "../rbac/types.js";

/** What an NHI declares about its ServiceAccount, as detection reads it. */
export interface DeclaredIdentity {
  /** "namespace/name" of the NHI. */
  nhi: string;
  scopes: ScopedRule[];
  /** spec.legacyTokens (the CRD defaults it to Forbid). */
  legacyTokens: LegacyTokenMode;
  /** A ServiceAccountToken credential: the operator mints unbound tokens for it. */
  declaresTokens: boolean;
}

export function declarationOf(nhi: NonHumanIdentity): DeclaredIdentity {
  return {
    nhi: `${nhi.metadata.namespace ?? ""}/${nhi.metadata.name ?? ""}`,
    scopes: nhi.spec.scopes ?? [],
    legacyTokens: nhi.spec.legacyTokens ?? "Forbid",
    declaresTokens: (nhi.spec.credentials ?? []).some((c) => c.type === "ServiceAccountToken"),
  };
}

/** "namespace/serviceAccount" → its declaration. When two NHIs claim one ServiceAccount the first (by name) wins. */
export function declarationIndex(
  nhis: readonly NonHumanIdentity[],
): (namespace: string, serviceAccount: string) => DeclaredIdentity | undefined {
  const byAccount = new Map<string, DeclaredIdentity>();
  const sorted = [...nhis].sort((a, b) =>
    (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  );
  for (const nhi of sorted) {
    const key = `${nhi.metadata.namespace ?? ""}/${nhi.spec.serviceAccountName}`;
    if (!byAccount.has(key)) byAccount.set(key, declarationOf(nhi));
  }
  return (namespace, serviceAccount) => byAccount.get(`${namespace}/${serviceAccount}`);
}

/** "namespace/pod" → its IPs (status.podIPs, else status.podIP), for the pods among `workloads`. */
export function podIPIndex(
  workloads: readonly { kind: string; metadata: { namespace?: string; name: string } }[],
): (namespace: string, pod: string) => readonly string[] | undefined {
  const ips = new Map<string, string[]>();
  for (const w of workloads) {
    if (w.kind !== "Pod") continue;
    const raw = (w as { status?: unknown }).status;
    const status = isRecord(raw) ? raw : {};
    const list = Array.isArray(status.podIPs)
      ? status.podIPs.flatMap((p) => (isRecord(p) && typeof p.ip === "string" ? [p.ip] : []))
      : [];
    if (list.length === 0 && typeof status.podIP === "string") list.push(status.podIP);
    if (list.length > 0) ips.set(`${w.metadata.namespace ?? "default"}/${w.metadata.name}`, list);
  }
  return (namespace, pod) => ips.get(`${namespace}/${pod}`);
}
