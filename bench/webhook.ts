// Webhook load (issue 4): the real HTTPS webhook server (webhooks/server/app.ts + the admission
// handler) over an in-memory cache of 10,000 ServiceAccounts each governed by an NHI, 20,000
// Roles/ClusterRoles and 50,000 bindings (bench/effective-permissions.ts's synthetic cluster),
// against a bare express HTTPS handler that allows everything (the floor), in the same run.
// Load comes from a second process (this file forked with --loadgen): keep-alive HTTPS agents,
// (a) an open-loop fixed rate of 1,000 reviews/s, latency measured from each request's scheduled
// send time (no coordinated omission), and (b) closed-loop saturation with 16 connections.
// Requests: realistic AdmissionReviews — Pod CREATEs by the ReplicaSet controller and by a user,
// Deployment CREATEs by a ServiceAccount deployer, RoleBinding CREATEs (what-if over the index).
// Targets: p99 < 5 ms at 1,000/s, >= 3,000 reviews/s from one process, within 2x of the floor.
import express from "express";
import { fork } from "node:child_process";
import { Agent, createServer as createHttpsServer, request, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { loadCrdDocuments } from "../crds/load.js";
import type { NonHumanIdentity } from "../core/nhi/types.js";
import { createValidator } from "../core/nhi/validate.js";
import type { ClusterSnapshot } from "../core/snapshot.js";
import { snapshotView } from "../operator/k8s/cache/static.js";
import { createAdmissionHandler } from "../webhooks/handler.js";
import { silentLogger } from "../edge/log.js";
import { WebhookMetrics } from "../webhooks/metrics.js";
import { startWebhookServer } from "../webhooks/server/app.js";
import { issueCa, issueServing } from "../edge/x509.js";
import { SIZES, syntheticCluster } from "./effective-permissions.js";
import { type Benchmark, type Figure, gcAvailable, heapUsedMB, rng } from "./harness.js";

const RATE = 1_000;
const RATE_SECONDS = Number(process.env.BENCH_WEBHOOK_SECONDS ?? 6);
const SATURATE_SECONDS = Number(process.env.BENCH_WEBHOOK_SECONDS ?? 6);
const CONNECTIONS = 16;
const DISTINCT_REVIEWS = 2_000;

// --- the cluster and the reviews ---

export function snapshot(): ClusterSnapshot {
  const c = syntheticCluster();
  const nhis: NonHumanIdentity[] = c.serviceAccounts.map((sa) => ({
    apiVersion: "nhi.io/v1alpha1", kind: "NonHumanIdentity", metadata: { name: sa.name, namespace: sa.namespace },
    spec: {
      owner: { team: `team-${sa.namespace}`, contact: `team@example.com` }, purpose: `synthetic ${sa.name}`, serviceAccountName: sa.name,
      scopes: [
        { namespaces: [sa.namespace], apiGroups: ["", "apps", "batch"], resources: ["*"], verbs: ["*"] },
        { namespaces: ["*"], apiGroups: ["*"], resources: ["*"], verbs: ["get", "list", "watch"] },
      ],
      workloads: { podSelector: { matchLabels: { app: sa.name } }, images: [`registry.example.com/${sa.namespace}/*`] },
    },
  }) as NonHumanIdentity);
  return {
    namespaces: c.namespaces.map((n) => ({ kind: "Namespace", metadata: { name: n, labels: { "kubernetes.io/metadata.name": n } } })),
    serviceAccounts: c.serviceAccounts.map((sa) => ({ kind: "ServiceAccount", metadata: { name: sa.name, namespace: sa.namespace } })),
    rbac: c.objects, nhis, policies: [], workloads: [], secrets: [],
  };
}

export function reviews(namespaces: number, sasPerNs: number): string[] {
  const rand = rng(7);
  const int = (n: number): number => Math.floor(rand() * n);
  const out: string[] = [];
  for (let i = 0; i < DISTINCT_REVIEWS; i++) {
    const ns = `ns-${int(namespaces)}`;
    const sa = `sa-${int(sasPerNs)}`;
    const x = rand();
    const podSpec = {
      serviceAccountName: sa, automountServiceAccountToken: false,
      containers: [{ name: "app", image: `registry.example.com/${ns}/${sa}:1.${i % 17}`, ports: [{ containerPort: 8080 }], resources: { requests: { cpu: "100m", memory: "128Mi" } },
        env: [{ name: "MODE", value: "prod" }, { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } }] }],
      volumes: [{ name: "config", configMap: { name: `${sa}-config` } }],
    };
    let request: Record<string, unknown>;
    if (x < 0.6) {
      request = {
        kind: { group: "", version: "v1", kind: "Pod" }, resource: { group: "", version: "v1", resource: "pods" }, operation: "CREATE", namespace: ns, name: `${sa}-${i}`,
        userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller", groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"] },
        object: { apiVersion: "v1", kind: "Pod", metadata: { name: `${sa}-${i}`, namespace: ns, labels: { app: sa, "pod-template-hash": "5d8f7c9b6" }, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: `${sa}-5d8f7c9b6`, uid: `u-${i}`, controller: true }] }, spec: podSpec },
      };
    } else if (x < 0.7) {
      request = {
        kind: { group: "", version: "v1", kind: "Pod" }, resource: { group: "", version: "v1", resource: "pods" }, operation: "CREATE", namespace: ns, name: `debug-${i}`,
        userInfo: { username: `dev-${i % 50}@example.com`, groups: ["developers", "system:authenticated"] },
        object: { apiVersion: "v1", kind: "Pod", metadata: { name: `debug-${i}`, namespace: ns, labels: { app: sa } }, spec: podSpec },
      };
    } else if (x < 0.85) {
      const deployer = `sa-${int(sasPerNs)}`;
      request = {
        kind: { group: "apps", version: "v1", kind: "Deployment" }, resource: { group: "apps", version: "v1", resource: "deployments" }, operation: "CREATE", namespace: ns, name: sa,
        userInfo: { username: `system:serviceaccount:${ns}:${deployer}`, groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"] },
        object: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: sa, namespace: ns, labels: { app: sa } },
          spec: { replicas: 3, selector: { matchLabels: { app: sa } }, template: { metadata: { labels: { app: sa } }, spec: podSpec } } },
      };
    } else {
      const toRole = rand() < 0.7;
      request = {
        kind: { group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding" }, resource: { group: "rbac.authorization.k8s.io", version: "v1", resource: "rolebindings" },
        operation: "CREATE", namespace: ns, name: `bench-rb-${i}`,
        userInfo: { username: "ci@example.com", groups: ["ci", "system:authenticated"] },
        object: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: `bench-rb-${i}`, namespace: ns },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: toRole ? "Role" : "ClusterRole", name: toRole ? `role-${int(30)}` : "view" },
          subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }] },
      };
    }
    out.push(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`, dryRun: false, ...request } }));
  }
  return out;
}

// --- the load generator (child process) ---

interface LoadSpec { url: string; ca: string; bodies: string[]; mode: "rate" | "saturate"; seconds: number; rate: number; connections: number }
interface LoadResult { sent: number; ok: number; errors: number; denied: number; seconds: number; latenciesMs: number[] }

function post(agent: Agent, url: URL, ca: string, body: string): Promise<{ status: number; allowed: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ hostname: url.hostname, port: url.port, path: url.pathname, method: "POST", agent, ca, headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => { text += c; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, allowed: text.includes("\"allowed\":true") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function generateLoad(spec: LoadSpec): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections, ca: spec.ca });
  const url = new URL(spec.url);
  const lat: number[] = [];
  let sent = 0, ok = 0, errors = 0, denied = 0;
  const one = async (scheduled: number): Promise<void> => {
    const body = spec.bodies[sent % spec.bodies.length] as string;
    sent++;
    try {
      const r = await post(agent, url, spec.ca, body);
      if (r.status === 200) ok++;
      else errors++;
      if (!r.allowed) denied++;
    } catch {
      errors++;
    }
    lat.push(performance.now() - scheduled);
  };
  // Warm up connections and JIT (not measured).
  const warmEnd = performance.now() + 1_500;
  await Promise.all(Array.from({ length: spec.connections }, async () => {
    while (performance.now() < warmEnd) await one(performance.now());
  }));
  lat.length = 0; sent = 0; ok = 0; errors = 0; denied = 0;
  const start = performance.now();
  const end = start + spec.seconds * 1000;
  if (spec.mode === "saturate") {
    await Promise.all(Array.from({ length: spec.connections }, async () => {
      while (performance.now() < end) await one(performance.now());
    }));
  } else {
    const interval = 1000 / spec.rate;
    const inflight: Promise<void>[] = [];
    let next = start;
    while (next < end) {
      const t = performance.now();
      while (next <= t && next < end) {
        inflight.push(one(next));
        next += interval;
      }
      // Sleep until the next send is due (a spinning loop would steal the server's core).
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
    await Promise.all(inflight);
  }
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return { sent, ok, errors, denied, seconds, latenciesMs: lat.sort((a, b) => a - b) };
}

function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ["--loadgen"], { execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.once("message", (m) => {
      resolve(m as LoadResult);
      child.kill();
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0 && code !== null) reject(new Error(`load generator exited with ${code}`));
    });
    child.send(spec);
  });
}

if (process.argv.includes("--loadgen") && process.argv[1] === fileURLToPath(import.meta.url)) {
  process.once("message", (spec) => {
    generateLoad(spec as LoadSpec).then((r) => process.send?.(r), (err: unknown) => {
      process.stderr.write(`load generator: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
  });
}

