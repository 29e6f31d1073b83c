// Inventory at scale on a real control plane: 5,000 ServiceAccounts, 20,000 Secrets and 10,000
// RoleBindings (plus roles, NHIs and workloads), then the operator started as a separate process
// (dist/operator/main.js, as in production: the informer cache, the webhook and — once it holds the
// Lease — the reconcilers): time from process start to a complete inventory, its peak RSS, and the
// API requests it made (the API server's own request counter; nothing else talks to this plane).
// The cache is the only source the reconcilers have (the polling ListingSource it used to be compared
// with is gone), so these are the informer figures only.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ControlPlane } from "../e2e/harness/controlplane.js";
import { REPO_ROOT } from "../e2e/harness/binaries.js";
import type { KubeClient } from "../e2e/harness/kube.js";
import type { Benchmark, Figure } from "./harness.js";

const NAMESPACES = 50;
const SAS = 5000;
const SECRETS = 20000;
const BINDINGS = 10000;
const NHIS = 200;
const DEPLOYMENTS = 500;

async function pool<T>(
  items: T[],
  concurrency: number,
  fn: (x: T) => Promise<void>,
): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (i < items.length) await fn(items[i++] as T);
    }),
  );
}

async function create(kube: KubeClient, path: string, body: unknown): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const r = await kube.request("POST", path, { body });
    if (r.status === 201 || r.status === 409) return;
    if (attempt >= 5)
      throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    await new Promise((res) => setTimeout(res, 200 * (attempt + 1)));
  }
}

async function load(kube: KubeClient): Promise<number> {
  const ns = (i: number): string => `bench-${String(i % NAMESPACES).padStart(3, "0")}`;
  const per = (n: number): number => n / NAMESPACES;
  const jobs: [string, unknown][] = [];
  for (let n = 0; n < NAMESPACES; n++)
    jobs.push([
      "/api/v1/namespaces",
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns(n) } },
    ]);
  await pool(jobs.splice(0), 16, ([p, b]) => create(kube, p, b));
  for (let i = 0; i < SAS; i++) {
    jobs.push([
      `/api/v1/namespaces/${ns(i)}/serviceaccounts`,
      {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: `sa-${Math.floor(i / NAMESPACES)}`, namespace: ns(i) },
      },
    ]);
  }
  for (let n = 0; n < NAMESPACES; n++) {
    for (let r = 0; r < 5; r++) {
      jobs.push([
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns(n)}/roles`,
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "Role",
          metadata: { name: `role-${r}`, namespace: ns(n) },
          rules: [
            {
              apiGroups: [""],
              resources: r === 0 ? ["secrets"] : ["configmaps", `things${r}`],
              verbs: r === 4 ? ["*"] : ["get", "list"],
            },
          ],
        },
      ]);
    }
  }
  for (let i = 0; i < SECRETS; i++) {
    const legacy = i % 10 === 0;
    const sa = `sa-${Math.floor(i / NAMESPACES) % per(SAS)}`;
    jobs.push([
      `/api/v1/namespaces/${ns(i)}/secrets`,
      legacy
        ? {
            apiVersion: "v1",
            kind: "Secret",
            type: "kubernetes.io/service-account-token",
            metadata: {
              name: `tok-${Math.floor(i / NAMESPACES)}`,
              namespace: ns(i),
              annotations: { "kubernetes.io/service-account.name": sa },
            },
          }
        : {
            apiVersion: "v1",
            kind: "Secret",
            type: "Opaque",
            metadata: {
              name: `sec-${Math.floor(i / NAMESPACES)}`,
              namespace: ns(i),
              labels: { app: `app-${i % 37}` },
            },
            data: { value: Buffer.from(`v${i}`).toString("base64") },
          },
    ]);
  }
  for (let i = 0; i < BINDINGS; i++) {
    jobs.push([
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns(i)}/rolebindings`,
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: `rb-${Math.floor(i / NAMESPACES)}`, namespace: ns(i) },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `role-${i % 5}` },
        subjects: [{ kind: "ServiceAccount", name: `sa-${(i * 7) % per(SAS)}`, namespace: ns(i) }],
      },
    ]);
  }
  for (let i = 0; i < DEPLOYMENTS; i++) {
    const sa = `sa-${i % per(SAS)}`;
    jobs.push([
      `/apis/apps/v1/namespaces/${ns(i)}/deployments`,
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: `d-${Math.floor(i / NAMESPACES)}`, namespace: ns(i) },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: `d${i}` } },
          template: {
            metadata: { labels: { app: `d${i}` } },
            spec: {
              serviceAccountName: sa,
              containers: [
                {
                  name: "c",
                  image: "registry.example.com/app:1",
                  envFrom: [{ secretRef: { name: `sec-${i % 100}` } }],
                },
              ],
            },
          },
        },
      },
    ]);
  }
  const total = jobs.length;
  await pool(jobs, 48, ([p, b]) => create(kube, p, b));
  return total + NAMESPACES;
}

