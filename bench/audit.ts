// nhictl audit analyze as an outsider runs it (issue 11's Limits): the whole process over a
// generated audit log in the API server's log format (lines shaped like test/fixtures/audit), timed
// from outside with its peak RSS (bench/peak-rss.ts, preloaded). Targets: >= 50,000 events/s on one
// process and < 300 MB RSS after 1,000,000 events across 10,000 identities. The events/s figure
// leaves out the process's start (the same command over an empty log, measured apart).
// BENCH_AUDIT_EVENTS and BENCH_AUDIT_IDENTITIES override the sizes; `node dist/bench/audit.js
// FILE [EVENTS] [IDENTITIES]` only writes the log (for profiling: node --cpu-prof dist/cli/main.js
// audit analyze FILE).
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Benchmark, type Figure, rng } from "./harness.js";

const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
const IDENTITIES = Number(process.env.BENCH_AUDIT_IDENTITIES ?? 10_000);
/** Identities a namespace; every fifth namespace's identities are claimed by an NHI. */
const PER_NAMESPACE = 10;
const SPAN_MS = 48 * 3600_000;
const START = Date.parse("2026-11-01T00:00:00Z");

const RESOURCES = ["configmaps", "pods", "services", "endpoints", "events"];
const VERBS = ["get", "list", "watch", "get", "get"];

/** One identity's fixed traits: namespace, name, pod, address, client. */
function identity(i: number): { ns: string; sa: string; ip: string; client: string } {
  const n = Math.floor(i / PER_NAMESPACE);
  return {
    ns: `team-${n}`,
    sa: `sa-${i % PER_NAMESPACE}`,
    ip: `10.${(n >> 8) & 255}.${n & 255}.${(i % PER_NAMESPACE) + 10}`,
    client: `app-${i % 50}/v1.${i % 7}.0 (linux/amd64) kubernetes/0a1b2c3`,
  };
}

