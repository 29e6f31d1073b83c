// The one process, two roles: every replica runs the cluster cache and serves the admission webhook
// from it; the replica holding the Lease also runs the reconcilers (operator/reconcilers.ts) on the
// same cache. The only composition root: flags in, parts wired, signals out.
import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { request as httpsRequest, type RequestOptions } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadCrdDocuments, repoRoot } from "../crds/load.js";
import { createValidator } from "../core/nhi/validate.js";
import { WEBHOOK_CONFIGURATION_NAME, notOurRegistration, webhookConfiguration, type FailurePolicy } from "../webhooks/config.js";
import { createAdmissionHandler } from "../webhooks/handler.js";
import { createLogger, type Log } from "../edge/log.js";
import { WebhookMetrics } from "../webhooks/metrics.js";
import { startWebhookServer, type RunningWebhookServer } from "../webhooks/server/app.js";
import { devServingCert } from "../webhooks/server/dev-certs.js";
import { FileCertificateSource } from "../webhooks/server/tls.js";
import type { CertPolicy } from "../core/certs/plan.js";
import { ClusterCache } from "./k8s/cache/cluster-cache.js";
import { parseDuration } from "../core/nhi/duration.js";
import { CONTROLLER_DEFAULTS, inventoryRoute, startLeaderRole, type ControllerOptions, type LeaderRole } from "./reconcilers.js";
import { ELECTION_DEFAULTS, electionTimingProblem } from "./k8s/leader.js";
import { DEFAULT_CERT_SECRET, DEFAULT_SERVICE_NAME, SelfManagedCertificateSource, serviceDnsNames } from "./certs/self-managed.js";

export interface OperatorOptions {
  kubeconfig?: string;
  host: string;
  port: number;
  metricsHost: string;
  metricsPort: number;
  /** Serving certificate files (reloaded when they change)… */
  certFile?: string;
  keyFile?: string;
  /** …or a throwaway CA + loopback certificate kept in this folder (out-of-cluster development)… */
  devCertDir?: string;
  /** …or self-managed: a CA + serving certificate in a Secret of ownNamespace, renewed, caBundle patched. */
  selfManagedCerts?: { secretName: string; serviceName: string; extraNames: string[]; webhookConfigurationName?: string; policy?: CertPolicy; resyncMs?: number };
  /** Require the caller's TLS client certificate signed by this CA (the API server's admission kubeconfig). */
  clientCaFile?: string;
  /** Apply crds/ before starting. */
  installCrds: boolean;
  /** Register the ValidatingWebhookConfiguration with this URL (out of cluster); "auto": our own URL. */
  registerUrl?: string;
  failurePolicy: FailurePolicy;
  ownNamespace: string;
  /** A watch silent this long is relisted; also the /readyz limit. */
  stallAfterMs: number;
  /** Campaign for the Lease and run the reconcilers when elected (the CLI's default; off with --no-controllers). */
  controllers?: ControllerOptions;
  /** The Lease was lost (the reconcilers are already stopped); main() exits so a fresh process campaigns. */
  onLostLeadership?: () => void;
}

export const DEFAULTS: OperatorOptions = {
  host: "0.0.0.0", port: 8443, metricsHost: "0.0.0.0", metricsPort: 8080, installCrds: false,
  failurePolicy: "Fail", ownNamespace: "nhi-system", stallAfterMs: 180_000,
};

export interface RunningOperator {
  cache: ClusterCache;
  server: RunningWebhookServer;
  /** The self-managed certificate loop, when --self-managed-certs. */
  certificates?: SelfManagedCertificateSource;
  leader?: LeaderRole;
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
    await api.patch(obj as KubernetesObject, undefined, undefined, "nhi-operator", true, PatchStrategy.ServerSideApply);
  }
}

