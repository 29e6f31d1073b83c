// Runs the reconcilers alone, leader-elected: `node dist/operator/controllers/standalone.js`.
// The e2e suites and the benchmark start it as a child process (so they can kill it mid-rotation);
// operator/main.ts composes the same startControllers() with the webhook and the informer cache.
// Configuration from the environment:
//   KUBECONFIG                   kubeconfig file (else in-cluster)
//   NHI_LEASE_NAMESPACE          Lease namespace (default "default")
//   NHI_IDENTITY                 this replica's identity (default hostname-pid)
//   NHI_SOURCE                   "informer" (default) or "list" (paged LISTs every NHI_POLL_MS, default 5000)
//   NHI_QPS, NHI_BURST           client-side rate limit of the reconcilers' API calls (default 50/s, bursts of 100)
//   NHI_HTTP_PORT                serves GET /inventory, /metrics, /healthz (default: none)
//   NHI_UNUSED_AFTER             Go duration after which an identity without pods or use is Unused (default 720h)
//   NHI_TOKEN_OVERLAP_MS         overlap before an old token is revoked (default 2 min)
//   NHI_TEST_KILL_AFTER_STEP     test hook "<step>[@<ns/nhi prefix>]": SIGKILL this process right after performing that rotation step
import { createServer } from "node:http";
import { parseDuration } from "../../core/nhi/duration.js";
import { hostname } from "node:os";
import { Registry } from "prom-client";
import { createLogger } from "../../webhooks/log.js";
import { EventRecorder } from "../k8s/events.js";
import { LeaderElector, leaseClient } from "../k8s/leader.js";
import { KubeRest } from "../k8s/rest.js";
import { RestStatusWriter } from "../k8s/status-writer.js";
import { startControllers, type RunningControllers } from "./index.js";
import { ListingSource } from "./source.js";
import { InformerSource } from "./informer-source.js";

const env = process.env;
const log = createLogger();
const limits = { qps: Number(env.NHI_QPS ?? 50), burst: Number(env.NHI_BURST ?? 100) };
const rest = env.KUBECONFIG ? KubeRest.fromFile(env.KUBECONFIG, limits) : KubeRest.fromDefault(limits);
const identity = env.NHI_IDENTITY ?? `${hostname()}-${process.pid}`;
// Informers by default; NHI_SOURCE=list polls with paged LISTs instead (the benchmark compares both).
const source = env.NHI_SOURCE === "list" ? new ListingSource(rest, Number(env.NHI_POLL_MS ?? 5000)) : new InformerSource(rest.config, log);
const startSource = async (): Promise<void> => {
  if (source instanceof InformerSource) {
    source.start();
    await source.waitForSync();
  } else {
    await source.start();
  }
};
const registry = new Registry();
let running: RunningControllers | undefined;
const killAfter = env.NHI_TEST_KILL_AFTER_STEP;

const elector = new LeaderElector(leaseClient(rest), {
  namespace: env.NHI_LEASE_NAMESPACE ?? "default",
  name: "nhi-operator-reconcilers",
  identity,
  onStartedLeading: () => {
    log.info("started leading", { identity });
    void startSource().then(() => {
      running = startControllers({
        rest, source, registry, log,
        events: new EventRecorder(rest),
        status: new RestStatusWriter(rest),
        ...(env.NHI_UNUSED_AFTER ? { unusedAfterMs: parseDuration(env.NHI_UNUSED_AFTER) } : {}),
        ...(env.NHI_TOKEN_OVERLAP_MS ? { tokenOverlapMs: Number(env.NHI_TOKEN_OVERLAP_MS) } : {}),
        ...(env.NHI_KUBECONFIG_SERVER ? { kubeconfigServer: env.NHI_KUBECONFIG_SERVER } : {}),
        ...(killAfter ? {
          afterStep: (kind: string, key: string) => {
            const [step, prefix = ""] = killAfter.split("@");
            if (kind !== step || !key.startsWith(prefix)) return;
            log.warn("test hook: killing the process after a rotation step", { step: kind, key });
            process.kill(process.pid, "SIGKILL");
          },
        } : {}),
      });
      void running.firstInventory.then((inv) => log.info("inventory complete", { identities: inv.identities.length, requests: rest.totalRequests() }));
    });
  },
  onStoppedLeading: () => {
    log.warn("lost leadership: exiting so a fresh process campaigns again", { identity });
    process.exit(0);
  },
  onError: (e) => log.warn("leader election", { error: e instanceof Error ? e.message : String(e) }),
});

if (env.NHI_HTTP_PORT) {
  createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/inventory" && running) return running.inventoryHandler(req, res);
    if (path === "/metrics") {
      void registry.metrics().then((m) => res.writeHead(200, { "content-type": registry.contentType }).end(m));
      return;
    }
    if (path === "/healthz") return void res.writeHead(200).end("ok");
    res.writeHead(path === "/inventory" ? 503 : 404).end();
  }).listen(Number(env.NHI_HTTP_PORT), "127.0.0.1");
}

const shutdown = async (): Promise<void> => {
  source.stop();
  await running?.stop();
  await elector.stop().catch(() => undefined);
  process.exit(0);
};
process.on("SIGTERM", () => void shutdown());
process.on("SIGINT", () => void shutdown());
void elector.run();
