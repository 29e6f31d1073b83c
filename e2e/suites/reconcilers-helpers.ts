// Shared by the reconciler suites (inventory, rotation, lifetime): run the operator (dist/operator/main.js,
// the one composition root: webhook + leader-elected reconcilers) as a child process against the
// shared control plane, so a test can kill it. The webhook is served but not registered.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../harness/binaries.js";
import { sharedCluster } from "../harness/mocha.js";
import { sharedCrdFile } from "../harness/shared.js";
import { Token, type KubeObject } from "../harness/kube.js";
import { waitFor } from "../harness/wait.js";
import { freePort } from "../harness/ports.js";
import type { CredentialStatus } from "../../core/nhi/types.js";
import { sleep } from "../harness/procs.js";

export const CRD_FILES = ["nonhumanidentities.nhi.io.yaml", "nhipolicies.nhi.io.yaml"].map((f) =>
  join(REPO_ROOT, "crds", f),
);

export async function installCrds(): Promise<void> {
  const c = sharedCluster();
  await c.kubectlOk([
    "apply",
    "--server-side",
    "--force-conflicts",
    ...CRD_FILES.flatMap((f) => ["-f", f]),
  ]);
  await c.kubectlOk([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/nonhumanidentities.nhi.io",
    "crd/nhipolicies.nhi.io",
  ]);
}

/** Installs the real PolicyReport CRD as Kyverno publishes it, from the shared workspace (never copied into the project). */
export async function installPolicyReportCrd(): Promise<void> {
  const crd = sharedCrdFile("wgpolicyk8s.io_policyreports.yaml");
  const c = sharedCluster();
  await c.kubectlOk(["apply", "--server-side", "--force-conflicts", "-f", crd]);
  await c.kubectlOk([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/policyreports.wgpolicyk8s.io",
  ]);
}