function line(i: number, k: number, t: number, random: () => number): string {
  const id = identity(i);
  const r = random();
  // 1 in 200 requests is out of the usual: another resource, denied, from another address with curl.
  const odd = r < 0.005;
  const resource = odd ? "secrets" : (RESOURCES[k % RESOURCES.length] as string);
  const verb = VERBS[(k >> 3) % VERBS.length] as string;
  const code = odd ? 403 : 200;
  const ip = odd ? "192.168.7.9" : id.ip;
  const agent = odd ? "curl/8.5.0" : id.client;
  const ts = new Date(t).toISOString();
  const name = verb === "get" ? `/${resource}-${k % 20}` : "";
  const nameRef = verb === "get" ? `,"name":"${resource}-${k % 20}"` : "";
  return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"${i.toString(16)}-${k.toString(16)}-4743-bc81-38736a04f2a8","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/${id.ns}/${resource}${name}","verb":"${verb}","user":{"username":"system:serviceaccount:${id.ns}:${id.sa}","uid":"e644632e-fec7-4730-a380-624874ebcc44","groups":["system:serviceaccounts","system:serviceaccounts:${id.ns}","system:authenticated"],"extra":{"authentication.kubernetes.io/credential-id":["JTI=a7f841e6-80ba-4fa8-8efe-${i.toString(16).padStart(12, "0")}"],"authentication.kubernetes.io/node-name":["node-1"],"authentication.kubernetes.io/node-uid":["8ad97abc-8991-404a-a73f-b0a566fc964d"],"authentication.kubernetes.io/pod-name":["${id.sa}-0"],"authentication.kubernetes.io/pod-uid":["d767f0ae-1e67-483d-a2f7-6315d8de2d0f"]}},"sourceIPs":["${ip}"],"userAgent":"${agent}","objectRef":{"resource":"${resource}","namespace":"${id.ns}"${nameRef},"apiVersion":"v1"},"responseStatus":{"metadata":{},"code":${code}},"requestReceivedTimestamp":"${ts}","stageTimestamp":"${ts}","annotations":{"authorization.k8s.io/decision":"${odd ? "forbid" : "allow"}","authorization.k8s.io/reason":"${odd ? "" : `RBAC: allowed by RoleBinding \\"${id.sa}/${id.ns}\\" of Role \\"reader\\" to ServiceAccount \\"${id.sa}/${id.ns}\\"`}"}}`;
}

/** Writes `events` lines across `identities` identities over two days, in time order. */
export async function writeAuditLog(
  file: string,
  events: number,
  identities: number,
): Promise<void> {
  const random = rng(11);
  const out = createWriteStream(file);
  const batch: string[] = [];
  for (let k = 0; k < events; k++) {
    const i = Math.floor(random() * identities);
    batch.push(line(i, k, START + Math.floor((k / events) * SPAN_MS), random));
    if (batch.length === 5_000 || k === events - 1) {
      const chunk = `${batch.join("\n")}\n`;
      batch.length = 0;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
    }
  }
  await new Promise<void>((resolve, reject) =>
    out.end((e?: Error | null) => (e ? reject(e) : resolve())),
  );
}

/** NHIs for every fifth namespace's identities: scopes cover what they usually do. */
export function auditManifests(identities: number): string {
  const docs: string[] = [];
  for (let i = 0; i < identities; i++) {
    const { ns, sa } = identity(i);
    if (Math.floor(i / PER_NAMESPACE) % 5 !== 0) continue;
    docs.push(
      `apiVersion: nhi.io/v1alpha1\nkind: NonHumanIdentity\nmetadata:\n  name: ${sa}\n  namespace: ${ns}\nspec:\n  owner: { team: ${ns}, contact: ${ns}@example.com }\n  purpose: Synthetic ${sa}\n  serviceAccountName: ${sa}\n  scopes:\n    - { namespaces: [${ns}], apiGroups: [""], resources: [${RESOURCES.join(", ")}], verbs: [get, list, watch] }`,
    );
  }
  return docs.join("\n---\n");
}

interface Run {
  ms: number;
  cpuMs: number;
  peakMB: number;
  code: number | null;
}

function timeProcess(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const preload = new URL("./audit-usage.js", import.meta.url).href;
    const t0 = performance.now();
    const child = spawn(process.execPath, ["--import", preload, ...args], {
      stdio: ["ignore", "ignore", "inherit", "pipe"],
    });
    let rss = "";
    child.stdio[3]?.on("data", (d: Buffer) => (rss += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      const [kb = 0, cpuUs = 0] = rss.trim().split(" ").map(Number);
      resolve({ ms: performance.now() - t0, cpuMs: cpuUs / 1000, peakMB: kb / 1024, code });
    });
  });
}

export const auditBenchmark: Benchmark = {
  name: "audit",
  description: `the whole nhictl audit analyze process over ${EVENTS.toLocaleString("en-US")} events across ${IDENTITIES.toLocaleString("en-US")} identities (events/s without the start, peak RSS)`,
  async run(): Promise<Figure[]> {
    const dir = mkdtempSync(join(tmpdir(), "nhictl-audit-bench-"));
    const cli = fileURLToPath(new URL("../cli/main.js", import.meta.url));
    try {
      const log = join(dir, "audit.log");
      const empty = join(dir, "empty.log");
      const manifests = join(dir, "nhis.yaml");
      await writeAuditLog(log, EVENTS, IDENTITIES);
      writeFileSync(empty, "");
      writeFileSync(manifests, auditManifests(IDENTITIES));
      const args = (file: string): string[] => [
        cli,
        "audit",
        "analyze",
        file,
        "--manifests",
        manifests,
        "--format",
        "json",
      ];
      const start = await timeProcess(args(empty));
      const r = await timeProcess(args(log));
      if (r.code !== 0 && r.code !== 1)
        throw new Error(`nhictl audit analyze exited with ${r.code}`);
      const rate = EVENTS / ((r.ms - start.ms) / 1000);
      const cpuRate = EVENTS / ((r.cpuMs - start.cpuMs) / 1000);
      const full = EVENTS >= 1_000_000 && IDENTITIES >= 10_000;
      return [
        { label: "log size", value: statSync(log).size / 1024 / 1024, unit: "MB" },
        {
          label: "nhictl audit analyze over an empty log (start, manifests)",
          value: start.ms,
          unit: "ms",
        },
        { label: "nhictl audit analyze: wall time", value: r.ms, unit: "ms" },
        { label: "nhictl audit analyze: CPU time (user + system)", value: r.cpuMs, unit: "ms" },
        {
          label: "events analysed per second (wall time less the start)",
          value: rate,
          unit: "count",
          target: ">= 50,000",
          pass: rate >= 50_000,
        },
        {
          label: "events analysed per CPU second (one core's rate; less the start)",
          value: cpuRate,
          unit: "count",
          target: ">= 50,000",
          pass: cpuRate >= 50_000,
        },
        {
          label: `peak RSS after ${EVENTS.toLocaleString("en-US")} events, ${IDENTITIES.toLocaleString("en-US")} identities`,
          value: r.peakMB,
          unit: "MB",
          ...(full ? { target: "< 300 MB", pass: r.peakMB < 300 } : {}),
        },
        { label: "load average (1 min) at the end", value: loadavg()[0] ?? 0, unit: "count" },
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

// Only the log, for profiling by hand.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2]) {
  const [file, events, identities] = process.argv.slice(2);
  await writeAuditLog(file as string, Number(events ?? EVENTS), Number(identities ?? IDENTITIES));
  writeFileSync(`${file}.nhis.yaml`, auditManifests(Number(identities ?? IDENTITIES)));
}
