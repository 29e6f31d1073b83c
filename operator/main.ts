// The one process, two roles: every replica runs the cluster cache and serves the admission webhook
// from it; the replica holding the Lease also runs the reconcilers (operator/reconcilers.ts) on the
// same cache. The only composition root: flags in, parts wired, signals out.
import {
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { request as httpsRequest, type RequestOptions } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadCrdDocuments, repoRoot } from "../crds/load.js";
import { createValidator } from "../core/nhi/validate.js";
import {
  WEBHOOK_CONFIGURATION_NAME,
  notOurRegistration,
  webhookConfiguration,
} from "../webhooks/config.js";
import { createAdmissionHandler } from "../webhooks/handler.js";
import { createLogger, type Log } from "../edge/log.js";
import { WebhookMetrics } from "../webhooks/metrics.js";
import { startWebhookServer, type RunningWebhookServer } from "../webhooks/server/app.js";
import { devServingCert } from "../webhooks/server/dev-certs.js";
import { ClientCaFile, FileCertificateSource } from "../webhooks/server/tls.js";
import { ClusterCache } from "./k8s/cache/cluster-cache.js";
import { inventoryRoute, startLeaderRole, type LeaderRole } from "./reconcilers.js";
import { SelfManagedCertificateSource, serviceDnsNames } from "./certs/self-managed.js";
import {
  AUDIT_BASELINE_DEFAULTS,
  HelpRequested,
  parseArgs,
  type OperatorOptions,
} from "./flags.js";
import type { Registry } from "prom-client";
import {
  AuditDetector,
  Baseline,
  declarationOf,
  podIPIndex,
  UsageRecorder,
  type AuditFinding,
} from "../core/audit/index.js";
import { withFinding } from "../core/audit/response.js";
import { AnomalyWriter } from "./k8s/anomalies.js";
import { baselineState, startBaselineStore, usageState } from "./audit/baseline-store.js";
import { startRightsizer } from "./audit/rightsize.js";
import { parseServiceAccountIdentity } from "../core/policy/settings.js";
import { startAuditSink, type RunningAuditSink } from "./audit/sink.js";
import { EventRecorder } from "./k8s/events.js";
import { KubeRest } from "./k8s/rest.js";

export { DEFAULTS, HelpRequested, parseArgs, type OperatorOptions } from "./flags.js";

export interface RunningOperator {
  cache: ClusterCache;
  server: RunningWebhookServer;
  /** The self-managed certificate loop, when --self-managed-certs. */
  certificates?: SelfManagedCertificateSource;
  leader?: LeaderRole;
  auditSink?: RunningAuditSink;
  caBundlePem?: string;
  close(): Promise<void>;
}

function kubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

async function serverSideApply(kc: KubeConfig, objects: unknown[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const obj of objects) {
    await api.patch(
      obj as KubernetesObject,
      undefined,
      undefined,
      "nhi-operator",
      true,
      PatchStrategy.ServerSideApply,
    );
  }
}