async function installNhis(cp: ControlPlane): Promise<void> {
  await cp.kubectlOk([
    "apply",
    "--server-side",
    "-f",
    join(REPO_ROOT, "crds", "nonhumanidentities.nhi.io.yaml"),
    "-f",
    join(REPO_ROOT, "crds", "nhipolicies.nhi.io.yaml"),
  ]);
  await cp.kubectlOk([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/nonhumanidentities.nhi.io",
  ]);
  const jobs: number[] = Array.from({ length: NHIS }, (_, i) => i);
  await pool(jobs, 16, async (i) => {
    const ns = `bench-${String(i % NAMESPACES).padStart(3, "0")}`;
    await create(cp.kube, `/apis/nhi.io/v1alpha1/namespaces/${ns}/nonhumanidentities`, {
      apiVersion: "nhi.io/v1alpha1",
      kind: "NonHumanIdentity",
      metadata: { name: `nhi-${Math.floor(i / NAMESPACES)}`, namespace: ns },
      spec: {
        owner: { team: "bench", contact: "bench@example.com" },
        purpose: "bench",
        serviceAccountName: `sa-${Math.floor(i / NAMESPACES)}`,
        scopes: [
          { namespaces: [ns], apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] },
        ],
        credentials: [
          {
            name: "ext",
            type: "External",
            secretName: `sec-${Math.floor(i / NAMESPACES)}`,
            maxAge: "2160h",
          },
        ],
      },
    });
  });
}

async function apiRequests(kube: KubeClient): Promise<number> {
  const r = await kube.request<string>("GET", "/metrics");
  let sum = 0;
  for (const line of String(r.body).split("\n")) {
    if (line.startsWith("apiserver_request_total{"))
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** Runs the operator once; returns ms to a complete inventory, peak RSS and requests made. */
async function measure(
  cp: ControlPlane,
): Promise<{ ms: number; rssMB: number; requests: number; identities: number }> {
  const certDir = mkdtempSync(join(tmpdir(), "nhi-bench-inventory-"));
  const before = await apiRequests(cp.kube);
  const start = performance.now();
  const proc = spawn(
    process.execPath,
    [
      join(REPO_ROOT, "dist/operator/main.js"),
      "--kubeconfig",
      cp.kubeconfigPath,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--metrics-host",
      "127.0.0.1",
      "--metrics-port",
      "0",
      "--dev-cert-dir",
      certDir,
      "--lease-namespace",
      "default",
      "--identity",
      "bench",
    ],
    {
      env: { ...process.env, LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  const done = new Promise<number>((resolve, reject) => {
    proc.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /"identities":(\d+),"level":"info","message":"inventory complete"/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    proc.once("exit", (code) =>
      reject(new Error(`reconcilers exited ${code}: ${out.slice(-1000)}`)),
    );
    setTimeout(
      () => reject(new Error(`no complete inventory after 180 s: ${out.slice(-1000)}`)),
      180_000,
    ).unref();
  });
  const identities = await done;
  const ms = performance.now() - start;
  const requests = (await apiRequests(cp.kube)) - before - 1;
  const status = readFileSync(`/proc/${proc.pid}/status`, "utf8");
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? "0") / 1024;
  proc.kill("SIGTERM");
  await new Promise((r) => proc.once("exit", r));
  rmSync(certDir, { recursive: true, force: true });
  return { ms, rssMB: hwm, requests, identities };
}

export const inventoryBenchmark: Benchmark = {
  name: "inventory",
  description: `real control plane with ${SAS} ServiceAccounts, ${SECRETS} Secrets, ${BINDINGS} RoleBindings, ${NHIS} NHIs, ${DEPLOYMENTS} Deployments; the operator in its own process`,
  async run(): Promise<Figure[]> {
    const cp = await ControlPlane.start({ controllerManager: false });
    try {
      const t0 = performance.now();
      const objects = await load(cp.kube);
      await installNhis(cp);
      const loadS = (performance.now() - t0) / 1000;
      const figures: Figure[] = [
        {
          label: `objects loaded (${loadS.toFixed(0)} s, not part of the measurement)`,
          value: objects + NHIS,
          unit: "count",
        },
      ];
      const m = await measure(cp);
      figures.push(
        {
          label: `start → complete inventory of ${m.identities} identities`,
          value: m.ms,
          unit: "ms",
          target: "< 60 s",
        },
        {
          label: "peak RSS of the operator process (webhook + reconcilers)",
          value: m.rssMB,
          unit: "MB",
          target: "< 300 MB",
        },
        {
          label: "API requests until the inventory was complete",
          value: m.requests,
          unit: "count",
        },
      );
      return figures;
    } finally {
      await cp.stop();
    }
  },
};
