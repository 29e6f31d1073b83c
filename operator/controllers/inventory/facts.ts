// The one place the inventory reads secret data: declared Certificate and External credentials.
// A certificate is parsed with node:crypto for its validity; an External credential's expiry is
// read at its declared JSONPath. Only timestamps leave this file; the Secret object is dropped at
// once, and readings are cached by resourceVersion so each Secret is fetched once per change.
import { X509Certificate } from "node:crypto";
import { JSONPath } from "jsonpath-plus";
import type { NHICredential, NonHumanIdentity } from "../../../core/nhi/types.js";
import { parseExpiryValue, type CredentialFacts, type JsonPathReading } from "../../../core/inventory/expiry.js";
import { parseTime } from "../../../core/rotation/state.js";
import type { ClusterSnapshot } from "../../../core/snapshot.js";
import type { KubeRest } from "../../k8s/rest.js";

interface SecretObject {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; resourceVersion?: string; creationTimestamp?: string; labels?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
}

/** Validity of the first certificate of a PEM bundle. */
export function certificateValidity(pem: string): { notBefore: number; notAfter: number } | { problem: string } {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!m) return { problem: "not a PEM certificate" };
  try {
    const x = new X509Certificate(m[0]);
    const notBefore = Date.parse(x.validFrom);
    const notAfter = Date.parse(x.validTo);
    if (!Number.isFinite(notAfter)) return { problem: "certificate has no readable notAfter" };
    return { notBefore, notAfter };
  } catch {
    return { problem: "not a parsable X.509 certificate" };
  }
}

/** The expiry at `path` in the Secret, data values decoded first. Never returns the value itself. */
export function readJsonPathExpiry(secret: SecretObject, path: string): JsonPathReading {
  const decoded: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) decoded[k] = Buffer.from(v, "base64").toString("utf8");
  let found: unknown;
  try {
    found = JSONPath({ path, json: { ...secret, data: decoded } as unknown as Record<string, unknown>, wrap: false, eval: false });
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
  const facts: CredentialFacts = { secretExists: true, annotations: secret.metadata.annotations ?? {}, keys: Object.keys(secret.data ?? {}), ...(created !== undefined ? { createdAt: created } : {}) };
  if (c.type === "Certificate") {
    const raw = secret.data?.[c.key ?? "tls.crt"];
    facts.certificate = raw === undefined ? { problem: "key not present" } : certificateValidity(Buffer.from(raw, "base64").toString("utf8"));
  }
  if (c.type === "External" && c.expiryJSONPath !== undefined) facts.jsonPath = readJsonPathExpiry(secret, c.expiryJSONPath);
  return facts;
}

/** Facts for every declared Certificate/External credential, re-read only when the Secret changed. */
export class CredentialFactsReader {
  private readonly cache = new Map<string, { rv: string; facts: CredentialFacts }>();
  reads = 0;

  constructor(private readonly rest: KubeRest) {}

  async read(snapshot: ClusterSnapshot): Promise<Map<string, CredentialFacts>> {
    const rvs = new Map(snapshot.secrets.map((s) => [`${s.metadata.namespace ?? "default"}/${s.metadata.name}`, s.metadata.resourceVersion ?? ""]));
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
      const secret = await this.rest.find<SecretObject>(`/api/v1/namespaces/${w.ns}/secrets/${w.c.secretName}`);
      const facts = factsOf(w.c, secret);
      this.cache.set(cacheKey, { rv: secret?.metadata.resourceVersion ?? rv, facts });
      out.set(w.key, facts);
    }
    return out;
  }
}