// --- the servers ---

function barePort(cert: string, key: string): Promise<Server> {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.post("/validate", express.json({ limit: "4mb", strict: false, type: () => true }), (req, res) => {
    const uid = (req.body as { request?: { uid?: string } }).request?.uid ?? "";
    res.json({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid, allowed: true } });
  });
  const server = createHttpsServer({ cert, key, minVersion: "TLSv1.2" }, app);
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const pct = (sorted: readonly number[], p: number): number => sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number);
const mb = (): number => process.memoryUsage().rss / (1024 * 1024);

export const webhookBenchmark: Benchmark = {
  name: "webhook",
  description: `HTTPS webhook on loopback vs a bare allow-all express handler; load from a second process; cache of ${(SIZES.namespaces * SIZES.serviceAccountsPerNamespace).toLocaleString("en-US")} SAs + NHIs, 20,000 roles, 50,000 bindings`,
  async run(): Promise<Figure[]> {
    const now = Date.now();
    const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) };
    const ca = issueCa("bench-ca", validity);
    const tls = issueServing(ca, ["localhost", "127.0.0.1"], validity);
    const bodies = reviews(SIZES.namespaces, SIZES.serviceAccountsPerNamespace);
    const figures: Figure[] = [];
    const results: Record<string, { rate: LoadResult; sat: LoadResult }> = {};
    const load = async (name: "webhook" | "bare", url: string): Promise<void> => {
      const rate = await runLoad({ url, ca: ca.certPem, bodies, mode: "rate", seconds: RATE_SECONDS, rate: RATE, connections: CONNECTIONS });
      const sat = await runLoad({ url, ca: ca.certPem, bodies, mode: "saturate", seconds: SATURATE_SECONDS, rate: RATE, connections: CONNECTIONS });
      results[name] = { rate, sat };
      const tag = name === "webhook" ? "webhook" : "bare express (floor)";
      const target = (t: string): { target?: string } => (name === "webhook" ? { target: t } : {});
      figures.push(
        { label: `${tag}: at ${RATE}/s for ${RATE_SECONDS} s — achieved reviews/s`, value: rate.ok / rate.seconds, unit: "count" },
        { label: `${tag}: at ${RATE}/s — p50`, value: pct(rate.latenciesMs, 50), unit: "ms" },
        { label: `${tag}: at ${RATE}/s — p99`, value: pct(rate.latenciesMs, 99), unit: "ms", ...target("< 5 ms") },
        { label: `${tag}: at ${RATE}/s — p99.9`, value: pct(rate.latenciesMs, 99.9), unit: "ms" },
        { label: `${tag}: saturated, ${CONNECTIONS} keep-alive connections — reviews/s`, value: sat.ok / sat.seconds, unit: "count", ...target(">= 3,000") },
        { label: `${tag}: saturated — p50`, value: pct(sat.latenciesMs, 50), unit: "ms" },
        { label: `${tag}: saturated — p99`, value: pct(sat.latenciesMs, 99), unit: "ms" },
        { label: `${tag}: saturated — p99.9`, value: pct(sat.latenciesMs, 99.9), unit: "ms" },
        { label: `${tag}: errors (non-200 or failed requests)`, value: rate.errors + sat.errors, unit: "count" },
      );
      if (name === "webhook") figures.push({ label: "webhook: reviews answered allowed: false in the saturated run", value: sat.denied, unit: "count" });
      figures.push({ label: `${tag}: RSS of the server process after its runs`, value: mb(), unit: "MB" });
      // RSS only says how much the heap was allowed to grow (V8 collects lazily); the heap after a
      // forced full GC tells a leak (it keeps growing) from lazy collection (it falls back).
      figures.push({ label: `${tag}: V8 heap in use after its runs${gcAvailable() ? ", after a forced GC" : " (no --expose-gc: approximate)"}`, value: heapUsedMB(), unit: "MB" });
    };

    // The floor first, before the cache exists, so its process is not also carrying the cache's heap.
    const bare = await barePort(tls.certPem, tls.keyPem);
    try {
      await load("bare", `https://127.0.0.1:${(bare.address() as AddressInfo).port}/validate`);
    } finally {
      await new Promise<void>((r) => { bare.close(() => r()); bare.closeIdleConnections(); });
    }

    const rssStart = mb();
    const t0 = performance.now();
    const view = snapshotView(snapshot());
    figures.push(
      { label: "webhook: cache build (snapshot view: index + directory)", value: performance.now() - t0, unit: "ms" },
      { label: "webhook: RSS of the server process with the cache, before load", value: mb(), unit: "MB" },
      { label: "webhook: RSS added by the cache", value: mb() - rssStart, unit: "MB" },
      { label: `webhook: V8 heap in use with the cache, before load${gcAvailable() ? ", after a forced GC" : ""}`, value: heapUsedMB(), unit: "MB" },
    );
    const metrics = new WebhookMetrics();
    const handle = createAdmissionHandler({ view, validator: createValidator(loadCrdDocuments()), logger: silentLogger(), metrics });
    const webhook = await startWebhookServer({
      handle, tls: { cert: tls.certPem, key: tls.keyPem }, host: "127.0.0.1", port: 0, metricsHost: "127.0.0.1", metricsPort: 0,
      metrics, logger: silentLogger(), readiness: () => ({ ready: true, detail: {} }),
    });
    try {
      await load("webhook", webhook.url);
    } finally {
      await webhook.close();
    }
    const w = results.webhook, b = results.bare;
    if (w && b) {
      figures.push(
        { label: "webhook / floor: p99 at 1,000/s", value: pct(w.rate.latenciesMs, 99) / pct(b.rate.latenciesMs, 99), unit: "count", target: "<= 2" },
        { label: "webhook / floor: p50 at 1,000/s", value: pct(w.rate.latenciesMs, 50) / pct(b.rate.latenciesMs, 50), unit: "count", target: "<= 2" },
        { label: "floor / webhook: saturated throughput", value: (b.sat.ok / b.sat.seconds) / (w.sat.ok / w.sat.seconds), unit: "count" },
      );
    }
    return figures;
  },
};
