// The webhook's own serving certificate is a credential with a lifetime. What to do about it is
// decided here, as a pure function of certificate dates and `now`; the edge (operator/certs/) does
// the crypto and the API calls, then asks again until nothing is left to do.
//
// Life of the CA chain (every step keeps every request verifiable):
//   1. bootstrap       no usable signing CA → create one; it signs the serving certificate at once.
//   2. stage           the signing CA reaches `caRenewAt` of its life → a *pending* CA is created and
//                      published in the caBundle next to the signing one; nothing is signed by it yet.
//   3. promote         the pending CA has been published for `overlapMs` (every API server has the
//                      new bundle) → it becomes the signing CA, the old one is *retired* (its key is
//                      dropped, its certificate stays in the bundle) and the serving cert is reissued.
//   4. drop            a retired CA leaves the bundle once the serving certificate it signed has been
//                      replaced for `overlapMs` (every replica serves the new one), or when it expires.
// The serving certificate is reissued at `servingRenewAt` of its life, when it expires, when the
// signing CA did not sign it, or when the names it must cover change. Its lifetime never outlasts
// the CA that signs it.

export interface CertPolicy {
  /** Lifetime of a CA. */
  caValidityMs: number;
  /** Lifetime of a serving certificate (capped by its CA's notAfter). */
  servingValidityMs: number;
  /** Fraction of a CA's life after which a successor is staged (0 < f < 1). */
  caRenewAt: number;
  /** Fraction of a serving certificate's life after which it is reissued (0 < f < 1). */
  servingRenewAt: number;
  /** How long a new CA is published before it signs, and a retired CA stays after it stopped signing. */
  overlapMs: number;
  /** notBefore is set this far in the past, so peers with a slightly slow clock accept the cert. */
  backdateMs: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** CA: 1 year, renewed at 2/3; serving: 30 days, renewed at 2/3; a new CA is published 1 h before use. */
export const DEFAULT_CERT_POLICY: CertPolicy = {
  caValidityMs: 365 * DAY,
  servingValidityMs: 30 * DAY,
  caRenewAt: 2 / 3,
  servingRenewAt: 2 / 3,
  overlapMs: HOUR,
  backdateMs: 5 * 60_000,
};

/** What the edge read out of a CA certificate. `id` is any stable identity (the SHA-256 fingerprint). */
export interface CaFacts {
  id: string;
  notBefore: Date;
  notAfter: Date;
}

export interface ServingFacts {
  notBefore: Date;
  notAfter: Date;
  /** The id of the CA that signed it (the edge verified the signature), or undefined when none of ours did. */
  issuer: string | undefined;
  /** DNS names and IP addresses in its subjectAltName. */
  names: readonly string[];
}

/** The stored state, as facts. Keys never reach the core. */
export interface CertState {
  /** Signs serving certificates; undefined when absent or unreadable. */
  signing?: CaFacts;
  /** Published in the bundle, not yet signing. */
  pending?: CaFacts;
  /** No longer signing (key dropped); kept in the bundle while a serving cert it signed may be in use. */
  retired: readonly CaFacts[];
  serving?: ServingFacts;
  /**
   * The CA ids the webhook configuration's caBundle holds now, when known. A pending CA is promoted
   * only once it is published there: a failed caBundle patch must not start a CA nobody trusts.
   */
  published?: readonly string[];
}

export type CertStep =
  | { kind: "create-signing-ca"; reason: string }
  | { kind: "stage-ca"; reason: string }
  | { kind: "promote-ca"; reason: string }
  | { kind: "issue-serving"; reason: string }
  | { kind: "drop-retired"; ids: string[]; reason: string };

export interface CertPlan {
  /** Apply in order, store, then ask again (a promotion is followed by issue-serving on the next call). */
  steps: CertStep[];
  /** When the answer can next change (the edge sleeps until then, or less). */
  nextCheckAt: Date;
}

const t = (d: Date): number => d.getTime();
const at = (ms: number): Date => new Date(ms);

/** The moment a fraction of [notBefore, notAfter] has elapsed (issue time = notBefore + backdate). */
export function renewalTime(
  cert: { notBefore: Date; notAfter: Date },
  fraction: number,
  backdateMs: number,
): Date {
  const issued = t(cert.notBefore) + backdateMs;
  return at(issued + (t(cert.notAfter) - issued) * fraction);
}

/** Validity of a certificate issued at `now`, never outlasting `capBy` (the signing CA). */
export function validityFor(
  now: Date,
  lifetimeMs: number,
  policy: CertPolicy,
  capBy?: { notAfter: Date },
): { notBefore: Date; notAfter: Date } {
  const notAfter = Math.min(
    t(now) + lifetimeMs,
    capBy ? t(capBy.notAfter) : Number.POSITIVE_INFINITY,
  );
  return { notBefore: at(t(now) - policy.backdateMs), notAfter: at(notAfter) };
}

const usable = (c: { notBefore: Date; notAfter: Date }, now: Date): boolean =>
  t(c.notBefore) <= t(now) && t(now) < t(c.notAfter);

const sameNames = (a: readonly string[], b: readonly string[]): boolean => {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/** Why the serving certificate must be reissued now, or undefined. */
export function servingProblem(
  state: CertState,
  names: readonly string[],
  now: Date,
  policy: CertPolicy,
): string | undefined {
  const s = state.serving;
  if (!s) return "no serving certificate";
  if (!state.signing || s.issuer !== state.signing.id)
    return "the serving certificate is not signed by the signing CA";
  if (!usable(s, now))
    return t(now) >= t(s.notAfter)
      ? "the serving certificate expired"
      : "the serving certificate is not valid yet";
  if (!sameNames(s.names, names))
    return "the serving certificate does not cover exactly the webhook's names";
  if (t(now) >= t(renewalTime(s, policy.servingRenewAt, policy.backdateMs)))
    return `the serving certificate passed ${Math.round(policy.servingRenewAt * 100)}% of its lifetime`;
  return undefined;
}

/** The next steps towards a valid, fresh serving certificate and a bundle that trusts every cert in use. */
export function planCertificates(
  state: CertState,
  names: readonly string[],
  now: Date,
  policy: CertPolicy = DEFAULT_CERT_POLICY,
): CertPlan {
  const steps: CertStep[] = [];
  const horizon: number[] = [];
  const signing = state.signing && usable(state.signing, now) ? state.signing : undefined;

  if (!signing) {
    // Nothing trusted can sign: start over. (A pending CA that is usable is promoted instead.)
    if (state.pending && usable(state.pending, now)) {
      steps.push({
        kind: "promote-ca",
        reason: "the signing CA is missing or expired; promoting the pending CA",
      });
    } else {
      steps.push({
        kind: "create-signing-ca",
        reason: state.signing ? "the signing CA expired" : "no signing CA",
      });
    }
    return { steps, nextCheckAt: now };
  }

  // Stage or promote a successor.
  const renewCa = t(renewalTime(signing, policy.caRenewAt, policy.backdateMs));
  if (state.pending && t(now) >= t(state.pending.notAfter)) {
    steps.push({
      kind: "stage-ca",
      reason: "the pending CA expired before it was promoted; staging a new one",
    });
  } else if (!state.pending) {
    if (t(now) >= renewCa)
      steps.push({
        kind: "stage-ca",
        reason: `the signing CA passed ${Math.round(policy.caRenewAt * 100)}% of its lifetime`,
      });
    else horizon.push(renewCa);
  } else {
    const promoteAt = t(state.pending.notBefore) + policy.backdateMs + policy.overlapMs;
    const published = state.published === undefined || state.published.includes(state.pending.id);
    if (t(now) >= promoteAt && usable(state.pending, now) && published) {
      steps.push({
        kind: "promote-ca",
        reason: "the pending CA has been in the caBundle for the overlap period",
      });
      return { steps, nextCheckAt: now };
    }
    // Not yet published: look again soon (the edge re-patches the bundle on every pass).
    horizon.push(t(now) >= promoteAt ? t(now) + Math.min(policy.overlapMs, 60_000) : promoteAt);
  }

  // The serving certificate.
  const problem = servingProblem(state, names, now, policy);
  if (problem) steps.push({ kind: "issue-serving", reason: problem });
  else if (state.serving) {
    horizon.push(
      t(renewalTime(state.serving, policy.servingRenewAt, policy.backdateMs)),
      t(state.serving.notAfter),
    );
  }

  // Retired CAs: kept while a serving cert they signed may still be served by some replica.
  const servingSince =
    state.serving && !problem
      ? t(state.serving.notBefore) + policy.backdateMs
      : Number.POSITIVE_INFINITY;
  const drop: string[] = [];
  for (const r of state.retired) {
    const stillSigning = state.serving?.issuer === r.id;
    const releaseAt = stillSigning ? Number.POSITIVE_INFINITY : servingSince + policy.overlapMs;
    if (t(now) >= t(r.notAfter) || t(now) >= releaseAt) drop.push(r.id);
    else horizon.push(Math.min(t(r.notAfter), releaseAt));
  }
  if (drop.length > 0)
    steps.push({
      kind: "drop-retired",
      ids: drop,
      reason: "no replica serves a certificate these CAs signed any more",
    });

  horizon.push(t(signing.notAfter));
  const next =
    steps.length > 0
      ? t(now)
      : Math.max(t(now), Math.min(...horizon.filter((h) => Number.isFinite(h))));
  return { steps, nextCheckAt: at(next) };
}

/** The CAs the webhook configuration's caBundle must hold, newest first: signing, pending, retired (unexpired). */
export function bundleIds(state: CertState, now: Date): string[] {
  const all = [state.pending, state.signing, ...state.retired].filter(
    (c): c is CaFacts => c !== undefined && t(now) < t(c.notAfter),
  );
  return [...new Set(all.map((c) => c.id))];
}