export async function startOperator(opts: OperatorOptions, logger: Log = createLogger()): Promise<RunningOperator> {
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
      namespace: opts.ownNamespace, secretName: sm.secretName, logger,
      ...(sm.webhookConfigurationName ? { webhookConfigurationName: sm.webhookConfigurationName } : {}),
      ...(sm.policy ? { policy: sm.policy } : {}), ...(sm.resyncMs ? { resyncMs: sm.resyncMs } : {}),
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

  const metrics = new WebhookMetrics({ defaultMetrics: true, cache });
  const handle = createAdmissionHandler({ view: cache, validator: createValidator(loadCrdDocuments()), logger, metrics });
  let leader: LeaderRole | undefined;
  const server = await startWebhookServer({
    handle, tls, host: opts.host, port: opts.port, ...(opts.clientCaFile ? { clientCa: readFileSync(opts.clientCaFile, "utf8") } : {}), metricsHost: opts.metricsHost, metricsPort: opts.metricsPort, metrics, logger,
    ...(opts.controllers ? { routes: { "/inventory": inventoryRoute(() => leader) } } : {}),
    readiness: () => {
      const ages = cache.lastEventAgeSeconds();
      const stale = Object.entries(ages).filter(([, age]) => age * 1000 > opts.stallAfterMs * 2).map(([k]) => k);
      return { ready: cache.synced() && stale.length === 0, detail: { synced: cache.synced(), stale, lastEventAgeSeconds: ages } };
    },
  });
  certs.watch(server.https);
  if (opts.controllers) {
    const address = opts.controllers.address ?? leaderAddress(process.env.POD_IP, opts.metricsHost, (server.http.address() as AddressInfo).port);
    leader = startLeaderRole(kc, cache, { ...opts.controllers, leaseNamespace: opts.controllers.leaseNamespace ?? opts.ownNamespace, ...(address ? { address } : {}) },
      { registry: metrics.registry, logger, ...(opts.onLostLeadership ? { onLostLeadership: opts.onLostLeadership } : {}) });
  }
  logger.info("webhook serving", { url: server.url, metrics: server.metricsUrl });

  let registeredUrl: string | undefined;
  if (opts.registerUrl) {
    await cache.waitForSync();
    const url = opts.registerUrl === "auto" ? server.url : opts.registerUrl;
    if (!caBundlePem) throw new Error("--register-webhook needs the CA bundle: use the development or self-managed certificate (no --cert-file)");
    await serverSideApply(kc, [webhookConfiguration({ url, caBundlePem, ownNamespace: opts.ownNamespace, failurePolicy: opts.failurePolicy })]);
    registeredUrl = url;
    logger.info("registered the ValidatingWebhookConfiguration", { url, failurePolicy: opts.failurePolicy });
    // From now on the self-managed source keeps the registered caBundle current.
    if (certs instanceof SelfManagedCertificateSource) await certs.syncNow();
  }
  // A registration that points at this process goes with it: a dead url under failurePolicy Fail
  // would block the dev cluster. Only ours, though: another process may have re-registered the
  // name with its own URL or CA since, and the delete is conditional on the version we checked.
  const deregister = async (): Promise<void> => {
    if (registeredUrl === undefined) return;
    const api = KubernetesObjectApi.makeApiClient(kc);
    const ref = { apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: WEBHOOK_CONFIGURATION_NAME } };
    const ours = { url: registeredUrl, caBundlePem: certs instanceof SelfManagedCertificateSource ? certs.caBundlePem() : (caBundlePem ?? "") };
    try {
      const live = await api.read(ref);
      const notOurs = notOurRegistration(live, ours);
      if (notOurs !== undefined) {
        logger.info("left the ValidatingWebhookConfiguration in place: another process registered it", { name: WEBHOOK_CONFIGURATION_NAME, why: notOurs });
        return;
      }
      const { uid, resourceVersion } = live.metadata ?? {};
      await api.delete(ref, undefined, undefined, undefined, undefined, undefined, { preconditions: { ...(uid ? { uid } : {}), ...(resourceVersion ? { resourceVersion } : {}) } });
      logger.info("removed the ValidatingWebhookConfiguration", { name: WEBHOOK_CONFIGURATION_NAME });
    } catch (err) {
      logger.warn("could not remove the ValidatingWebhookConfiguration", { error: err instanceof Error ? err.message : String(err) });
    }
  };

  return {
    cache, server, ...(caBundlePem ? { caBundlePem } : {}),
    ...(certs instanceof SelfManagedCertificateSource ? { certificates: certs } : {}), ...(leader ? { leader } : {}),
    close: async () => {
      await deregister();
      await leader?.stop();
      certs?.stop();
      cache.stop();
      await server.close();
    },
  };
}

