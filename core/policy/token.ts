// Decisions about API tokens: minting one (serviceaccounts/token) and writing a long-lived
// kubernetes.io/service-account-token Secret.
import { enforced, lifetimeOutcome, lifetimeProblem, nhiName } from "./nhi-standing.js";
import { parseDuration } from "../nhi/duration.js";
import type { NonHumanIdentity } from "../nhi/types.js";
import type { ServiceAccountRef } from "../rbac/types.js";
import type { SecretMetadata } from "../snapshot.js";
import { runChain, type Check, type Finding } from "./chain.js";
import { describeObject } from "./describe.js";
import { modesFor, serviceAccountIdentity, type EffectivePolicy } from "./settings.js";
import type { Decision, ObjectRef } from "./types.js";
import { tokenSecretAccount } from "../snapshot.js";
import { LEGACY_ANNOTATIONS } from "../rotation/legacy.js";
import { borrowedIdentityFindings, type ClusterLookups, type Requester } from "./workload.js";

/** The API server's default for TokenRequest spec.expirationSeconds. */
export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;

export interface TokenRequestInput extends ClusterLookups {
  /** The ServiceAccount the token is for. */
  target: ServiceAccountRef;
  /** spec.expirationSeconds; absent: the API server's default (1h). */
  expirationSeconds?: number;
  /** spec.boundObjectRef, when the token is bound to a Pod or Secret. */
  boundObject?: { kind?: string; name?: string };
  policy: EffectivePolicy;
  now: Date;
  requester?: Requester;
}

const isNode = (r: Requester | undefined): boolean =>
  r?.username.startsWith("system:node:") === true;

/** The longest token lifetime an NHI declares (its ServiceAccountToken credentials' ttl), in seconds. */
export function declaredTokenTTLSeconds(nhi: NonHumanIdentity): number | undefined {
  const ttls = (nhi.spec.credentials ?? [])
    .filter((c) => c.type === "ServiceAccountToken" && c.ttl !== undefined)
    .map((c) => parseDuration(c.ttl ?? "0s") / 1000);
  return ttls.length === 0 ? undefined : Math.max(...ttls);
}

interface PreparedToken {
  input: TokenRequestInput;
  object: ObjectRef;
  identity: string;
  nhi: NonHumanIdentity | undefined;
  seconds: number;
}

const tokenTTL: Check<PreparedToken> = {
  name: "token-ttl",
  run: ({ input, object, identity, nhi, seconds }) => {
    // The kubelet's pod-bound projected tokens are rotated by the kubelet and die with the pod; their
    // lifetime is the pod spec's (judged with the workload), and denying them would stop pods starting.
    if (isNode(input.requester)) return [];
    const findings: Finding[] = [];
    const declared = nhi ? declaredTokenTTLSeconds(nhi) : undefined;
    if (nhi && declared !== undefined && seconds > declared) {
      findings.push({
        outcome: enforced(nhi),
        rule: "token-ttl",
        severity: "high",
        object,
        identity,
        permission: `token for ${seconds}s`,
        message: `${describeObject(object)}: a token for ${identity} valid for ${seconds}s exceeds the ${declared}s ttl that ${nhiName(nhi)} declares for its ServiceAccountToken credentials.`,
        fix: `request expirationSeconds of at most ${declared}, or raise the credential ttl in ${nhiName(nhi)} through a reviewed change`,
      });
    }
    const max = input.policy.maxTokenTTLSeconds;
    if (max !== undefined && seconds > max) {
      findings.push({
        outcome: "deny",
        rule: "token-ttl-policy",
        severity: "high",
        object,
        identity,
        permission: `token for ${seconds}s`,
        message: `${describeObject(object)}: a token for ${identity} valid for ${seconds}s exceeds the maxTokenTTL of ${max}s set by NHIPolicy ${input.policy.sources.join(", ")}.`,
        fix: `request expirationSeconds of at most ${max}`,
      });
    }
    return findings;
  },
};

const tokenIdentityState: Check<PreparedToken> = {
  name: "token-identity-state",
  run: ({ input, object, identity, nhi }) => {
    if (!nhi) return [];
    const problem = lifetimeProblem(nhi, input.now);
    // A suspension revokes every token, the kubelet's too; an expiry only stops new ones being handed out.
    if (!problem || (problem.rule === "nhi-expired" && isNode(input.requester))) return [];
    return [
      {
        outcome: lifetimeOutcome(nhi, problem),
        rule: problem.rule,
        severity: "high",
        object,
        identity,
        message: `${describeObject(object)}: no new token for ${identity}: ${problem.why}.`,
        fix:
          problem.rule === "nhi-suspended"
            ? `resolve the incident and set spec.suspended: false on ${nhiName(nhi)}`
            : `renew ${nhiName(nhi)} (spec.lifetime.expiresAt) through a reviewed change`,
      },
    ];
  },
};

const tokenBorrowedIdentity: Check<PreparedToken> = {
  name: "token-borrowed-identity",
  run: ({ input, object }) =>
    borrowedIdentityFindings(
      input,
      input.policy,
      input.requester,
      input.target,
      object,
      "would mint a token for",
    ),
};

export const TOKEN_REQUEST_CHECKS: readonly Check<PreparedToken>[] = [
  tokenTTL,
  tokenIdentityState,
  tokenBorrowedIdentity,
];

