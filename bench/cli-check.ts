// nhictl check as a user runs it (issue 14): the whole `nhictl check` process, timed from outside,
// with its peak RSS (bench/peak-rss.ts, preloaded), on manifest streams of 10 (startup), 2,000,
// 20,000 and 100,000 objects, next to `node -e 0`. Targets: 20,000 objects < 2.5 s and < 150 MB,
// 100,000 < 12 s and < 400 MB, 10 objects <= 2x `node -e 0` plus module load.
// BENCH_CLI_SIZES overrides the sizes ("10,2000,20000,100000").
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Benchmark, type Figure, rng } from "./harness.js";

export const OBJECTS = 20_000;

/** Per namespace: Namespace, 3 ServiceAccounts, 2 NHIs, 2 Roles, 3 RoleBindings, a Deployment, a ConfigMap, a Secret = 14 objects. */
export function syntheticStream(objects: number = OBJECTS): string {
  const random = rng(6);
  const docs: string[] = [];
  for (let n = 0; docs.length < objects; n++) {
    const ns = `team-${n}`;
    docs.push(
      `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n  labels: { team: "${n}" }`,
    );
    for (const sa of ["api", "worker", "cron"])
      docs.push(
        `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${sa}\n  namespace: ${ns}`,
      );
    for (const sa of ["api", "worker"]) {
      docs.push(
        `apiVersion: nhi.io/v1alpha1\nkind: NonHumanIdentity\nmetadata:\n  name: ${sa}\n  namespace: ${ns}\nspec:\n  owner: { team: team-${n}, contact: team-${n}@example.com }\n  purpose: Synthetic ${sa}\n  serviceAccountName: ${sa}\n  scopes:\n    - { namespaces: [${ns}], apiGroups: [""], resources: [configmaps], verbs: [get, list, watch] }\n  workloads:\n    podSelector: { matchLabels: { app: ${sa} } }`,
      );
    }
    const extra =
      random() < 0.1 ? `\n  - apiGroups: [""]\n    resources: [secrets]\n    verbs: [get]` : "";
    docs.push(
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: config-reader\n  namespace: ${ns}\nrules:\n  - apiGroups: [""]\n    resources: [configmaps]\n    verbs: [get, list, watch]${extra}`,
    );
    docs.push(
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: jobs\n  namespace: ${ns}\nrules:\n  - apiGroups: [batch]\n    resources: [jobs]\n    verbs: [get, list, create]`,
    );
    for (const sa of ["api", "worker"]) {
      docs.push(
        `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: ${sa}-config\n  namespace: ${ns}\nsubjects:\n  - { kind: ServiceAccount, name: ${sa} }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: config-reader }`,
      );
    }
    docs.push(
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: cron-jobs\n  namespace: ${ns}\nsubjects:\n  - { kind: ServiceAccount, name: cron }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${random() < 0.05 ? "edit" : "view"} }`,
    );
    docs.push(
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: ${ns}\nspec:\n  selector: { matchLabels: { app: api } }\n  template:\n    metadata:\n      labels: { app: api }\n    spec:\n      serviceAccountName: api\n      containers:\n        - { name: api, image: "registry.example.com/${ns}/api:1" }`,
    );
    docs.push(
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${ns}\ndata:\n  level: info`,
    );
    docs.push(
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: ${ns}\ntype: Opaque\nstringData:\n  password: not-a-real-password`,
    );
  }
  return docs.slice(0, objects).join("\n---\n");
}

const SIZES = (process.env.BENCH_CLI_SIZES ?? "10,2000,20000,100000")
  .split(",")
  .map(Number)
  .filter((n) => n > 0);
const TARGETS: Record<number, { ms: number; mb: number }> = {
  20_000: { ms: 2_500, mb: 150 },
  100_000: { ms: 12_000, mb: 400 },
};

interface Run {
  ms: number;
  peakMB: number;
  code: number | null;
}