export interface OperatorProcess {
  proc: ChildProcess;
  port: number;
  logs(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
  get<T>(path: string): Promise<T>;
}

export interface StartOptions {
  /** More flags of operator/main.js (e.g. ["--unused-after", "1s"]). */
  args?: string[];
  /** More environment (the test hook NHI_TEST_KILL_AFTER_STEP). */
  env?: Record<string, string>;
  /** Wait for the first complete inventory (default true). */
  waitReady?: boolean;
}

/**
 * The hooks every reconciler suite needs: skip without controllers, install the CRDs, and after
 * each test stop every operator it started (printing the last one's logs when the test failed).
 */
export function useOperator(): { start(opts?: StartOptions): Promise<OperatorProcess> } {
  let started: OperatorProcess[] = [];
  before(async function () {
    if (!sharedCluster().hasControllers) this.skip();
    await installCrds();
  });
  afterEach(async function () {
    // Every process's logs when the test failed (the leader suite runs several at once).
    if (this.currentTest?.state === "failed") {
      started.forEach((op, i) =>
        process.stderr.write(
          `--- operator ${i + 1} of ${started.length} logs ---\n${op.logs().slice(-6000)}\n`,
        ),
      );
    }
    for (const op of started) await op.stop();
    started = [];
  });
  return {
    async start(opts?: StartOptions): Promise<OperatorProcess> {
      const op = await startOperator(opts);
      started.push(op);
      return op;
    },
  };
}

/**
 * Starts the operator with the e2e crash hook (e2e/harness/operator-with-hooks.ts): SIGKILLed right
 * after performing `step` for the NHI `nhi` ("ns/name"). Resolves once it died; fails the test
 * when it is still running after 60 s.
 */
export async function startKilledAfter(
  operator: ReturnType<typeof useOperator>,
  step: string,
  nhi: string,
): Promise<OperatorProcess> {
  const op = await operator.start({
    env: { NHI_TEST_KILL_AFTER_STEP: `${step}@${nhi}/` },
    waitReady: false,
  });
  const code = await Promise.race([op.exited, sleep(60_000).then(() => "timeout" as const)]);
  assert.notEqual(
    code,
    "timeout",
    `the operator was not killed after ${step}: ${op.logs().slice(-2000)}`,
  );
  return op;
}

/** Starts dist/operator/main.js; resolves once it leads and its first inventory is complete. */
export async function startOperator(opts: StartOptions = {}): Promise<OperatorProcess> {
  const c = sharedCluster();
  const port = await freePort();
  const certDir = mkdtempSync(join(tmpdir(), "nhi-reconcilers-e2e-"));
  // The crash hook lives in the harness's entry point, not in the production binary.
  const entry = opts.env?.NHI_TEST_KILL_AFTER_STEP
    ? "dist/e2e/harness/operator-with-hooks.js"
    : "dist/operator/main.js";
  const proc = spawn(
    process.execPath,
    [
      "--enable-source-maps",
      join(REPO_ROOT, entry),
      "--kubeconfig",
      c.kubeconfigPath,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--metrics-host",
      "127.0.0.1",
      "--metrics-port",
      String(port),
      "--dev-cert-dir",
      certDir,
      "--lease-namespace",
      "default",
      "--token-overlap",
      "3s",
      ...(opts.args ?? []),
    ],
    {
      env: { ...process.env, LOG_LEVEL: "info", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  proc.stdout?.setEncoding("utf8").on("data", (d: string) => (out = (out + d).slice(-200_000)));
  proc.stderr?.setEncoding("utf8").on("data", (d: string) => (out = (out + d).slice(-200_000)));
  const exited = new Promise<number | null>((r) =>
    proc.once("exit", (code) => {
      rmSync(certDir, { recursive: true, force: true });
      r(code);
    }),
  );
  const op: OperatorProcess = {
    proc,
    port,
    exited,
    logs: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
    async get<T>(path: string): Promise<T> {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
      return (await r.json()) as T;
    },
  };
  if (opts.waitReady !== false) {
    // The previous test's process released the Lease on SIGTERM; after a SIGKILLed one a new process
    // waits a full lease duration (15 s, its own clock, like client-go) before taking it.
    await waitFor(
      "the reconcilers to lead and finish a first inventory",
      async () => {
        if (proc.exitCode !== null)
          throw new Error(`operator exited ${proc.exitCode}: ${out.slice(-2000)}`);
        return out.includes("inventory complete");
      },
      { timeoutMs: 60_000, describe: () => out.slice(-1500) },
    );
  }
  return op;
}

export interface NhiObject extends KubeObject {
  metadata: { name: string; namespace: string; uid?: string; generation?: number };
  status?: {
    phase?: string;
    observedGeneration?: number;
    nextRotationAt?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
    credentials?: CredentialStatus[];
    excessPermissions?: {
      verb: string;
      resource?: string;
      namespace: string;
      binding: { kind: string; name: string };
    }[];
    risk?: {
      score?: number;
      level?: string;
      factors?: { name: string; points: number; detail?: string }[];
    };
  };
}

export async function getNhi(ns: string, name: string): Promise<NhiObject | undefined> {
  return sharedCluster().kube.get<NhiObject>("nhi.io/v1alpha1", "NonHumanIdentity", name, ns);
}

export interface SecretObject extends KubeObject {
  metadata: {
    name: string;
    namespace: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
  data?: Record<string, string>;
}

export async function getSecret(ns: string, name: string): Promise<SecretObject | undefined> {
  return sharedCluster().kube.get<SecretObject>("v1", "Secret", name, ns);
}

/**
 * A ServiceAccount `sa` and its legacy token Secret `secret` (kubernetes.io/service-account-token),
 * once the token controller has filled it.
 */
export async function filledLegacyToken(
  ns: string,
  sa: string,
  secret: string,
): Promise<SecretObject> {
  const c = sharedCluster();
  await c.applyAs(
    `apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: ${sa}, namespace: ${ns} }\n`,
  );
  await c.applyAs(`apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata: { name: ${secret}, namespace: ${ns}, annotations: { kubernetes.io/service-account.name: ${sa} } }
`);
  return waitFor(
    `the token controller to fill the legacy Secret ${ns}/${secret}`,
    async () => {
      const s = await getSecret(ns, secret);
      return s?.data?.token ? s : undefined;
    },
    { timeoutMs: 30_000, describe: describeSecret },
  );
}

/** The token stored in a Secret, wrapped so it never prints. */
export function tokenOf(s: SecretObject | undefined, key = "token"): Token | undefined {
  const v = s?.data?.[key];
  return v ? new Token(Buffer.from(v, "base64").toString("utf8")) : undefined;
}

/** Whether a token authenticates (a SelfSubjectReview as it). */
export async function authenticates(token: Token): Promise<boolean> {
  const r = await sharedCluster().kube.request(
    "POST",
    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    { body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }, as: { token } },
  );
  return r.status === 201;
}

export async function eventsOf(
  ns: string,
  name: string,
): Promise<{ reason: string; message: string; type: string }[]> {
  const r = await sharedCluster().kube.must<{
    items: {
      reason: string;
      message: string;
      type: string;
      involvedObject: { name: string; kind: string };
    }[];
  }>("GET", `/api/v1/namespaces/${ns}/events`);
  return r.items.filter(
    (e) => e.involvedObject.kind === "NonHumanIdentity" && e.involvedObject.name === name,
  );
}

/** A Secret for assertion messages: its name, annotations and data keys, never its values. */
export const describeSecret = (s: unknown): string => {
  const x = s as SecretObject | undefined;
  return JSON.stringify({
    name: x?.metadata.name,
    annotations: x?.metadata.annotations,
    keys: Object.keys(x?.data ?? {}),
  });
};

export function nhiYaml(ns: string, name: string, spec: string): string {
  return `apiVersion: nhi.io/v1alpha1
kind: NonHumanIdentity
metadata: { name: ${name}, namespace: ${ns} }
spec:
${spec
  .trim()
  .split("\n")
  .map((l) => `  ${l}`)
  .join("\n")}
`;
}

export const OWNER = "owner: { team: e2e, contact: e2e@example.com }\npurpose: e2e";