export async function startOperator(
  opts: OperatorOptions,
  logger: Log = createLogger(),
): Promise<RunningOperator> {
  const kc = kubeConfig(opts.kubeconfig);
  if (opts.installCrds) {
    await serverSideApply(kc, loadCrdDocuments());
    logger.info("installed the CRDs", { server: kc.getCurrentCluster()?.server });
  }
  const cache = new ClusterCache(kc, { logger, stallAfterMs: opts.stallAfterMs });
  cache.start();

  let tls: { cert: string; key: string };
  let certs: FileCertificateSource | SelfManagedCertificateSource | undefined;
  let caBundlePem: string | undefined;
  if (opts.selfManagedCerts) {
    const sm = opts.selfManagedCerts;
    const managed = new SelfManagedCertificateSource(kc, {
      namespace: opts.ownNamespace,
      secretName: sm.secretName,
      logger,
      webhookConfigurationName: sm.webhookConfigurationName || WEBHOOK_CONFIGURATION_NAME,
      ...(sm.policy ? { policy: sm.policy } : {}),
      ...(sm.resyncMs ? { resyncMs: sm.resyncMs } : {}),
      names: [...serviceDnsNames(sm.serviceName, opts.ownNamespace), ...sm.extraNames],
    });
    certs = managed;
    tls = await managed.load();
    caBundlePem = managed.caBundlePem();
  } else if (opts.certFile && opts.keyFile) {
    certs = new FileCertificateSource(opts.certFile, opts.keyFile, logger);
    tls = certs.load();
  } else {
    const dev = devServingCert(opts.devCertDir ?? join(repoRoot(), ".run", "certs"));
    certs = new FileCertificateSource(dev.certFile, dev.keyFile, logger);
    tls = certs.load();
    caBundlePem = dev.caPem;
  }

  const clientCa = opts.clientCaFile ? new ClientCaFile(opts.clientCaFile, logger) : undefined;
  const metrics = new WebhookMetrics({ defaultMetrics: true, cache });
  const handle = createAdmissionHandler({
    view: cache,
    validator: createValidator(loadCrdDocuments()),
    logger,
    metrics,
  });
  let leader: LeaderRole | undefined;
  const server = await startWebhookServer({
    handle,
    tls,
    host: opts.host,
    port: opts.port,
    ...(clientCa ? { clientCa: clientCa.load() } : {}),
    metricsHost: opts.metricsHost,
    metricsPort: opts.metricsPort,
    metrics,
    logger,
    ...(opts.controllers ? { routes: { "/inventory": inventoryRoute(() => leader) } } : {}),
    readiness: () => {
      const ages = cache.lastEventAgeSeconds();
      const stale = Object.entries(ages)
        .filter(([, age]) => age * 1000 > opts.stallAfterMs * 2)
        .map(([k]) => k);
      return {
        ready: cache.synced() && stale.length === 0,
        detail: { synced: cache.synced(), stale, lastEventAgeSeconds: ages },
      };
    },
  });
  certs.watch(server.https);
  clientCa?.watch(server.setClientCa);
  if (opts.controllers) {
    const address =
      opts.controllers.address ??
      leaderAddress(
        process.env.POD_IP,
        opts.metricsHost,
        (server.http.address() as AddressInfo).port,
      );
    leader = startLeaderRole(
      kc,
      cache,
      {
        ...opts.controllers,
        leaseNamespace: opts.controllers.leaseNamespace ?? opts.ownNamespace,
        ...(address ? { address } : {}),
      },
      {
        registry: metrics.registry,
        logger,
        ...(opts.onLostLeadership ? { onLostLeadership: opts.onLostLeadership } : {}),
      },
    );
  }
  logger.info("webhook serving", { url: server.url, metrics: server.metricsUrl });
  const auditSink = opts.auditSink
    ? await startOperatorAuditSink(
        kc,
        cache,
        opts.auditSink,
        metrics.registry,
        logger,
        opts.ownNamespace,
      )
    : undefined;

  let registeredUrl: string | undefined;
  if (opts.registerUrl) {
    await cache.waitForSync();
    const url = opts.registerUrl === "auto" ? server.url : opts.registerUrl;
    if (!caBundlePem)
      throw new Error(
        "--register-webhook needs the CA bundle: use the development or self-managed certificate (no --cert-file)",
      );
    await serverSideApply(kc, [
      webhookConfiguration({
        url,
        caBundlePem,
        ownNamespace: opts.ownNamespace,
        failurePolicy: opts.failurePolicy,
      }),
    ]);
    registeredUrl = url;
    logger.info("registered the ValidatingWebhookConfiguration", {
      url,
      failurePolicy: opts.failurePolicy,
    });
    // From now on the self-managed source keeps the registered caBundle current.
    if (certs instanceof SelfManagedCertificateSource) await certs.syncNow();
  }
  // A registration that points at this process goes with it: a dead url under failurePolicy Fail
  // would block the dev cluster. Only ours, though: another process may have re-registered the
  // name with its own URL or CA since, and the delete is conditional on the version we checked.
  const deregister = async (): Promise<void> => {
    if (registeredUrl === undefined) return;
    const api = KubernetesObjectApi.makeApiClient(kc);
    const ref = {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: WEBHOOK_CONFIGURATION_NAME },
    };
    const ours = {
      url: registeredUrl,
      caBundlePem:
        certs instanceof SelfManagedCertificateSource ? certs.caBundlePem() : (caBundlePem ?? ""),
    };
    try {
      const live = await api.read(ref);
      const notOurs = notOurRegistration(live, ours);
      if (notOurs !== undefined) {
        logger.info(
          "left the ValidatingWebhookConfiguration in place: another process registered it",
          { name: WEBHOOK_CONFIGURATION_NAME, why: notOurs },
        );
        return;
      }
      const { uid, resourceVersion } = live.metadata ?? {};
      await api.delete(ref, undefined, undefined, undefined, undefined, undefined, {
        preconditions: { ...(uid ? { uid } : {}), ...(resourceVersion ? { resourceVersion } : {}) },
      });
      logger.info("removed the ValidatingWebhookConfiguration", {
        name: WEBHOOK_CONFIGURATION_NAME,
      });
    } catch (err) {
      logger.warn("could not remove the ValidatingWebhookConfiguration", {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  };

  return {
    cache,
    server,
    ...(caBundlePem ? { caBundlePem } : {}),
    ...(certs instanceof SelfManagedCertificateSource ? { certificates: certs } : {}),
    ...(leader ? { leader } : {}),
    ...(auditSink ? { auditSink } : {}),
    close: async () => {
      await auditSink?.close();
      await deregister();
      await leader?.stop();
      certs?.stop();
      clientCa?.stop();
      cache.stop();
      await server.close();
    },
  };
}

/**
 * The audit sink judged against the cache: NHIs by ServiceAccount, pods' IPs (rebuilt when a Pod
 * changes). Each new finding is a Warning Event on the NHI (or the ServiceAccount when unclaimed)
 * and a record in the NHI's status.anomalies (updated as it grows).
 */
async function startOperatorAuditSink(
  kc: KubeConfig,
  cache: ClusterCache,
  o: NonNullable<OperatorOptions["auditSink"]>,
  registry: Registry,
  logger: Log,
  ownNamespace: string,
): Promise<RunningAuditSink> {
  const rest = new KubeRest(kc);
  // Pods (their IPs) are inventory informers: the sink holds them on every replica, whoever leads.
  cache.startInventory("audit-sink").catch((err: unknown) =>
    logger.warn("audit sink: the pod cache did not sync; token-off-pod is judged once it does", {
      error: err instanceof Error ? err.message : String(err),
    }),
  );
  let pods: ReturnType<typeof podIPIndex> | undefined;
  cache.onChange((c) => {
    if (c.kind === "Pod") pods = undefined;
  });
  // The learned habits (new-behaviour), kept in ConfigMaps of our namespace across restarts.
  const b = { ...AUDIT_BASELINE_DEFAULTS, ...o.baseline };
  const baseline = new Baseline({ learningSeconds: Math.round(b.learningMs / 1000) });
  const baselineStore = await startBaselineStore({
    rest,
    namespace: ownNamespace,
    name: b.configMap,
    state: baselineState(baseline),
    intervalMs: b.writeIntervalMs,
    logger,
  });
  const declaration = (namespace: string, name: string) => {
    const nhi = cache.directory.nhiFor({ namespace, name });
    return nhi ? declarationOf(nhi) : undefined;
  };
  // What each identity exercised (bounded), for status.rightsize once the learning window passed;
  // stored beside the baseline, so it survives a restart and every replica proposes from all traffic.
  const usage = new UsageRecorder();
  const usageStore = await startBaselineStore({
    rest,
    namespace: ownNamespace,
    name: `${b.configMap}-usage`,
    state: usageState(usage),
    intervalMs: b.writeIntervalMs,
    logger,
  });
  const detector = new AuditDetector(
    {
      declaration,
      podIPs: (namespace, pod) => (pods ??= podIPIndex(cache.snapshot().workloads))(namespace, pod),
    },
    { trustedMinters: await withOwnIdentity(o.trustedMinters, rest, logger) },
    { baseline, usage },
  );
  const events = new EventRecorder(rest);
  const anomalies = new AnomalyWriter(rest);
  const rightsizer = startRightsizer({
    usage,
    grantsOf: (sa) => cache.grantsOf(sa),
    declaration,
    writer: anomalies,
    learningMs: b.learningMs,
    logger,
  });
  // status.anomalies on the claiming NHI: its BehaviourAnomalous condition, its PolicyReport
  // results and its onAnomaly response are derived from there by the leader's reconcilers.
  const keep = (f: AuditFinding): void => {
    if (!f.nhi) return;
    const [ns = "", name = ""] = f.nhi.split("/");
    anomalies
      .update(ns, name, (nhi) => withFinding(nhi.status?.anomalies, f))
      .catch((err: unknown) =>
        logger.warn("could not record the finding on the NHI's status", {
          nhi: f.nhi,
          rule: f.rule,
          error: err instanceof Error ? err.message : String(err),
        }),
      );
  };
  // The certificate files may be a Secret the operator itself creates (the chart mounts the webhook's
  // self-managed one, optional): wait for them a while, then follow their renewals.
  const certs = new FileCertificateSource(o.certFile, o.keyFile, logger);
  const tls = await loadWhenPresent(certs, 120_000, logger);
  const sink = await startAuditSink({
    host: o.host,
    port: o.port,
    tls,
    detector,
    registry,
    logger,
    onUpdate: keep,
    onFinding: (f) => {
      keep(f);
      logger.warn("runtime detection finding", {
        identity: f.identity,
        nhi: f.nhi,
        rule: f.rule,
        severity: f.severity,
        message: f.message,
      });
      const sa = parseServiceAccountIdentity(f.identity);
      const [ns, name] = f.nhi ? f.nhi.split("/") : [sa?.namespace, sa?.name];
      if (!ns || !name) return;
      const target = f.nhi
        ? { apiVersion: "nhi.io/v1alpha1", kind: "NonHumanIdentity", namespace: ns, name }
        : { apiVersion: "v1", kind: "ServiceAccount", namespace: ns, name };
      void events
        .record({
          target,
          type: "Warning",
          reason: "BehaviourAnomalous",
          message: `${f.rule} (${f.severity}): ${f.message}`,
        })
        .catch((err: unknown) =>
          logger.warn("could not record the finding's Event", {
            error: err instanceof Error ? err.message : String(err),
          }),
        );
    },
  });
  certs.watch(sink.server);
  return {
    ...sink,
    close: async () => {
      certs.stop();
      rightsizer.stop();
      await sink.close();
      await Promise.all([baselineStore.stop(), usageStore.stop()]);
    },
  };
}

/** The key pair once its files are readable, polling every 2 s for up to `timeoutMs`. */
async function loadWhenPresent(
  certs: FileCertificateSource,
  timeoutMs: number,
  logger: Log,
): Promise<{ cert: string; key: string }> {
  const until = Date.now() + timeoutMs;
  for (let warned = false; ; warned = true) {
    try {
      return certs.load();
    } catch (err) {
      if (Date.now() >= until) throw err;
      if (!warned)
        logger.warn("audit sink: waiting for its certificate files", {
          certFile: certs.certFile,
          error: err instanceof Error ? err.message : String(err),
        });
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/**
 * The trusted minters and this process's own identity (SelfSubjectReview): the operator mints the
 * tokens of ServiceAccountToken credentials, and their use is not "minted elsewhere".
 */
export async function withOwnIdentity(
  minters: readonly string[],
  rest: KubeRest,
  logger: Log,
): Promise<string[]> {
  try {
    const r = await rest.request<{ status?: { userInfo?: { username?: string } } }>(
      "POST",
      "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      { body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" } },
    );
    const me = r.status?.userInfo?.username;
    if (me && !minters.includes(me)) {
      logger.info("audit sink: trusting this operator's own TokenRequests", { identity: me });
      return [...minters, me];
    }
  } catch (err) {
    logger.warn(
      "audit sink: could not learn this operator's own identity; pass --audit-trusted-minter",
      {
        error: err instanceof Error ? err.message : String(err),
      },
    );
  }
  return [...minters];
}

/**
 * Where this replica's /inventory can be reached, recorded on the Lease while it leads: $POD_IP (the
 * chart passes it from the downward API), else the metrics host when it names one address.
 */
export function leaderAddress(
  podIp: string | undefined,
  metricsHost: string,
  port: number,
): string | undefined {
  const host =
    podIp ||
    (metricsHost === "0.0.0.0" || metricsHost === "::" || metricsHost === ""
      ? undefined
      : metricsHost);
  if (host === undefined) return undefined;
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Exit status 0 when the kubeconfig's API server answers /version within 3 s (make run picks a cluster with it). */
async function probe(kubeconfig?: string): Promise<boolean> {
  try {
    const kc = kubeConfig(kubeconfig);
    const server = kc.getCurrentCluster()?.server;
    if (!server) return false;
    const options: RequestOptions = { method: "GET", timeout: 3000 };
    await kc.applyToHTTPSOptions(options);
    return await new Promise<boolean>((resolve) => {
      const req = httpsRequest(new URL("/version", server), options, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(false));
      req.end();
    });
  } catch {
    return false;
  }
}

/**
 * The process: flags parsed, the operator started, signals handled. `prepare` may adjust the options
 * before the start; the production binary passes none (the e2e harness's entry point,
 * e2e/harness/operator-with-hooks.ts, adds its crash hook there, so no test hook ships).
 */
export async function runOperatorProcess(
  argv: string[],
  prepare?: (opts: OperatorOptions, logger: Log) => void,
): Promise<void> {
  if (argv[0] === "--probe") {
    process.exitCode = (await probe(argv[1])) ? 0 : 1;
    return;
  }
  const logger = createLogger();
  let opts: OperatorOptions;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${err.message}\n`);
      return;
    }
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  opts.onLostLeadership = () => {
    logger.warn("lost leadership: exiting so a fresh process campaigns again");
    process.exit(1);
  };
  prepare?.(opts, logger);
  const running = await startOperator(opts, logger);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info("stopping", { signal });
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runOperatorProcess(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`nhi-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