/** Runs node with `args`, its stdout discarded; wall time from spawn to exit, peak RSS from fd 3. */
function timeProcess(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const preload = new URL("./peak-rss.js", import.meta.url).href;
    const t0 = performance.now();
    const child = spawn(process.execPath, ["--import", preload, ...args], {
      stdio: ["ignore", "ignore", "inherit", "pipe"],
    });
    let rss = "";
    child.stdio[3]?.on("data", (d: Buffer) => {
      rss += d.toString();
    });
    child.once("error", reject);
    child.once("close", (code) =>
      resolve({ ms: performance.now() - t0, peakMB: Number(rss.trim()) / 1024, code }),
    );
  });
}

/** The median of `n` runs (by time), to steady startup figures on a shared machine. */
async function medianRun(n: number, args: string[]): Promise<Run> {
  const runs: Run[] = [];
  for (let i = 0; i < n; i++) runs.push(await timeProcess(args));
  runs.sort((a, b) => a.ms - b.ms);
  return runs[Math.floor(runs.length / 2)] as Run;
}

export const cliCheckBenchmark: Benchmark = {
  name: "cli-check",
  description: `the whole nhictl check process on ${SIZES.map((n) => n.toLocaleString("en-US")).join(", ")}-object manifest files (wall time, peak RSS), next to node -e 0`,
  async run(): Promise<Figure[]> {
    const dir = mkdtempSync(join(tmpdir(), "nhictl-bench-"));
    const cli = fileURLToPath(new URL("../cli/main.js", import.meta.url));
    const figures: Figure[] = [];
    try {
      const bare = await medianRun(5, ["-e", "0"]);
      figures.push(
        { label: "node -e 0 (median of 5)", value: bare.ms, unit: "ms" },
        { label: "node -e 0: peak RSS", value: bare.peakMB, unit: "MB" },
      );
      const load = await medianRun(5, [
        "--input-type=module",
        "-e",
        `await import(${JSON.stringify(cli)})`,
      ]);
      figures.push({
        label: "node importing nhictl's modules, no command (median of 5)",
        value: load.ms,
        unit: "ms",
      });
      // Startup without an NHI in the input: the CRD schemas are never compiled (ajv runs lazily).
      const noNhi = join(dir, "manifests-10-no-nhi.yaml");
      writeFileSync(
        noNhi,
        syntheticStream(40)
          .split("\n---\n")
          .filter((d) => !d.includes("kind: NonHumanIdentity"))
          .slice(0, 10)
          .join("\n---\n"),
      );
      const small = await medianRun(5, [cli, "check", noNhi]);
      const limit = 2 * bare.ms + (load.ms - bare.ms);
      figures.push(
        {
          label: "nhictl check, 10 objects without an NHI (median of 5): wall time",
          value: small.ms,
          unit: "ms",
        },
        {
          label: "nhictl check, 10 objects without an NHI: vs 2x node -e 0 plus module load",
          value: small.ms / limit,
          unit: "ratio",
          target: "<= 1",
          pass: small.ms <= limit,
        },
      );
      for (const n of SIZES) {
        const file = join(dir, `manifests-${n}.yaml`);
        writeFileSync(file, syntheticStream(n));
        const r =
          n <= 10
            ? await medianRun(5, [cli, "check", file])
            : await timeProcess([cli, "check", file]);
        if (r.code !== 0 && r.code !== 1)
          throw new Error(`nhictl check on ${n} objects exited with ${r.code}`);
        const target = TARGETS[n];
        const what = `nhictl check, ${n.toLocaleString("en-US")} objects${n <= 10 ? " with NHIs (median of 5)" : ""}`;
        figures.push(
          {
            label: `${what}: wall time`,
            value: r.ms,
            unit: "ms",
            ...(target ? { target: `< ${target.ms} ms`, pass: r.ms < target.ms } : {}),
          },
          {
            label: `${what}: peak RSS`,
            value: r.peakMB,
            unit: "MB",
            ...(target ? { target: `< ${target.mb} MB`, pass: r.peakMB < target.mb } : {}),
          },
        );
        if (n <= 10) {
          figures.push({
            label: `${what}: startup vs 2x node -e 0 plus module load`,
            value: r.ms / limit,
            unit: "ratio",
            target: "<= 1",
            pass: r.ms <= limit,
          });
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return figures;
  },
};
