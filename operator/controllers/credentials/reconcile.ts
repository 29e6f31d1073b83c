// The credentials controller: for each NHI, drives every ServiceAccountToken and Generated
// credential through core/rotation's state machine. Each pass reads the Secret and its anchors
// fresh, asks planRotation for the one next step, performs it with a resourceVersion-guarded write
// and asks again, so whatever happened before (a crash, a conflict, a concurrent edit) it resumes
// from what the Secret records. Values live only in local variables on their way to the API server.
import type { ObjectMeta } from "../../../core/rbac/types.js";
import { randomBytes } from "node:crypto";
import type { NHICredential, NonHumanIdentity } from "../../../core/nhi/types.js";
import { CREDENTIAL_DEFAULTS } from "../../../core/nhi/types.js";
import { parseDuration } from "../../../core/nhi/duration.js";
import { lifetimeOf, mayIssueCredentials } from "../../../core/lifetime/lifetime.js";
import {
  ANCHOR_FOR_LABEL,
  ANCHOR_GENERATION_LABEL,
  ANNOTATIONS,
  CA_KEY,
  CREDENTIAL_LABEL,
  KUBECONFIG_KEY,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  NAMESPACE_KEY,
  NHI_LABEL,
  TOKEN_KEY,
  describeReason,
  formatTime,
  generateValue,
  generatedKey,
  isManaged,
  matchesFormat,
  parseTime,
  planRotation,
  previousKey,
  readRecord,
  withRecord,
  type RotationRecord,
  type RotationStep,
  type SecretView,
} from "../../../core/rotation/index.js";
import { serviceAccountIdentity } from "../../../core/policy/settings.js";
import { workloadPath } from "../../../core/workloads/pod-template.js";
import { redactTokens } from "../../../core/redact.js";
import {
  ApiError,
  MERGE_PATCH,
  METADATA_LIST_ACCEPT,
  isConflict,
  type KubeRest,
} from "../../k8s/rest.js";
import type { ProcessResult } from "../../k8s/queue.js";
import { nullLog } from "../../../edge/log.js";
import { nullMetrics, type ControllerDeps } from "../types.js";
import { anchorsFrom, consumersOf, kubeconfigFor, restartPatch } from "./decide.js";
import { driveLegacyTokens } from "./legacy.js";
import { legacyRotationsWanted } from "./decide.js";
import { ADMISSION_DEFAULTS, resolvePolicy } from "../../../core/policy/settings.js";
import {
  DEFAULT_LEGACY_MAX_AGE_MS,
  DEFAULT_TOKEN_OVERLAP_MS,
} from "../../../core/rotation/index.js";
import { nhiEventTarget } from "../../k8s/events.js";

interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
}

const MAX_STEPS_PER_PASS = 12;
const secretsPath = (ns: string): string => `/api/v1/namespaces/${ns}/secrets`;

