// Every kubernetes.io/tls Secret as a credential: its certificate's validity (read at the edge, only
// non-secret facts reach the core), whether it is Valid, Expiring or Expired (the one alert threshold
// of expiry.ts), and who holds it: the ServiceAccounts of the workloads that mount it, the manager
// that issues it (cert-manager's annotation, ownerReferences), and the NHI that declares it.
import type { NonHumanIdentity } from "../nhi/types.js";
import { formatTime, parseTime } from "../rotation/state.js";
import { TLS_SECRET_TYPE, type ClusterSnapshot, type WorkloadObject } from "../snapshot.js";
import { podTemplateOf, secretReferences, serviceAccountOf } from "../workloads/pod-template.js";
import { defaultAlertBeforeMs } from "./expiry.js";

/** The data key of a TLS Secret that holds the certificate chain (leaf first). */
export const TLS_CERT_KEY = "tls.crt";
/** cert-manager writes it on every Secret it issues into. */
export const CERT_MANAGER_CERTIFICATE_ANNOTATION = "cert-manager.io/certificate-name";

/** What the edge read of a certificate: public facts of the leaf, never key material. */
export interface CertificateFacts {
  notBefore: number;
  notAfter: number;
  subjectCN?: string;
  issuerCN?: string;
  /** DNS names of the subjectAltName extension. */
  dnsNames: string[];
  /** SHA-256 fingerprint of the leaf, colon-separated hex. */
  fingerprint: string;
  /**
   * The subject CN of the chain certificate that expires before the leaf, when one does: notBefore
   * and notAfter are then its own (the served chain stops validating when it expires).
   */
  expiresFirst?: string;
}

/** The edge's reading of one TLS Secret's tls.crt; `problem` names what is wrong, never the content. */
export type TlsReading = CertificateFacts | { problem: string };

/** Valid/Expiring/Expired as for declared credentials; Unreadable: tls.crt is missing or broken; Unknown: not read (nhictl over manifests). */
export type TlsHealth = "Valid" | "Expiring" | "Expired" | "Unreadable" | "Unknown";
export const TLS_HEALTHS: readonly TlsHealth[] = [
  "Valid",
  "Expiring",
  "Expired",
  "Unreadable",
  "Unknown",
];

export interface TlsCertificateRecord {
  namespace: string;
  secretName: string;
  health: TlsHealth;
  /** One sentence, safe to show anywhere (names and dates only). */
  message: string;
  notBefore?: string;
  notAfter?: string;
  /** When it turns (turned) Expiring. */
  alertAt?: string;
  subject?: string;
  issuer?: string;
  dnsNames?: string[];
  fingerprint?: string;
  /** The ServiceAccounts whose pods mount it: the identities holding the certificate. */
  serviceAccounts: string[];
  /** "Deployment/web", "Pod/debug": top-level workloads that mount it. */
  workloads: string[];
  /** Who issues it: "Certificate/web-tls" (cert-manager annotation), ownerReferences "Kind/name". */
  managedBy: string[];
  /** The NHI whose Certificate credential declares this Secret; its findings are reported there. */
  nhi?: string;
  credential?: string;
}

interface OwnerRef {
  kind?: string;
  name?: string;
  controller?: boolean;
}
const ownersOf = (meta: unknown): OwnerRef[] =>
  (meta as { ownerReferences?: OwnerRef[] }).ownerReferences ?? [];
const key = (ns: string | undefined, name: string): string => `${ns ?? "default"}/${name}`;

/** Health of a certificate at `now`: the threshold is the one for observed credentials without renewBefore. */
export function assessCertificate(
  facts: TlsReading | undefined,
  now: number,
  where: string,
): { health: TlsHealth; message: string; alertAt?: number } {
  if (facts === undefined)
    return {
      health: "Unknown",
      message: `certificate of ${where} not read here (only the operator reads tls.crt; nhictl never reads Secret data)`,
    };
  if ("problem" in facts)
    return {
      health: "Unreadable",
      message: `${TLS_CERT_KEY} of ${where} cannot be parsed: ${facts.problem}`,
    };
  const alertAt =
    facts.notAfter - defaultAlertBeforeMs({ issuedAt: facts.notBefore, expiresAt: facts.notAfter });
  const until = formatTime(facts.notAfter);
  const what =
    "expiresFirst" in facts && facts.expiresFirst !== undefined
      ? `certificate chain of ${where} (its ${facts.expiresFirst} certificate expires before the leaf)`
      : `certificate of ${where}`;
  if (now >= facts.notAfter)
    return { health: "Expired", alertAt, message: `${what} expired at ${until}` };
  if (now >= alertAt)
    return { health: "Expiring", alertAt, message: `${what} expires at ${until}` };
  return { health: "Valid", alertAt, message: `${what} is valid until ${until}` };
}

