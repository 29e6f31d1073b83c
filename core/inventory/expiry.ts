// When a credential expires, from facts the edge gathered: a certificate's validity (parsed with
// node:crypto at the edge), the nhi.io/expires-at annotation, or the value at the NHI's
// expiryJSONPath (read at the edge; only the parsed timestamp reaches the core, never the data).
import { parseDuration } from "../nhi/duration.js";
import type { NHICredential } from "../nhi/types.js";
import { ANNOTATIONS, parseTime } from "../rotation/state.js";

export const EXPIRES_AT_ANNOTATION = ANNOTATIONS.expiresAt;
/** Alert this long before an observed credential expires when renewBefore is not set and its lifetime is unknown. */
export const DEFAULT_ALERT_BEFORE_MS = 7 * 24 * 3_600_000;

/**
 * An expiry value as written by tools: RFC 3339, or Unix seconds (number or decimal string).
 * Undefined when it is neither. Callers must not echo the raw value: it came from secret data.
 */
export function parseExpiryValue(v: unknown): number | undefined {
  if (typeof v === "number")
    return Number.isFinite(v) && v > 0 && v < 1e11 ? Math.round(v * 1000) : undefined;
  if (typeof v !== "string") return undefined;
  const s = v.trim();
  if (/^[0-9]{1,11}(\.[0-9]+)?$/.test(s)) return parseExpiryValue(Number(s));
  return parseTime(s);
}

/** The outcome of reading the value at expiryJSONPath, at the edge. */
export type JsonPathReading =
  { expiresAt: number } | { problem: "missing" | "unparseable" | "invalid-path" };

export interface CredentialFacts {
  secretExists: boolean;
  createdAt?: number;
  annotations: Record<string, string>;
  /** Names of the Secret's data keys (never values). */
  keys: string[];
  /** Certificate credentials: validity of the certificate under the key, or why it could not be read. */
  certificate?: { notBefore: number; notAfter: number } | { problem: string };
  /** External credentials with expiryJSONPath. */
  jsonPath?: JsonPathReading;
}

export type ExpirySource = "certificate" | "jsonPath" | "annotation";

export interface ObservedExpiry {
  issuedAt?: number;
  expiresAt?: number;
  source?: ExpirySource;
  /** Why the expiry could not be read; safe to show (names the field, never the value). */
  problem?: string;
}

export function observedExpiry(c: NHICredential, f: CredentialFacts): ObservedExpiry {
  if (!f.secretExists) return { problem: `Secret ${c.secretName} not found` };
  const issuedFromMeta = parseTime(f.annotations[ANNOTATIONS.issuedAt]) ?? f.createdAt;
  const annotated = parseExpiryValue(f.annotations[EXPIRES_AT_ANNOTATION]);
  const base: ObservedExpiry = issuedFromMeta !== undefined ? { issuedAt: issuedFromMeta } : {};
  if (c.type === "Certificate") {
    const cert = f.certificate;
    if (cert && "notAfter" in cert)
      return { issuedAt: cert.notBefore, expiresAt: cert.notAfter, source: "certificate" };
    const problem = cert
      ? `certificate under key ${c.key ?? "tls.crt"}: ${cert.problem}`
      : `no certificate under key ${c.key ?? "tls.crt"}`;
    return annotated !== undefined
      ? { ...base, expiresAt: annotated, source: "annotation", problem }
      : { ...base, problem };
  }
  if (c.type === "External" && c.expiryJSONPath !== undefined) {
    const r = f.jsonPath;
    if (r && "expiresAt" in r) return { ...base, expiresAt: r.expiresAt, source: "jsonPath" };
    const why =
      r === undefined || r.problem === "missing"
        ? "finds no value"
        : r.problem === "invalid-path"
          ? "is not a valid JSONPath"
          : "does not hold an RFC 3339 time or Unix seconds";
    const problem = `expiryJSONPath ${c.expiryJSONPath} ${why}`;
    return annotated !== undefined
      ? { ...base, expiresAt: annotated, source: "annotation", problem }
      : { ...base, problem };
  }
  return annotated !== undefined ? { ...base, expiresAt: annotated, source: "annotation" } : base;
}

export type CredentialHealth =
  "Fresh" | "Expiring" | "Expired" | "Stale" | "Missing" | "Unknown" | "Failing";

export interface ObservedAssessment {
  health: CredentialHealth;
  /** When to alert (expiry - renewBefore); for status.nextRotationAt of observed credentials it is when the owners must act. */
  alertAt?: number;
  message: string;
}

/** How long before expiry to alert on an observed credential: renewBefore, else a third of its lifetime, at most 7 days. */
export function alertBeforeMs(c: NHICredential, e: ObservedExpiry): number {
  if (c.renewBefore !== undefined) return parseDuration(c.renewBefore);
  return defaultAlertBeforeMs(e);
}

/** How long before expiry to alert when nothing declares renewBefore: a third of the lifetime, at most 7 days. */
export function defaultAlertBeforeMs(e: { issuedAt?: number; expiresAt?: number }): number {
  if (e.issuedAt !== undefined && e.expiresAt !== undefined && e.expiresAt > e.issuedAt) {
    return Math.min(DEFAULT_ALERT_BEFORE_MS, (e.expiresAt - e.issuedAt) / 3);
  }
  return DEFAULT_ALERT_BEFORE_MS;
}

/** Health of an observed (External, Certificate) credential at `now`. maxAgeMs: the credential's maxAge or the policy's maxCredentialAge. */
export function assessObserved(
  c: NHICredential,
  e: ObservedExpiry,
  now: number,
  policyMaxAgeMs?: number,
): ObservedAssessment {
  if (e.problem !== undefined && e.expiresAt === undefined && e.issuedAt === undefined)
    return { health: "Missing", message: e.problem };
  if (e.expiresAt !== undefined) {
    const alertAt = e.expiresAt - alertBeforeMs(c, e);
    if (now >= e.expiresAt) return { health: "Expired", alertAt, message: `${c.name} expired` };
    if (now >= alertAt) return { health: "Expiring", alertAt, message: `${c.name} expires soon` };
    const stale = staleness(c, e, now, policyMaxAgeMs);
    return stale ?? { health: "Fresh", alertAt, message: `${c.name} is valid` };
  }
  const stale = staleness(c, e, now, policyMaxAgeMs);
  if (stale) return stale;
  return {
    health: e.problem ? "Unknown" : "Fresh",
    message: e.problem ?? `${c.name} has no known expiry`,
  };
}

function staleness(
  c: NHICredential,
  e: ObservedExpiry,
  now: number,
  policyMaxAgeMs?: number,
): ObservedAssessment | undefined {
  const declared =
    c.type === "External" && c.maxAge !== undefined ? parseDuration(c.maxAge) : undefined;
  const maxAge =
    declared !== undefined && policyMaxAgeMs !== undefined
      ? Math.min(declared, policyMaxAgeMs)
      : (declared ?? policyMaxAgeMs);
  if (maxAge === undefined || e.issuedAt === undefined) return undefined;
  if (now - e.issuedAt >= maxAge)
    return {
      health: "Stale",
      alertAt: e.issuedAt + maxAge,
      message: `${c.name} is older than its maximum age`,
    };
  return undefined;
}