/** CREATE serviceaccounts/token. */
export function decideTokenRequest(input: TokenRequestInput): Decision {
  const sa = input.target;
  const prepared: PreparedToken = {
    input,
    object: {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      namespace: sa.namespace,
      name: sa.name,
    },
    identity: serviceAccountIdentity(sa.namespace, sa.name),
    nhi: input.directory.nhiFor(sa),
    seconds: input.expirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS,
  };
  return runChain(TOKEN_REQUEST_CHECKS, prepared, input.policy);
}

// ---------------------------------------------------------------------------------------------
// Long-lived token Secrets
// ---------------------------------------------------------------------------------------------

export interface SecretWriteInput {
  /** The Secret as written, metadata and type only. */
  secret: SecretMetadata;
  /** The Secret before an UPDATE. */
  oldSecret?: SecretMetadata;
  namespace: string;
  directory: ClusterLookups["directory"];
  namespaceLabels: ClusterLookups["namespaceLabels"];
  tokenSecretAccount: ClusterLookups["tokenSecretAccount"];
  /** ADMISSION_DEFAULTS in the cluster (unclaimed: warn), CLI_DEFAULTS in CI (unclaimed: violation). */
  policy: EffectivePolicy;
}

interface PreparedSecret {
  input: SecretWriteInput;
  object: ObjectRef;
  sa: ServiceAccountRef;
  identity: string;
  nhi: NonHumanIdentity | undefined;
  /** An UPDATE of a token Secret that already existed for the same account (the token controller filling it, a label edit). */
  preexisting: boolean;
  /** The existing token Secret of the same account this one succeeds (legacy rotation), if it does. */
  replaces: string | undefined;
}

const LEGACY_WHY =
  "a kubernetes.io/service-account-token Secret holds a token that never expires and is copied wherever the Secret is read";

const legacyTokenForbidden: Check<PreparedSecret> = {
  name: "legacy-token-forbidden",
  run: ({ object, identity, nhi, preexisting, replaces }) => {
    const mode = nhi?.spec.legacyTokens ?? "Forbid";
    if (!nhi || mode !== "Forbid") return [];
    return [
      {
        outcome: preexisting || replaces !== undefined ? "warn" : enforced(nhi),
        rule: "legacy-token-forbidden",
        severity: "high",
        object,
        identity,
        message: `${describeObject(object)} is a long-lived token for ${identity}${replaces !== undefined ? ` that replaces its token Secret ${object.namespace ?? ""}/${replaces} (legacy rotation: the old token is revoked once its consumers use this one)` : ""}, but ${nhiName(nhi)} forbids them (spec.legacyTokens: Forbid): ${LEGACY_WHY}.`,
        fix: `use short-lived tokens (a projected volume, or a ServiceAccountToken credential with a ttl in ${nhiName(nhi)}); set legacyTokens: Rotate there only if a client cannot do without one`,
      },
    ];
  },
};

const legacyTokenUnclaimed: Check<PreparedSecret> = {
  name: "legacy-token-unclaimed",
  run: ({ input, object, sa, identity, nhi, preexisting, replaces }) => {
    if (nhi) return [];
    const mode = modesFor(
      input.policy,
      input.namespaceLabels(sa.namespace),
    ).unclaimedHighPermissions;
    return [
      {
        outcome: mode === "Enforce" && !preexisting && replaces === undefined ? "deny" : "warn",
        rule: "legacy-token-unclaimed",
        severity: "high",
        object,
        identity,
        message: `${describeObject(object)} is a long-lived token for ${identity}, which no NonHumanIdentity claims: ${LEGACY_WHY}.`,
        fix: `use a projected token instead, or declare a NonHumanIdentity for ServiceAccount ${sa.namespace}/${sa.name} with legacyTokens: Rotate`,
      },
    ];
  },
};

export const SECRET_WRITE_CHECKS: readonly Check<PreparedSecret>[] = [
  legacyTokenForbidden,
  legacyTokenUnclaimed,
];

/**
 * The existing token Secret a new one succeeds: the legacy rotation (core/rotation/legacy.ts) names
 * it in nhi.io/legacy-successor-of, and it must be a token Secret of the same account. Such a Secret
 * replaces a long-lived token and adds none; refusing it would stop the rotation of a stolen token
 * (onAnomaly: Rotate) under the default legacyTokens: Forbid.
 */
function replacedTokenSecret(input: SecretWriteInput, account: string): string | undefined {
  const predecessor = input.secret.metadata.annotations?.[LEGACY_ANNOTATIONS.successorOf];
  if (predecessor === undefined || predecessor === input.secret.metadata.name) return undefined;
  return input.tokenSecretAccount(input.namespace, predecessor) === account
    ? predecessor
    : undefined;
}

/** CREATE/UPDATE of a Secret: only kubernetes.io/service-account-token Secrets are judged. */
export function decideSecretWrite(input: SecretWriteInput): Decision {
  const account = tokenSecretAccount(input.secret);
  // Without the annotation the API server rejects the Secret itself.
  if (account === undefined || account === "")
    return { allowed: true, violations: [], warnings: [] };
  const sa = { namespace: input.namespace, name: account };
  const prepared: PreparedSecret = {
    input,
    sa,
    object: { kind: "Secret", namespace: input.namespace, name: input.secret.metadata.name },
    identity: serviceAccountIdentity(sa.namespace, sa.name),
    nhi: input.directory.nhiFor(sa),
    preexisting: tokenSecretAccount(input.oldSecret) === account,
    replaces: replacedTokenSecret(input, account),
  };
  return runChain(SECRET_WRITE_CHECKS, prepared, input.policy);
}
