// The one place the inventory reads secret data: declared Certificate and External credentials,
// and the tls.crt of every kubernetes.io/tls Secret. A certificate is parsed with node:crypto for
// its validity (and, for TLS Secrets, the leaf's public names and fingerprint); an External
// credential's expiry is read at its declared JSONPath. Only those facts leave this file, never a
// key: the Secret object is dropped at once, and readings are cached by resourceVersion so each
// Secret is fetched once per change.
import { X509Certificate } from "node:crypto";
import { JSONPath } from "jsonpath-plus";
import type { NHICredential, NonHumanIdentity } from "../../../core/nhi/types.js";
import {
  parseExpiryValue,
  type CredentialFacts,
  type JsonPathReading,
} from "../../../core/inventory/expiry.js";
import { TLS_CERT_KEY, type TlsReading } from "../../../core/inventory/tls.js";
import { TLS_SECRET_TYPE } from "../../../core/snapshot.js";
import { parseTime } from "../../../core/rotation/state.js";
import type { ClusterSnapshot } from "../../../core/snapshot.js";
import type { KubeRest } from "../../k8s/rest.js";

interface SecretObject {
  metadata: {
    name: string;
    namespace?: string;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
  };
  type?: string;
  data?: Record<string, string>;
}

/** At most this many DNS names of a certificate are kept (a wildcard bundle can carry hundreds). */
export const MAX_DNS_NAMES = 50;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The certificates of a PEM bundle, parsed, in order (the leaf first, by convention of tls.crt).
 * A block after the leaf that does not parse is left out: servers send it as it is, and only the
 * leaf must parse for the Secret to be usable.
 */
function chainOf(pem: string): X509Certificate[] | { problem: string } {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) return { problem: "not a PEM certificate" };
  const chain: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      chain.push(new X509Certificate(block));
    } catch {
      if (i === 0) return { problem: "not a parsable X.509 certificate" };
    }
  }
  return chain;
}

/**
 * Validity of a bundle: the leaf's notBefore/notAfter, or those of the chain certificate that
 * expires first — a served chain stops validating when any of its certificates expires.
 */
function chainValidity(
  chain: X509Certificate[],
): { notBefore: number; notAfter: number; expiresFirst?: string } | { problem: string } {
  let earliest: { notBefore: number; notAfter: number; index: number } | undefined;
  for (const [index, x] of chain.entries()) {
    const v = validityOf(x);
    if ("problem" in v) {
      if (index === 0) return v;
      continue;
    }
    if (earliest === undefined || v.notAfter < earliest.notAfter) earliest = { ...v, index };
  }
  if (earliest === undefined) return { problem: "certificate has no readable validity" };
  const first = chain[earliest.index];
  const cn = earliest.index > 0 && first ? commonName(first.subject) : undefined;
  return {
    notBefore: earliest.notBefore,
    notAfter: earliest.notAfter,
    ...(earliest.index > 0
      ? { expiresFirst: cn ?? `certificate ${earliest.index + 1} of the chain` }
      : {}),
  };
}

/** Validity of a PEM bundle (see chainValidity). */
export function certificateValidity(
  pem: string,
): { notBefore: number; notAfter: number } | { problem: string } {
  const chain = chainOf(pem);
  if ("problem" in chain) return chain;
  const v = chainValidity(chain);
  return "problem" in v ? v : { notBefore: v.notBefore, notAfter: v.notAfter };
}

function validityOf(
  x: X509Certificate,
): { notBefore: number; notAfter: number } | { problem: string } {
  const notBefore = Date.parse(x.validFrom);
  const notAfter = Date.parse(x.validTo);
  if (!Number.isFinite(notAfter) || !Number.isFinite(notBefore))
    return { problem: "certificate has no readable validity" };
  return { notBefore, notAfter };
}

/** The CN of a distinguished name as node:crypto prints it ("O=x\nCN=y"). */
const commonName = (dn: string): string | undefined =>
  dn
    .split("\n")
    .find((l) => l.startsWith("CN="))
    ?.slice(3);

/** The public facts of a PEM bundle's leaf (subject/issuer CN, DNS names, fingerprint) and its chain's validity. */
export function certificateFacts(pem: string): TlsReading {
  const chain = chainOf(pem);
  if ("problem" in chain) return chain;
  const x = chain[0];
  if (x === undefined) return { problem: "not a PEM certificate" };
  const validity = chainValidity(chain);
  if ("problem" in validity) return validity;
  // subjectAltName: "DNS:a.example, DNS:b.example, IP Address:10.0.0.1" (entries with odd characters JSON-quoted).
  const dnsNames = (x.subjectAltName ?? "")
    .split(", ")
    .map((e) => e.replace(/^"(.*)"$/, "$1"))
    .filter((e) => e.startsWith("DNS:"))
    .map((e) => e.slice(4))
    .slice(0, MAX_DNS_NAMES);
  const subjectCN = commonName(x.subject);
  const issuerCN = commonName(x.issuer);
  return {
    ...validity,
    dnsNames,
    fingerprint: x.fingerprint256,
    ...(subjectCN !== undefined ? { subjectCN } : {}),
    ...(issuerCN !== undefined ? { issuerCN } : {}),
  };
}

