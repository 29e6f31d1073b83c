// The one process: on every replica, the cluster cache and the admission webhook served from it.
// (Leader-elected reconcilers join here later.) A composition root: flags in, parts wired, signals out.
import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadCrdDocuments, repoRoot } from "../crds/load.js";
import { createValidator } from "../core/nhi/validate.js";
import { WEBHOOK_CONFIGURATION_NAME, webhookConfiguration, type FailurePolicy } from "../webhooks/config.js";
import { createAdmissionHandler } from "../webhooks/handler.js";
import { createLogger, type Logger } from "../webhooks/log.js";
import { WebhookMetrics } from "../webhooks/metrics.js";
import { startWebhookServer, type RunningWebhookServer } from "../webhooks/server/app.js";
import { devServingCert } from "../webhooks/server/dev-certs.js";
import { FileCertificateSource } from "../webhooks/server/tls.js";
import { ClusterCache } from "./cache/cluster-cache.js";

export interface OperatorOptions {
  kubeconfig?: string;
  host: string;
  port: number;
  metricsHost: string;
  metricsPort: number;
  /** Serving certificate files (reloaded when they change)… */
  certFile?: string;
  keyFile?: string;
  /** …or a throwaway CA + loopback certificate kept in this folder (out-of-cluster development). */
  devCertDir?: string;
  /** Apply crds/ before starting. */
  installCrds: boolean;
  /** Register the ValidatingWebhookConfiguration with this URL (out of cluster); "auto": our own URL. */
  registerUrl?: string;
  failurePolicy: FailurePolicy;
  ownNamespace: string;
  /** A watch silent this long is relisted; also the /readyz limit. */
  stallAfterMs: number;
}

export const DEFAULTS: OperatorOptions = {
  host: "0.0.0.0", port: 8443, metricsHost: "0.0.0.0", metricsPort: 8080, installCrds: false,
  failurePolicy: "Fail", ownNamespace: "nhi-system", stallAfterMs: 180_000,
};

export interface RunningOperator {
  cache: ClusterCache;
  server: RunningWebhookServer;
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

export async function startOperator(opts: OperatorOptions, logger: Logger = createLogger()): Promise<RunningOperator> {
  const kc = kubeConfig(opts.kubeconfig);
  if (opts.installCrds) {
    await serverSideApply(kc, loadCrdDocuments());
    logger.info("installed the CRDs", { server: kc.getCurrentCluster()?.server });
  }
  const cache = new ClusterCache(kc, { logger, stallAfterMs: opts.stallAfterMs });
  cache.start();

  let tls: { cert: string; key: string };
  let certs: FileCertificateSource | undefined;
  let caBundlePem: string | undefined;
  if (opts.certFile && opts.keyFile) {
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
  const server = await startWebhookServer({
    handle, tls, host: opts.host, port: opts.port, metricsHost: opts.metricsHost, metricsPort: opts.metricsPort, metrics, logger,
    readiness: () => {
      const ages = cache.lastEventAgeSeconds();
      const stale = Object.entries(ages).filter(([, age]) => age * 1000 > opts.stallAfterMs * 2).map(([k]) => k);
      return { ready: cache.synced() && stale.length === 0, detail: { synced: cache.synced(), stale, lastEventAgeSeconds: ages } };
    },
  });
  certs.watch(server.https);
  logger.info("webhook serving", { url: server.url, metrics: server.metricsUrl });

  if (opts.registerUrl) {
    await cache.waitForSync();
    const url = opts.registerUrl === "auto" ? server.url : opts.registerUrl;
    if (!caBundlePem) throw new Error("--register-webhook needs the CA bundle: use the development certificate (no --cert-file)");
    await serverSideApply(kc, [webhookConfiguration({ url, caBundlePem, ownNamespace: opts.ownNamespace, failurePolicy: opts.failurePolicy })]);
    logger.info("registered the ValidatingWebhookConfiguration", { url, failurePolicy: opts.failurePolicy });
  }
  // A registration that points at this process goes with it: a dead url under failurePolicy Fail would block the dev cluster.
  const deregister = async (): Promise<void> => {
    if (!opts.registerUrl) return;
    const api = KubernetesObjectApi.makeApiClient(kc);
    await api.delete({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: WEBHOOK_CONFIGURATION_NAME } })
      .then(() => logger.info("removed the ValidatingWebhookConfiguration"), (err: unknown) => logger.warn("could not remove the ValidatingWebhookConfiguration", { error: err instanceof Error ? err.message : String(err) }));
  };

  return {
    cache, server, ...(caBundlePem ? { caBundlePem } : {}),
    close: async () => {
      await deregister();
      certs?.stop();
      cache.stop();
      await server.close();
    },
  };
}

const USAGE = `usage: node dist/operator/main.js [options]
  --kubeconfig PATH          kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --host ADDR --port N       webhook HTTPS listener (default 0.0.0.0:8443)
  --metrics-host ADDR --metrics-port N   /healthz /readyz /metrics (default 0.0.0.0:8080)
  --cert-file F --key-file F serving certificate, reloaded when the files change
  --dev-cert-dir DIR         without --cert-file: a throwaway CA + localhost certificate kept in DIR
  --install-crds             apply crds/ first
  --register-webhook URL|auto  register the ValidatingWebhookConfiguration pointing at URL (auto: this process)
  --failure-policy Fail|Ignore (default Fail)   --namespace NS (own namespace, never judged; default nhi-system)`;

export function parseArgs(argv: string[]): OperatorOptions {
  const o: OperatorOptions = { ...DEFAULTS };
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
    switch (flag) {
      case "--kubeconfig": o.kubeconfig = value(); break;
      case "--host": o.host = value(); break;
      case "--port": o.port = num(); break;
      case "--metrics-host": o.metricsHost = value(); break;
      case "--metrics-port": o.metricsPort = num(); break;
      case "--cert-file": o.certFile = value(); break;
      case "--key-file": o.keyFile = value(); break;
      case "--dev-cert-dir": o.devCertDir = value(); break;
      case "--install-crds": o.installCrds = true; break;
      case "--register-webhook": o.registerUrl = value(); break;
      case "--failure-policy": {
        const v = value();
        if (v !== "Fail" && v !== "Ignore") throw new Error("--failure-policy is Fail or Ignore");
        o.failurePolicy = v;
        break;
      }
      case "--namespace": o.ownNamespace = value(); break;
      case "--help": case "-h": throw new Error(USAGE);
      default: throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  if ((o.certFile === undefined) !== (o.keyFile === undefined)) throw new Error("--cert-file and --key-file go together");
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