/** "ns/secret" → who mounts it: ServiceAccounts and top-level workloads (controller-made pods count for their account). */
function holders(
  workloads: readonly WorkloadObject[],
): Map<string, { serviceAccounts: Set<string>; workloads: Set<string> }> {
  const out = new Map<string, { serviceAccounts: Set<string>; workloads: Set<string> }>();
  for (const w of workloads) {
    const t = podTemplateOf(w);
    if (!t) continue;
    const phase = (w as { status?: { phase?: string } }).status?.phase;
    if (w.kind === "Pod" && (phase === "Succeeded" || phase === "Failed")) continue;
    for (const ref of secretReferences(t.spec)) {
      const k = key(w.metadata.namespace, ref.secretName);
      let h = out.get(k);
      if (!h) out.set(k, (h = { serviceAccounts: new Set(), workloads: new Set() }));
      h.serviceAccounts.add(serviceAccountOf(t.spec));
      // ReplicaSets of a Deployment, Jobs of a CronJob, Pods of either: their owner is the workload.
      if (!ownersOf(w.metadata).some((o) => o.controller === true))
        h.workloads.add(`${w.kind}/${w.metadata.name}`);
    }
  }
  return out;
}

/** "ns/secret" → the NHI and credential that declare it as a Certificate (first NHI by name wins). */
function declarations(
  nhis: readonly NonHumanIdentity[],
): Map<string, { nhi: string; credential: string }> {
  const out = new Map<string, { nhi: string; credential: string }>();
  for (const nhi of [...nhis].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    for (const c of nhi.spec.credentials ?? []) {
      const k = key(nhi.metadata.namespace, c.secretName);
      if (c.type === "Certificate" && !out.has(k))
        out.set(k, { nhi: nhi.metadata.name, credential: c.name });
    }
  }
  return out;
}

/**
 * Every kubernetes.io/tls Secret of the snapshot with its certificate's health and its holders.
 * `readings` ("ns/name" → what the edge read of tls.crt) is absent where nothing was read (nhictl).
 */
export function tlsInventory(
  snapshot: ClusterSnapshot,
  readings: ReadonlyMap<string, TlsReading> | undefined,
  now: number,
): TlsCertificateRecord[] {
  const tls = snapshot.secrets.filter((s) => s.type === TLS_SECRET_TYPE);
  if (tls.length === 0) return [];
  const held = holders(snapshot.workloads);
  const declared = declarations(snapshot.nhis);
  const out: TlsCertificateRecord[] = [];
  for (const s of tls) {
    const namespace = s.metadata.namespace ?? "default";
    const k = key(namespace, s.metadata.name);
    const facts = readings?.get(k);
    const a = assessCertificate(facts, now, `Secret ${k}`);
    const h = held.get(k);
    const managedBy = new Set<string>();
    const cm = s.metadata.annotations?.[CERT_MANAGER_CERTIFICATE_ANNOTATION];
    if (cm) managedBy.add(`Certificate/${cm}`);
    for (const o of ownersOf(s.metadata))
      if (o.kind && o.name) managedBy.add(`${o.kind}/${o.name}`);
    const rec: TlsCertificateRecord = {
      namespace,
      secretName: s.metadata.name,
      health: a.health,
      message: a.message,
      serviceAccounts: [...(h?.serviceAccounts ?? [])].sort(),
      workloads: [...(h?.workloads ?? [])].sort(),
      managedBy: [...managedBy].sort(),
    };
    if (facts && !("problem" in facts)) {
      rec.notBefore = formatTime(facts.notBefore);
      rec.notAfter = formatTime(facts.notAfter);
      if (facts.subjectCN !== undefined) rec.subject = facts.subjectCN;
      if (facts.issuerCN !== undefined) rec.issuer = facts.issuerCN;
      rec.dnsNames = facts.dnsNames;
      rec.fingerprint = facts.fingerprint;
    }
    if (a.alertAt !== undefined) rec.alertAt = formatTime(a.alertAt);
    const d = declared.get(k);
    if (d) Object.assign(rec, d);
    out.push(rec);
  }
  return out.sort(
    (a, b) => a.namespace.localeCompare(b.namespace) || a.secretName.localeCompare(b.secretName),
  );
}

/** The next time a record's health changes by the clock alone (turns Expiring, turns Expired). */
export function tlsNextAt(
  records: readonly TlsCertificateRecord[],
  now: number,
): number | undefined {
  const at = records
    .flatMap((r) => [parseTime(r.alertAt), parseTime(r.notAfter)])
    .filter((x): x is number => x !== undefined && x > now);
  return at.length > 0 ? Math.min(...at) : undefined;
}

/** Certificates whose findings are this inventory's to report: a declared one reports through its NHI. */
export const undeclared = (r: TlsCertificateRecord): boolean => r.nhi === undefined;