/** What a TLS Secret's tls.crt says; tls.key and every other key are never looked at. */
export function tlsReadingOf(secret: SecretObject): TlsReading {
  const raw = secret.data?.[TLS_CERT_KEY];
  if (raw === undefined || raw === "") return { problem: `no ${TLS_CERT_KEY} key` };
  return certificateFacts(Buffer.from(raw, "base64").toString("utf8"));
}

/** The expiry at `path` in the Secret, data values decoded first. Never returns the value itself. */
export function readJsonPathExpiry(secret: SecretObject, path: string): JsonPathReading {
  const decoded: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {}))
    decoded[k] = Buffer.from(v, "base64").toString("utf8");
  let found: unknown;
  try {
    found = JSONPath({
      path,
      json: { ...secret, data: decoded } as unknown as Record<string, unknown>,
      wrap: false,
      eval: false,
    });
  } catch {
    return { problem: "invalid-path" };
  }
  const v = Array.isArray(found) ? found[0] : found;
  if (v === undefined || v === null) return { problem: "missing" };
  const at = parseExpiryValue(v);
  return at === undefined ? { problem: "unparseable" } : { expiresAt: at };
}

export function factsOf(c: NHICredential, secret: SecretObject | undefined): CredentialFacts {
  if (!secret) return { secretExists: false, annotations: {}, keys: [] };
  const created = parseTime(secret.metadata.creationTimestamp);
  const facts: CredentialFacts = {
    secretExists: true,
    annotations: secret.metadata.annotations ?? {},
    keys: Object.keys(secret.data ?? {}),
    ...(created !== undefined ? { createdAt: created } : {}),
  };
  if (c.type === "Certificate") {
    const raw = secret.data?.[c.key ?? "tls.crt"];
    facts.certificate =
      raw === undefined
        ? { problem: "key not present" }
        : certificateValidity(Buffer.from(raw, "base64").toString("utf8"));
  }
  if (c.type === "External" && c.expiryJSONPath !== undefined)
    facts.jsonPath = readJsonPathExpiry(secret, c.expiryJSONPath);
  return facts;
}

/** Facts for every declared Certificate/External credential, re-read only when the Secret changed. */
export class CredentialFactsReader {
  private readonly cache = new Map<string, { rv: string; facts: CredentialFacts }>();
  reads = 0;

  constructor(private readonly rest: KubeRest) {}

  async read(snapshot: ClusterSnapshot): Promise<Map<string, CredentialFacts>> {
    const rvs = new Map(
      snapshot.secrets.map((s) => [
        `${s.metadata.namespace ?? "default"}/${s.metadata.name}`,
        s.metadata.resourceVersion ?? "",
      ]),
    );
    const out = new Map<string, CredentialFacts>();
    const wanted: { key: string; ns: string; c: NHICredential; nhi: NonHumanIdentity }[] = [];
    for (const nhi of snapshot.nhis) {
      for (const c of nhi.spec.credentials ?? []) {
        if (c.type !== "Certificate" && c.type !== "External") continue;
        const ns = nhi.metadata.namespace ?? "default";
        wanted.push({ key: `${ns}/${c.secretName}`, ns, c, nhi });
      }
    }
    for (const w of wanted) {
      const rv = rvs.get(w.key);
      const cacheKey = `${w.key}#${w.c.type}#${w.c.key ?? ""}#${w.c.expiryJSONPath ?? ""}`;
      const hit = this.cache.get(cacheKey);
      if (rv === undefined) {
        out.set(w.key, { secretExists: false, annotations: {}, keys: [] });
        continue;
      }
      if (hit && hit.rv === rv) {
        out.set(w.key, hit.facts);
        continue;
      }
      this.reads++;
      const secret = await this.rest.find<SecretObject>(
        `/api/v1/namespaces/${w.ns}/secrets/${w.c.secretName}`,
      );
      const facts = factsOf(w.c, secret);
      this.cache.set(cacheKey, { rv: secret?.metadata.resourceVersion ?? rv, facts });
      out.set(w.key, facts);
    }
    return out;
  }
}

/** The tls.crt facts of every kubernetes.io/tls Secret of the snapshot, re-read only when the Secret changed. */
export class TlsCertificateReader {
  private readonly cache = new Map<string, { rv: string; reading: TlsReading }>();
  reads = 0;

  constructor(private readonly rest: KubeRest) {}

  async read(snapshot: ClusterSnapshot): Promise<Map<string, TlsReading>> {
    const out = new Map<string, TlsReading>();
    const live = new Set<string>();
    for (const s of snapshot.secrets) {
      if (s.type !== TLS_SECRET_TYPE) continue;
      const ns = s.metadata.namespace ?? "default";
      const k = `${ns}/${s.metadata.name}`;
      const rv = s.metadata.resourceVersion ?? "";
      live.add(k);
      const hit = this.cache.get(k);
      if (hit && hit.rv === rv) {
        out.set(k, hit.reading);
        continue;
      }
      this.reads++;
      const secret = await this.rest.find<SecretObject>(
        `/api/v1/namespaces/${ns}/secrets/${s.metadata.name}`,
      );
      if (!secret) continue; // deleted since the snapshot: the next pass no longer lists it
      const reading = tlsReadingOf(secret);
      this.cache.set(k, { rv: secret.metadata.resourceVersion ?? rv, reading });
      out.set(k, reading);
    }
    for (const k of this.cache.keys()) if (!live.has(k)) this.cache.delete(k);
    return out;
  }
}