function view(s: SecretObject): SecretView {
  return {
    name: s.metadata.name,
    labels: s.metadata.labels ?? {},
    annotations: s.metadata.annotations ?? {},
    keys: Object.keys(s.data ?? {}),
    ...(s.type ? { type: s.type } : {}),
    ...(s.metadata.resourceVersion ? { resourceVersion: s.metadata.resourceVersion } : {}),
  };
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : Buffer.from(s, "base64").toString("utf8");

/** A message safe for annotations, events and logs: the API server's words, never a request body or a token. */
export function errorMessage(e: unknown): string {
  return redactTokens(e instanceof Error ? e.message : String(e), 500);
}

export class CredentialsController {
  readonly name = "credentials";
  private readonly log;
  private readonly metrics;
  private readonly now: () => number;

  constructor(private readonly d: ControllerDeps) {
    this.log = d.log ?? nullLog;
    this.metrics = d.metrics ?? nullMetrics;
    this.now = d.now ?? Date.now;
  }

  private get rest(): KubeRest {
    return this.d.rest;
  }

  /** key: "namespace/nhiName". */
  async reconcile(key: string): Promise<ProcessResult> {
    const [ns = "", name = ""] = key.split("/");
    // Most identities declare nothing to issue: the cached copy says so without a request.
    const cached = this.d.source
      .snapshot()
      .nhis.find((n) => n.metadata.namespace === ns && n.metadata.name === name);
    if (
      cached &&
      !(cached.spec.credentials ?? []).some(isManaged) &&
      cached.spec.legacyTokens !== "Rotate" &&
      legacyRotationsWanted(this.d.source.snapshot(), cached).length === 0
    )
      return {};
    // The NHI is read fresh: a stale copy could issue a credential an owner just removed or suspended.
    const nhi = await this.rest.find<NonHumanIdentity>(
      `/apis/nhi.io/v1alpha1/namespaces/${ns}/nonhumanidentities/${name}`,
    );
    if (!nhi) return {};
    const lastUsed = parseTime(nhi.status?.lastUsed);
    const lifetime = lifetimeOf({
      nhi,
      now: this.now(),
      ...(lastUsed !== undefined ? { lastUsed } : {}),
    });
    const suspended = !mayIssueCredentials(lifetime);
    let next: number | undefined;
    let firstError: unknown;
    for (const c of nhi.spec.credentials ?? []) {
      if (!isManaged(c)) continue;
      try {
        const at = await this.drive(nhi, c, suspended);
        if (at !== undefined) next = next === undefined ? at : Math.min(next, at);
      } catch (e) {
        firstError ??= e;
      }
    }
    // legacyTokens: Rotate drives every legacy token; otherwise only those onAnomaly: Rotate asked
    // to replace (a replayed token) — the listing in driveLegacyTokens is fresh, the cache may lag.
    if (
      nhi.spec.legacyTokens === "Rotate" ||
      legacyRotationsWanted(this.d.source.snapshot(), nhi).length > 0
    ) {
      try {
        const at = await this.driveLegacy(nhi, suspended);
        if (at !== undefined) next = next === undefined ? at : Math.min(next, at);
      } catch (e) {
        firstError ??= e;
      }
    }
    if (firstError !== undefined) throw firstError;
    return next === undefined ? {} : { requeueAfterMs: Math.max(1000, next - this.now()) };
  }

  /**
   * legacyTokens: Rotate. A legacy token nobody knows the history of is replaced at once; one the
   * operator issued is replaced at the NHIPolicies' maxCredentialAge (default 90 days).
   */
  private async driveLegacy(
    nhi: NonHumanIdentity,
    suspended: boolean,
  ): Promise<number | undefined> {
    const snapshot = this.d.source.snapshot();
    const policy = resolvePolicy(snapshot.policies, ADMISSION_DEFAULTS, new Date(this.now()));
    return driveLegacyTokens(
      {
        rest: this.rest,
        log: this.log,
        metrics: this.metrics,
        now: this.now,
        afterStep: this.d.afterStep,
        errorMessage,
        workloads: () => this.d.source.snapshot().workloads,
        event: (type, reason, message) => this.event(nhi, type, reason, message),
      },
      {
        nhi,
        only: nhi.spec.legacyTokens === "Rotate" ? "all" : "requested",
        suspended,
        maxAgeMs: policy.maxCredentialAgeMs ?? DEFAULT_LEGACY_MAX_AGE_MS,
        overlapMs: this.d.tokenOverlapMs ?? DEFAULT_TOKEN_OVERLAP_MS,
      },
    );
  }

  /** Runs steps until the credential waits; returns when to look again. */
  private async drive(
    nhi: NonHumanIdentity,
    c: NHICredential,
    suspended: boolean,
  ): Promise<number | undefined> {
    const ns = nhi.metadata.namespace ?? "default";
    const key = `${ns}/${nhi.metadata.name}/${c.name}`;
    for (let i = 0; i < MAX_STEPS_PER_PASS; i++) {
      const secret = await this.rest.find<SecretObject>(`${secretsPath(ns)}/${c.secretName}`);
      const anchors =
        c.type === "ServiceAccountToken"
          ? anchorsFrom(
              await this.rest.listAll<{
                metadata: { name: string; labels?: Record<string, string> };
              }>(secretsPath(ns), {
                accept: METADATA_LIST_ACCEPT,
                query: { labelSelector: `${ANCHOR_FOR_LABEL}=${c.secretName}` },
              }),
              c.secretName,
            )
          : [];
      const consumers = consumersOf(this.d.source.snapshot().workloads, ns, c.secretName);
      const now = this.now();
      const rec = readRecord(secret?.metadata.annotations ?? {});
      const step = planRotation(
        {
          credential: c,
          nhiName: nhi.metadata.name,
          secret: secret ? view(secret) : undefined,
          anchors,
          rollout: nhi.spec.rollout === true,
          consumers: consumers.length,
          suspended,
          now,
          ...(this.d.tokenOverlapMs !== undefined ? { tokenOverlapMs: this.d.tokenOverlapMs } : {}),
        },
        rec,
      );
      switch (step.kind) {
        case "Idle":
          return step.nextAt;
        case "Wait":
          return step.until;
        case "Suspended":
          return undefined;
        case "Blocked":
          await this.event(nhi, "Warning", "CredentialBlocked", step.message);
          return undefined;
        default:
      }
      try {
        await this.perform(
          nhi,
          c,
          step,
          secret,
          consumers.map((w) => ({ kind: w.kind, name: w.metadata.name })),
        );
        this.metrics.rotation(ns, c.type, step.kind, "ok");
        this.d.afterStep?.(step.kind, key);
      } catch (e) {
        // Someone wrote the Secret meanwhile (or created it): re-read and re-plan. An unstored token is simply dropped.
        if (isConflict(e)) continue;
        this.metrics.rotation(ns, c.type, step.kind, "error");
        const msg = `${step.kind} of credential ${c.name} (Secret ${c.secretName}) failed: ${errorMessage(e)}`;
        this.log.warn("rotation step failed", {
          nhi: key,
          step: step.kind,
          error: errorMessage(e),
        });
        await this.event(nhi, "Warning", "RotationFailed", msg);
        if (secret) await this.recordError(ns, c.secretName, msg);
        throw e;
      }
    }
    return this.now() + 1000; // more steps pending: come back soon
  }

  private async perform(
    nhi: NonHumanIdentity,
    c: NHICredential,
    step: RotationStep,
    secret: SecretObject | undefined,
    consumers: { kind: string; name: string }[],
  ): Promise<void> {
    const ns = nhi.metadata.namespace ?? "default";
    const put = (s: SecretObject): Promise<SecretObject> =>
      this.rest.request<SecretObject>("PUT", `${secretsPath(ns)}/${s.metadata.name}`, { body: s });
    const withAnn = (
      s: SecretObject,
      rec: RotationRecord,
      data?: Record<string, string>,
    ): SecretObject => ({
      ...s,
      metadata: { ...s.metadata, annotations: withRecord(s.metadata.annotations ?? {}, rec) },
      ...(data ? { data } : {}),
    });
    switch (step.kind) {
      case "Create": {
        await this.rest.request("POST", secretsPath(ns), {
          body: {
            apiVersion: "v1",
            kind: "Secret",
            type: "Opaque",
            metadata: {
              name: c.secretName,
              namespace: ns,
              labels: step.labels,
              annotations: withRecord({}, step.record),
              // Deleting the NHI deletes its credentials (and, through the anchors' owner, revokes its tokens).
              ...(nhi.metadata.uid
                ? {
                    ownerReferences: [
                      {
                        apiVersion: "nhi.io/v1alpha1",
                        kind: "NonHumanIdentity",
                        name: nhi.metadata.name,
                        uid: nhi.metadata.uid,
                      },
                    ],
                  }
                : {}),
            },
          },
        });
        return;
      }
      case "Begin": {
        if (!secret) return;
        await put(withAnn(secret, step.record));
        await this.event(
          nhi,
          "Normal",
          "RotationStarted",
          `rotating credential ${c.name} (Secret ${c.secretName}): ${describeReason(step.record.reason, c)}`,
        );
        return;
      }
      case "Issue": {
        if (!secret) return;
        if (c.type === "ServiceAccountToken")
          await this.issueToken(nhi, c, step, secret, withAnn, put);
        else await this.issueGenerated(c, step, secret, withAnn, put);
        return;
      }
      case "Verify": {
        if (!secret) return;
        const ok =
          c.type === "ServiceAccountToken"
            ? await this.verifyToken(nhi, c, secret)
            : this.verifyGenerated(c, secret);
        await put(
          withAnn(
            secret,
            ok
              ? step.onSuccess
              : {
                  ...step.onFailure,
                  lastError: `issued value of generation ${step.generation} failed verification`,
                },
          ),
        );
        if (ok) {
          const first = step.generation === 1;
          await this.event(
            nhi,
            "Normal",
            first ? "CredentialIssued" : "CredentialRotated",
            `${first ? "issued" : "rotated"} credential ${c.name} (Secret ${c.secretName}, generation ${step.generation}); verified${first ? "" : ", the previous value stays valid until it is revoked"}`,
          );
        } else {
          await this.event(
            nhi,
            "Warning",
            "VerificationFailed",
            `credential ${c.name} (Secret ${c.secretName}) generation ${step.generation} failed verification`,
          );
        }
        return;
      }
      case "Rollout": {
        if (!secret) return;
        const at = new Date(this.now()).toISOString();
        for (const w of consumers) {
          await this.rest.request("PATCH", workloadPath(w.kind, ns, w.name) as string, {
            body: restartPatch(at),
            contentType: MERGE_PATCH,
          });
        }
        await put(withAnn(secret, step.record));
        await this.event(
          nhi,
          "Normal",
          "RolloutRestarted",
          `restarted ${consumers.map((w) => `${w.kind}/${w.name}`).join(", ")} after rotating Secret ${c.secretName}`,
        );
        return;
      }
      case "Revoke": {
        for (const a of step.anchors) await this.rest.remove(`${secretsPath(ns)}/${a}`);
        if (!secret) return;
        const data = { ...(secret.data ?? {}) };
        for (const k of step.dropKeys) delete data[k];
        await put(withAnn(secret, step.record, data));
        if (step.anchors.length > 0 || step.dropKeys.length > 0) {
          await this.event(
            nhi,
            "Normal",
            "CredentialRevoked",
            `revoked the previous value of credential ${c.name} (Secret ${c.secretName})${step.anchors.length ? `: deleted token anchor(s) ${step.anchors.join(", ")}` : `: removed ${step.dropKeys.join(", ")}`}`,
          );
        }
        return;
      }
      default:
    }
  }

  private async issueToken(
    nhi: NonHumanIdentity,
    c: NHICredential,
    step: Extract<RotationStep, { kind: "Issue" }>,
    secret: SecretObject,
    withAnn: (s: SecretObject, rec: RotationRecord, data?: Record<string, string>) => SecretObject,
    put: (s: SecretObject) => Promise<SecretObject>,
  ): Promise<void> {
    const ns = nhi.metadata.namespace ?? "default";
    const anchorName = step.anchor ?? `${c.secretName}-nhi-g${step.generation}`;
    // The anchor: an empty Secret the token is bound to. Deleting it revokes exactly this token;
    // owned by the credential Secret, so deleting that revokes every token it ever held.
    let anchor = await this.rest.find<SecretObject>(`${secretsPath(ns)}/${anchorName}`);
    if (!anchor) {
      anchor = await this.rest.request<SecretObject>("POST", secretsPath(ns), {
        body: {
          apiVersion: "v1",
          kind: "Secret",
          type: "Opaque",
          metadata: {
            name: anchorName,
            namespace: ns,
            labels: {
              [MANAGED_BY_LABEL]: MANAGED_BY,
              [NHI_LABEL]: nhi.metadata.name,
              [CREDENTIAL_LABEL]: c.name,
              [ANCHOR_FOR_LABEL]: c.secretName,
              [ANCHOR_GENERATION_LABEL]: String(step.generation),
            },
            ...(secret.metadata.uid
              ? {
                  ownerReferences: [
                    {
                      apiVersion: "v1",
                      kind: "Secret",
                      name: c.secretName,
                      uid: secret.metadata.uid,
                    },
                  ],
                }
              : {}),
          },
        },
      });
    }
    const ttlSeconds = Math.round((c.ttl ? parseDuration(c.ttl) : 3_600_000) / 1000);
    const sa = nhi.spec.serviceAccountName;
    const tr = await this.rest.request<{
      status?: { token?: string; expirationTimestamp?: string };
    }>("POST", `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          expirationSeconds: ttlSeconds,
          ...(c.audiences?.length ? { audiences: c.audiences } : {}),
          boundObjectRef: {
            apiVersion: "v1",
            kind: "Secret",
            name: anchorName,
            uid: anchor.metadata.uid,
          },
        },
      },
    });
    const token = tr.status?.token;
    if (!token) throw new Error(`TokenRequest for ServiceAccount ${sa} returned no token`);
    const expiresAt = parseTime(tr.status?.expirationTimestamp) ?? this.now() + ttlSeconds * 1000;
    const server = this.d.kubeconfigServer ?? this.rest.server;
    const caData = this.rest.caData();
    const data: Record<string, string> = {
      ...(secret.data ?? {}),
      [TOKEN_KEY]: b64(token),
      [KUBECONFIG_KEY]: b64(
        kubeconfigFor({ server, ...(caData ? { caData } : {}), namespace: ns, user: sa, token }),
      ),
      [NAMESPACE_KEY]: b64(ns),
      ...(caData ? { [CA_KEY]: caData.includes("-----BEGIN") ? b64(caData) : caData } : {}),
    };
    // One write: the new token and the record saying it is generation N, awaiting verification.
    await put(withAnn(secret, { ...step.record, expiresAt }, data));
  }

  private async issueGenerated(
    c: NHICredential,
    step: Extract<RotationStep, { kind: "Issue" }>,
    secret: SecretObject,
    withAnn: (s: SecretObject, rec: RotationRecord, data?: Record<string, string>) => SecretObject,
    put: (s: SecretObject) => Promise<SecretObject>,
  ): Promise<void> {
    const key = generatedKey(c);
    const value = generateValue(
      c.length ?? CREDENTIAL_DEFAULTS.generatedLength,
      c.encoding ?? CREDENTIAL_DEFAULTS.generatedEncoding,
      (n) => randomBytes(n),
    );
    const data: Record<string, string> = { ...(secret.data ?? {}) };
    const current = data[key];
    if (step.shiftPrevious && current !== undefined) data[previousKey(key)] = current;
    data[key] = b64(value);
    await put(withAnn(secret, step.record, data));
  }

  private async verifyToken(
    nhi: NonHumanIdentity,
    c: NHICredential,
    secret: SecretObject,
  ): Promise<boolean> {
    const token = unb64(secret.data?.[TOKEN_KEY]);
    if (!token) return false;
    const ns = nhi.metadata.namespace ?? "default";
    try {
      const r = await this.rest.request<{
        status?: { authenticated?: boolean; user?: { username?: string } };
      }>("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenReview",
          spec: { token, ...(c.audiences?.length ? { audiences: c.audiences } : {}) },
        },
      });
      return (
        r.status?.authenticated === true &&
        r.status.user?.username === serviceAccountIdentity(ns, nhi.spec.serviceAccountName)
      );
    } catch (e) {
      if (e instanceof ApiError && e.status >= 500) throw e; // the API server, not the token: retry later
      return false;
    }
  }

  private verifyGenerated(c: NHICredential, secret: SecretObject): boolean {
    const key = generatedKey(c);
    const value = unb64(secret.data?.[key]);
    if (value === undefined) return false;
    const prev = unb64(secret.data?.[previousKey(key)]);
    return (
      value !== prev &&
      matchesFormat(
        value.length,
        (re) => re.test(value),
        c.length ?? CREDENTIAL_DEFAULTS.generatedLength,
        c.encoding ?? CREDENTIAL_DEFAULTS.generatedEncoding,
      )
    );
  }

  /** Best effort: the last error on the Secret, for the inventory's status.credentials[].lastError. */
  private async recordError(ns: string, secretName: string, message: string): Promise<void> {
    await this.rest
      .request("PATCH", `${secretsPath(ns)}/${secretName}`, {
        body: {
          metadata: {
            annotations: {
              [ANNOTATIONS.lastError]: `${formatTime(this.now())} ${message}`.slice(0, 1000),
            },
          },
        },
        contentType: MERGE_PATCH,
      })
      .catch(() => undefined);
  }

  private async event(
    nhi: NonHumanIdentity,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    await this.d.events
      .record({
        target: nhiEventTarget(nhi),
        type,
        reason,
        message,
      })
      .catch((e: unknown) =>
        this.log.debug("event not recorded", { reason, error: errorMessage(e) }),
      );
  }
}
