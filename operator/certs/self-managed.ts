// Self-managed serving certificate: a CA and a serving certificate kept in a Secret in the
// operator's namespace, the CA bundle patched into the ValidatingWebhookConfiguration, the HTTPS
// server's certificate swapped when it changes. Every replica runs this loop, on the work queue the
// controllers run on (one key, requeued for the next time the plan names, failures backed off),
// and talks to the API server through operator/k8s/rest.ts; the Secret's
// resourceVersion makes concurrent writers safe (the loser rereads). What to do and when comes from
// core/certs (planCertificates); this file reads, issues, writes and patches.
// Key material never leaves the Secret, this process's memory and the TLS context: logs carry
// fingerprints, dates and reasons only, and API errors are logged by status code.
import type {
  KubeConfig,
  V1Secret,
  V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { Server } from "node:https";
import {
  bundleIds,
  planCertificates,
  validityFor,
  DEFAULT_CERT_POLICY,
  type CaFacts,
  type CertPolicy,
  type CertState,
  type CertStep,
} from "../../core/certs/plan.js";
import type { Log } from "../../edge/log.js";
import { issueCa, issueServing, type IssuedPem, type KeyPair } from "../../edge/x509.js";
import { ApiError, KubeRest } from "../k8s/rest.js";
import { runWorkers, WorkQueue } from "../k8s/queue.js";

export const DEFAULT_CERT_SECRET = "nhi-operator-webhook-certs";
export const DEFAULT_SERVICE_NAME = "nhi-operator-webhook";

/** Secret keys. */
const K = {
  caCert: "ca.crt",
  caKey: "ca.key",
  pendingCert: "ca-pending.crt",
  pendingKey: "ca-pending.key",
  retired: "ca-retired.crt",
  bundle: "ca-bundle.crt",
  cert: "tls.crt",
  key: "tls.key",
} as const;

/** The names a Service's in-cluster DNS answers to. */
export function serviceDnsNames(
  service: string,
  namespace: string,
  clusterDomain = "cluster.local",
): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.${clusterDomain}`,
  ];
}

export interface SelfManagedOptions {
  namespace: string;
  secretName?: string;
  /** DNS names and IPv4 addresses the serving certificate covers. */
  names: string[];
  /** Whose caBundle to keep current; absent (404) is fine: nothing registered yet. */
  webhookConfigurationName: string;
  policy?: CertPolicy;
  /** Longest sleep between passes (also how soon a replica notices another's rotation). */
  resyncMs?: number;
  clock?: () => Date;
  logger: Log;
}

interface Material {
  signing?: IssuedPem;
  pending?: IssuedPem;
  retired: string[];
  serving?: IssuedPem;
}

const splitPems = (s: string | undefined): string[] =>
  (s ?? "").match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
const norm = (pem: string): string => (pem.endsWith("\n") ? pem : `${pem}\n`);

function parse(pem: string | undefined): X509Certificate | undefined {
  if (!pem) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

const facts = (c: X509Certificate): CaFacts => ({
  id: c.fingerprint256,
  notBefore: new Date(c.validFrom),
  notAfter: new Date(c.validTo),
});

/** A certificate and key that belong together, or undefined (a torn or foreign pair counts as absent). */
function pair(
  cert: string | undefined,
  key: string | undefined,
): { pem: IssuedPem; x: X509Certificate } | undefined {
  const x = parse(cert);
  if (!x || !key || !cert) return undefined;
  try {
    return x.checkPrivateKey(createPrivateKey(key))
      ? { pem: { certPem: cert, keyPem: key }, x }
      : undefined;
  } catch {
    return undefined;
  }
}

function sanNames(x: X509Certificate): string[] {
  return (x.subjectAltName ?? "")
    .split(/,\s*/)
    .map((e) => e.replace(/^(DNS|IP Address):/, ""))
    .filter((e) => e !== "");
}

/** Reads the facts the core decides on. */
export function stateOf(m: Material, published?: readonly string[]): CertState {
  const signing = parse(m.signing?.certPem);
  const pending = parse(m.pending?.certPem);
  const retired = m.retired.map(parse).filter((x): x is X509Certificate => x !== undefined);
  const serving = parse(m.serving?.certPem);
  const cas = [signing, pending, ...retired].filter((x): x is X509Certificate => x !== undefined);
  const issuer = serving
    ? cas.find((ca) => serving.checkIssued(ca) && serving.verify(ca.publicKey))
    : undefined;
  return {
    ...(signing ? { signing: facts(signing) } : {}),
    ...(pending ? { pending: facts(pending) } : {}),
    retired: retired.map(facts),
    ...(serving
      ? {
          serving: {
            notBefore: new Date(serving.validFrom),
            notAfter: new Date(serving.validTo),
            issuer: issuer?.fingerprint256,
            names: sanNames(serving),
          },
        }
      : {}),
    ...(published ? { published } : {}),
  };
}

function decode(secret: V1Secret | undefined): Material {
  const d = secret?.data ?? {};
  const s = (k: string): string | undefined =>
    d[k] === undefined ? undefined : Buffer.from(d[k], "base64").toString("utf8");
  const signing = pair(s(K.caCert), s(K.caKey));
  const pending = pair(s(K.pendingCert), s(K.pendingKey));
  const serving = pair(s(K.cert), s(K.key));
  return {
    ...(signing ? { signing: signing.pem } : {}),
    ...(pending ? { pending: pending.pem } : {}),
    retired: splitPems(s(K.retired)).map(norm),
    ...(serving ? { serving: serving.pem } : {}),
  };
}

export function bundlePem(m: Material, now: Date): string {
  const byId = new Map<string, string>();
  for (const pem of [m.pending?.certPem, m.signing?.certPem, ...m.retired]) {
    const x = parse(pem);
    if (x && pem) byId.set(x.fingerprint256, norm(pem));
  }
  return bundleIds(stateOf(m), now)
    .map((id) => byId.get(id) ?? "")
    .join("");
}

function encode(m: Material, now: Date): Record<string, string> {
  const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
  const out: Record<string, string> = {};
  if (m.signing) {
    out[K.caCert] = b64(m.signing.certPem);
    out[K.caKey] = b64(m.signing.keyPem);
  }
  if (m.pending) {
    out[K.pendingCert] = b64(m.pending.certPem);
    out[K.pendingKey] = b64(m.pending.keyPem);
  }
  if (m.retired.length > 0) out[K.retired] = b64(m.retired.join(""));
  if (m.serving) {
    out[K.cert] = b64(m.serving.certPem);
    out[K.key] = b64(m.serving.keyPem);
  }
  out[K.bundle] = b64(bundlePem(m, now));
  return out;
}

const code = (err: unknown): number | undefined =>
  err instanceof ApiError && err.status > 0 ? err.status : undefined;
/** For logs: the status code, never the message (an API error may echo what was sent). */
const describe = (err: unknown): string =>
  code(err) !== undefined ? `HTTP ${code(err)}` : err instanceof Error ? err.name : "error";

/** The one key of the certificate loop's queue. */
const KEY = "webhook-certificates";
/** First retry after a failed pass; doubles up to the queue's 5 minutes. */
const RETRY_AFTER_MS = 10_000;

export class SelfManagedCertificateSource {
  private readonly rest: KubeRest;
  private readonly queue = new WorkQueue("webhook-certificates", { baseDelayMs: RETRY_AFTER_MS });
  private workers: Promise<void> | undefined;
  private readonly policy: CertPolicy;
  private readonly secretName: string;
  private readonly configName: string;
  private readonly clock: () => Date;
  private server: Server | undefined;
  private served: KeyPair | undefined;
  private bundle = "";
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Passes that changed the Secret, for tests and metrics. */
  writes = 0;

  constructor(
    kc: KubeConfig,
    private readonly opts: SelfManagedOptions,
  ) {
    this.rest = new KubeRest(kc);
    this.policy = opts.policy ?? DEFAULT_CERT_POLICY;
    this.secretName = opts.secretName ?? DEFAULT_CERT_SECRET;
    this.configName = opts.webhookConfigurationName;
    this.clock = opts.clock ?? ((): Date => new Date());
  }

  /** The CA bundle to register the webhook with (after load()). */
  caBundlePem(): string {
    return this.bundle;
  }

  /** Creates or reuses the Secret, renews what is due; resolves with the pair to serve. */
  async load(): Promise<KeyPair> {
    const next = await this.pass();
    this.schedule(next);
    if (!this.served)
      throw new Error("self-managed certificates: no serving certificate after reconciling");
    return this.served;
  }

  /** Swaps the server's certificate whenever a pass changes it. */
  watch(server: Server): void {
    this.server = server;
    if (this.served) server.setSecureContext({ ...this.served, minVersion: "TLSv1.2" });
  }

  stop(): void {
    this.stopped = true;
    this.queue.shutdown();
  }

  /** One pass now (tests); resolves when done. */
  async syncNow(): Promise<void> {
    this.schedule(await this.pass());
  }

  /** Queues the next pass for `nextAt` (at most resyncMs away, at least a second); starts the worker once. */
  private schedule(nextAt: Date): void {
    if (this.stopped) return;
    this.workers ??= runWorkers(
      this.queue,
      1,
      async () => ({ requeueAfterMs: this.delayUntil(await this.pass()) }),
      {
        onError: (_key, err, retryInMs) =>
          this.opts.logger.warn("self-managed certificates: pass failed; retrying", {
            error: describe(err),
            retryInMs,
          }),
      },
    );
    this.queue.addAfter(KEY, this.delayUntil(nextAt));
  }

  private delayUntil(nextAt: Date): number {
    const resync = this.opts.resyncMs ?? 60_000;
    return Math.max(1_000, Math.min(resync, nextAt.getTime() - this.clock().getTime()));
  }

  private get secretPath(): string {
    return `/api/v1/namespaces/${this.opts.namespace}/secrets/${this.secretName}`;
  }

  private get configPath(): string {
    return `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${this.configName}`;
  }

  /** Serialised: one pass at a time in this process. */
  private pass(): Promise<Date> {
    const run = (this.running ?? Promise.resolve()).then(() => this.reconcile());
    this.running = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private readSecret(): Promise<V1Secret | undefined> {
    return this.rest.find<V1Secret>(this.secretPath);
  }

  private async publishedIds(): Promise<string[] | undefined> {
    const cfg = await this.rest.find<V1ValidatingWebhookConfiguration>(this.configPath);
    if (!cfg) return undefined;
    const ids = new Set<string>();
    for (const w of cfg.webhooks ?? []) {
      const b = w.clientConfig.caBundle;
      if (!b) continue;
      for (const pem of splitPems(Buffer.from(b, "base64").toString("utf8"))) {
        const x = parse(pem);
        if (x) ids.add(x.fingerprint256);
      }
    }
    return [...ids];
  }

  private apply(m: Material, step: CertStep, now: Date): Material {
    const caValidity = (): { notBefore: Date; notAfter: Date } =>
      validityFor(now, this.policy.caValidityMs, this.policy);
    switch (step.kind) {
      case "create-signing-ca": {
        const retired = m.signing ? [m.signing.certPem, ...m.retired] : m.retired;
        const { serving: _drop, ...rest } = m;
        return { ...rest, signing: issueCa("nhi-operator-webhook-ca", caValidity()), retired };
      }
      case "stage-ca":
        return { ...m, pending: issueCa("nhi-operator-webhook-ca", caValidity()) };
      case "promote-ca": {
        if (!m.pending) return m;
        const retired = m.signing ? [m.signing.certPem, ...m.retired] : m.retired;
        const { pending, ...rest } = m;
        return { ...rest, signing: pending, retired };
      }
      case "issue-serving": {
        if (!m.signing) return m;
        const ca = new X509Certificate(m.signing.certPem);
        const validity = validityFor(now, this.policy.servingValidityMs, this.policy, {
          notAfter: new Date(ca.validTo),
        });
        return { ...m, serving: issueServing(m.signing, this.opts.names, validity) };
      }
      case "drop-retired":
        return {
          ...m,
          retired: m.retired.filter((pem) => !step.ids.includes(parse(pem)?.fingerprint256 ?? "")),
        };
    }
  }

  private async reconcile(): Promise<Date> {
    for (let attempt = 0; ; attempt++) {
      const now = this.clock();
      const secret = await this.readSecret();
      const published = await this.publishedIds();
      let m = decode(secret);
      let plan = planCertificates(stateOf(m, published), this.opts.names, now, this.policy);
      let changed = false;
      for (let i = 0; i < 6 && plan.steps.length > 0; i++) {
        for (const step of plan.steps) {
          m = this.apply(m, step, now);
          this.opts.logger.info("self-managed certificates: " + step.kind, {
            reason: step.reason,
            secret: `${this.opts.namespace}/${this.secretName}`,
          });
        }
        changed = true;
        plan = planCertificates(stateOf(m, published), this.opts.names, now, this.policy);
      }
      if (changed) {
        const written = await this.write(secret, m, now);
        if (!written) {
          if (attempt >= 3)
            throw new Error("self-managed certificates: the Secret kept changing under us");
          continue; // another replica wrote first: decide again from what it wrote
        }
        this.writes++;
      }
      await this.publish(bundlePem(m, now), published);
      this.serve(m);
      return plan.nextCheckAt;
    }
  }

  /** Create or replace (guarded by resourceVersion); false on a conflict. */
  private async write(existing: V1Secret | undefined, m: Material, now: Date): Promise<boolean> {
    const body: V1Secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: {
        name: this.secretName,
        namespace: this.opts.namespace,
        labels: {
          "app.kubernetes.io/name": "nhi-operator",
          "app.kubernetes.io/component": "webhook-certs",
        },
        ...(existing?.metadata?.resourceVersion
          ? { resourceVersion: existing.metadata.resourceVersion }
          : {}),
      },
      data: encode(m, now),
    };
    try {
      if (existing) await this.rest.request("PUT", this.secretPath, { body });
      else
        await this.rest.request("POST", `/api/v1/namespaces/${this.opts.namespace}/secrets`, {
          body,
        });
      return true;
    } catch (err) {
      if (code(err) === 409) return false;
      throw err;
    }
  }

  /** Puts the bundle into every webhook of the configuration (read-modify-replace; a conflict waits for the next pass). */
  private async publish(bundle: string, published: readonly string[] | undefined): Promise<void> {
    this.bundle = bundle;
    if (published === undefined) return; // no configuration registered (yet)
    const want = Buffer.from(bundle, "utf8").toString("base64");
    try {
      const cfg = await this.rest.find<V1ValidatingWebhookConfiguration>(this.configPath);
      if (!cfg) return;
      const webhooks = cfg.webhooks ?? [];
      if (webhooks.every((w) => w.clientConfig.caBundle === want)) return;
      for (const w of webhooks) w.clientConfig.caBundle = want;
      await this.rest.request("PUT", this.configPath, { body: cfg });
      this.opts.logger.info("self-managed certificates: patched the caBundle", {
        configuration: this.configName,
        cas: splitPems(bundle).length,
      });
    } catch (err) {
      if (code(err) === 404) return;
      this.opts.logger.warn(
        "self-managed certificates: could not patch the caBundle; retrying next pass",
        { configuration: this.configName, error: describe(err) },
      );
    }
  }

  private serve(m: Material): void {
    if (!m.serving) return;
    const next: KeyPair = { cert: m.serving.certPem, key: m.serving.keyPem };
    if (this.served?.cert === next.cert) return;
    const first = this.served === undefined;
    this.served = next;
    if (this.server) this.server.setSecureContext({ ...next, minVersion: "TLSv1.2" });
    if (!first) {
      const x = new X509Certificate(next.cert);
      this.opts.logger.info("self-managed certificates: serving a new certificate", {
        fingerprint: x.fingerprint256,
        notAfter: x.validTo,
      });
    }
  }
}