/**
 * Where this replica's /inventory can be reached, recorded on the Lease while it leads: $POD_IP (the
 * chart passes it from the downward API), else the metrics host when it names one address.
 */
export function leaderAddress(podIp: string | undefined, metricsHost: string, port: number): string | undefined {
  const host = podIp || (metricsHost === "0.0.0.0" || metricsHost === "::" || metricsHost === "" ? undefined : metricsHost);
  if (host === undefined) return undefined;
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

const USAGE = `usage: node dist/operator/main.js [options]
  --kubeconfig PATH          kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --host ADDR --port N       webhook HTTPS listener (default 0.0.0.0:8443)
  --metrics-host ADDR --metrics-port N   /healthz /readyz /metrics (default 0.0.0.0:8080)
  --cert-file F --key-file F serving certificate, reloaded when the files change
  --dev-cert-dir DIR         without --cert-file: a throwaway CA + localhost certificate kept in DIR
  --self-managed-certs       instead: a CA + serving certificate kept in a Secret of --namespace, renewed
                             before expiry (CA rotated with an overlap), caBundle of the webhook patched
    --cert-secret NAME       that Secret (default ${DEFAULT_CERT_SECRET})
    --service-name NAME      the Service whose DNS names the certificate covers (default ${DEFAULT_SERVICE_NAME})
    --cert-names A,B         more DNS names / IPv4 addresses for the certificate
  --client-ca-file F         accept only callers presenting a client certificate signed by this CA
                             (the API server, through its admission configuration's kubeconfig)
  --install-crds             apply crds/ first
  --register-webhook URL|auto  register the ValidatingWebhookConfiguration pointing at URL (auto: this process)
  --failure-policy Fail|Ignore (default Fail)   --namespace NS (own namespace, never judged; default nhi-system)
  --no-controllers           serve the webhook only: never campaign for the Lease, never run the reconcilers
  --lease-name NAME          the reconcilers' Lease (default ${CONTROLLER_DEFAULTS.leaseName})
  --lease-namespace NS       its namespace (default: --namespace)
  --identity ID              this replica in the Lease (default <$POD_NAME or hostname>_<random>)
  --lease-duration DUR       a Lease not renewed this long may be taken over (default ${ELECTION_DEFAULTS.leaseDurationMs / 1000}s, whole seconds)
  --renew-deadline DUR       the leader stops leading when it could not renew this long (default ${ELECTION_DEFAULTS.renewDeadlineMs / 1000}s)
  --retry-period DUR         how often replicas try to acquire or renew the Lease (default ${ELECTION_DEFAULTS.retryPeriodMs / 1000}s)
  --api-qps N --api-burst N  rate limit of the reconcilers' API calls (default ${CONTROLLER_DEFAULTS.qps}/s, bursts of ${CONTROLLER_DEFAULTS.burst})
  --unused-after DUR         an identity without pods or use this long is Unused (default 720h)
  --token-overlap DUR        a verified new token and the old one overlap this long before the old is revoked
  --kubeconfig-server URL    server URL written into issued kubeconfigs (default: this kubeconfig's)
  The leader serves GET /inventory[?namespace=NS] on the metrics port; followers answer 503 naming the
  leader (its identity, pod, and $POD_IP:metrics-port as recorded on the Lease).`;

const managed = (): NonNullable<OperatorOptions["selfManagedCerts"]> => ({ secretName: DEFAULT_CERT_SECRET, serviceName: DEFAULT_SERVICE_NAME, extraNames: [] });

export function parseArgs(argv: string[]): OperatorOptions {
  const o: OperatorOptions = { ...DEFAULTS, controllers: { ...CONTROLLER_DEFAULTS } };
  const ctl = (): ControllerOptions => (o.controllers ??= { ...CONTROLLER_DEFAULTS });
  let noControllers = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] ?? "";
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    const num = (): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} needs a port number`);
      return n;
    };
    const positive = (): number => {
      const n = Number(value());
      if (!(n > 0)) throw new Error(`${flag} needs a positive number`);
      return n;
    };
    const duration = (): number => {
      const v = value();
      try {
        return parseDuration(v);
      } catch {
        throw new Error(`${flag} needs a duration such as 90s, 20m or 720h (got ${JSON.stringify(v)})`);
      }
    };
    switch (flag) {
      case "--kubeconfig": o.kubeconfig = value(); break;
      case "--host": o.host = value(); break;
      case "--port": o.port = num(); break;
      case "--metrics-host": o.metricsHost = value(); break;
      case "--metrics-port": o.metricsPort = num(); break;
      case "--cert-file": o.certFile = value(); break;
      case "--key-file": o.keyFile = value(); break;
      case "--dev-cert-dir": o.devCertDir = value(); break;
      case "--self-managed-certs": o.selfManagedCerts = { ...managed(), ...o.selfManagedCerts }; break;
      case "--cert-secret": o.selfManagedCerts = { ...managed(), ...o.selfManagedCerts, secretName: value() }; break;
      case "--service-name": o.selfManagedCerts = { ...managed(), ...o.selfManagedCerts, serviceName: value() }; break;
      case "--cert-names": o.selfManagedCerts = { ...managed(), ...o.selfManagedCerts, extraNames: value().split(",").map((n) => n.trim()).filter((n) => n !== "") }; break;
      case "--client-ca-file": o.clientCaFile = value(); break;
      case "--install-crds": o.installCrds = true; break;
      case "--register-webhook": o.registerUrl = value(); break;
      case "--failure-policy": {
        const v = value();
        if (v !== "Fail" && v !== "Ignore") throw new Error("--failure-policy is Fail or Ignore");
        o.failurePolicy = v;
        break;
      }
      case "--namespace": o.ownNamespace = value(); break;
      case "--no-controllers": noControllers = true; break;
      case "--lease-name": ctl().leaseName = value(); break;
      case "--lease-namespace": ctl().leaseNamespace = value(); break;
      case "--identity": ctl().identity = value(); break;
      case "--lease-duration": ctl().election = { ...ELECTION_DEFAULTS, ...ctl().election, leaseDurationMs: duration() }; break;
      case "--renew-deadline": ctl().election = { ...ELECTION_DEFAULTS, ...ctl().election, renewDeadlineMs: duration() }; break;
      case "--retry-period": ctl().election = { ...ELECTION_DEFAULTS, ...ctl().election, retryPeriodMs: duration() }; break;
      case "--api-qps": ctl().qps = positive(); break;
      case "--api-burst": ctl().burst = positive(); break;
      case "--unused-after": ctl().unusedAfterMs = duration(); break;
      case "--token-overlap": ctl().tokenOverlapMs = duration(); break;
      case "--kubeconfig-server": ctl().kubeconfigServer = value(); break;
      case "--help": case "-h": throw new Error(USAGE);
      default: throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  if ((o.certFile === undefined) !== (o.keyFile === undefined)) throw new Error("--cert-file and --key-file go together");
  if (noControllers) delete o.controllers;
  const timingProblem = o.controllers?.election ? electionTimingProblem(o.controllers.election) : undefined;
  if (timingProblem !== undefined) throw new Error(timingProblem);
  if (o.selfManagedCerts && (o.certFile || o.devCertDir)) throw new Error("--self-managed-certs excludes --cert-file and --dev-cert-dir");
  return o;
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

async function main(): Promise<void> {
  if (process.argv[2] === "--probe") {
    process.exitCode = (await probe(process.argv[3])) ? 0 : 1;
    return;
  }
  const logger = createLogger();
  let opts: OperatorOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  opts.onLostLeadership = () => {
    logger.warn("lost leadership: exiting so a fresh process campaigns again");
    process.exit(1);
  };
  const killAfter = process.env.NHI_TEST_KILL_AFTER_STEP;
  if (killAfter && opts.controllers) {
    // Test hook "<step>[@<ns/nhi prefix>]" (e2e crash tests): SIGKILL right after performing that rotation step.
    const [step, prefix = ""] = killAfter.split("@");
    opts.controllers.afterStep = (kind, key) => {
      if (kind !== step || !key.startsWith(prefix)) return;
      logger.warn("test hook: killing the process after a rotation step", { step: kind, key });
      process.kill(process.pid, "SIGKILL");
    };
  }
  const running = await startOperator(opts, logger);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info("stopping", { signal });
    running.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`nhi-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
