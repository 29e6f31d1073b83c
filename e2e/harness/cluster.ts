// What a suite talks to: a ControlPlane started here, or an existing cluster (E2E_KUBECONFIG).
import { KubeConfig } from "@kubernetes/client-node";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { resolveKubectl } from "./binaries.js";
import { KubeClient, loadObjects } from "./kube.js";
import type { Identity, KubeObject, Verdict } from "./kube.js";
import { waitFor } from "./wait.js";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The combined verdict of applying one or more documents; the first denial decides. */
export interface ApplyResult extends Verdict {
  results: Verdict[];
}

export interface WebhookRegistration {
  url: string;
  /** PEM of the CA that signed the server's certificate. */
  caBundlePem: string;
  rules: {
    operations: ("CREATE" | "UPDATE" | "DELETE" | "CONNECT" | "*")[];
    apiGroups: string[];
    apiVersions: string[];
    resources: string[];
    scope?: "Cluster" | "Namespaced" | "*";
  }[];
  failurePolicy?: "Fail" | "Ignore";
  namespaceSelector?: Record<string, unknown>;
  objectSelector?: Record<string, unknown>;
  timeoutSeconds?: number;
  matchPolicy?: "Exact" | "Equivalent";
}

/**
 * Where the plane's kube-apiserver sends its audit webhook batches (batch mode): a pre-allocated
 * loopback port and a serving certificate from the cluster CA. Nothing listens there until a suite
 * starts a sink (the operator's) with these files; until then the API server retries and drops.
 */
export interface AuditSinkEndpoint {
  url: string;
  port: number;
  certFile: string;
  keyFile: string;
  caFile: string;
  caPem: string;
}

export abstract class Cluster {
  private client: KubeClient | undefined;
  /** False when no kube-controller-manager runs: no token filling, default SAs, GC, namespace deletion, workload controllers. */
  hasControllers = true;
  /** False when no kube-scheduler runs. */
  hasScheduler = true;
  /**
   * The API server's audit log (JSON lines, written with manifests/audit/policy.yaml): the plane's
   * own, or E2E_AUDIT_LOG for an external cluster; undefined when there is none to read.
   */
  auditLogPath: string | undefined = process.env.E2E_AUDIT_LOG || undefined;
  /** Where the API server sends audit webhook batches (a local plane only). */
  auditSink: AuditSinkEndpoint | undefined;

  protected constructor(
    readonly kubeconfigPath: string,
    readonly kubectlPath: string,
    readonly helmPath?: string,
  ) {}

  protected setClient(kc: KubeConfig): void {
    this.client = new KubeClient(kc);
  }

  /** Admin client (the kubeconfig's identity). */
  get kube(): KubeClient {
    if (!this.client) throw new Error("e2e harness: cluster not started");
    return this.client;
  }

  abstract stop(): Promise<void>;

  /** Runs kubectl against this cluster. Never pass secrets in args; stdout may hold what you asked for. */
  kubectl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(this.kubectlPath, ["--kubeconfig", this.kubeconfigPath, ...args], {
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`e2e harness: cannot run ${this.kubectlPath}: ${e.message}`));
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        resolvePromise({ code: code ?? -1, stdout, stderr });
      });
      child.stdin.end(opts.input ?? "");
    });
  }

  /** kubectl that must succeed; the error carries kubectl's stderr. */
  async kubectlOk(
    args: string[],
    opts: { input?: string; timeoutMs?: number } = {},
  ): Promise<string> {
    const r = await this.kubectl(args, opts);
    if (r.code !== 0)
      throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /**
   * Applies YAML (text or a file path) as an identity and returns the API server's verdict:
   * { allowed, code, reason, message, warnings }. Nothing is thrown for a denial.
   */
  async applyAs(
    yamlOrFile: string,
    as?: Identity,
    opts: { namespace?: string; dryRun?: boolean } = {},
  ): Promise<ApplyResult> {
    const results: Verdict[] = [];
    for (const obj of loadObjects(yamlOrFile)) {
      results.push(await this.kube.apply(obj, { ...opts, as }));
    }
    const decisive = results.find((r) => !r.allowed) ?? results[results.length - 1];
    if (!decisive) throw new Error("e2e harness: applyAs: no objects in the given YAML");
    return { ...decisive, warnings: results.flatMap((r) => r.warnings), results };
  }

  /** Creates a namespace with a unique name; waits for its "default" ServiceAccount when controllers run. */
  async createNamespace(prefix = "e2e", labels: Record<string, string> = {}): Promise<string> {
    const name = `${prefix}-${randomBytes(3).toString("hex")}`.toLowerCase().slice(0, 63);
    const v = await this.kube.create({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, labels: { "nhi.io/e2e": "true", ...labels } },
    });
    if (!v.allowed)
      throw new Error(`e2e harness: create namespace ${name}: ${v.code} ${v.message}`);
    if (this.hasControllers) {
      await waitFor(
        `ServiceAccount ${name}/default (serviceaccount controller)`,
        async () => (await this.kube.get("v1", "ServiceAccount", "default", name)) !== undefined,
        { timeoutMs: 30_000 },
      );
    }
    return name;
  }

  /** Deletes a namespace; waits for it to be gone only if asked (needs the namespace controller). */
  async deleteNamespace(name: string, opts: { wait?: boolean } = {}): Promise<void> {
    await this.kube.delete("v1", "Namespace", name);
    if (opts.wait && this.hasControllers) {
      await waitFor(
        `namespace ${name} to be deleted`,
        async () => (await this.kube.get("v1", "Namespace", name)) === undefined,
        { timeoutMs: 60_000 },
      );
    }
  }

  /**
   * Registers a ValidatingWebhookConfiguration pointing at a local HTTPS server (url + caBundle).
   * Returns a function that removes it. The API server picks it up within about a second; probe
   * with a request the webhook must see before relying on it.
   */
  async registerValidatingWebhook(
    name: string,
    w: WebhookRegistration,
  ): Promise<() => Promise<void>> {
    const obj: KubeObject = {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name, labels: { "nhi.io/e2e": "true" } },
      webhooks: [
        {
          name: name.includes(".") ? name : `${name}.e2e.nhi.io`,
          clientConfig: { url: w.url, caBundle: Buffer.from(w.caBundlePem).toString("base64") },
          rules: w.rules,
          failurePolicy: w.failurePolicy ?? "Fail",
          matchPolicy: w.matchPolicy ?? "Equivalent",
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
          timeoutSeconds: w.timeoutSeconds ?? 5,
          ...(w.namespaceSelector ? { namespaceSelector: w.namespaceSelector } : {}),
          ...(w.objectSelector ? { objectSelector: w.objectSelector } : {}),
        },
      ],
    };
    const v = await this.kube.apply(obj);
    if (!v.allowed)
      throw new Error(`e2e harness: register webhook ${name}: ${v.code} ${v.message}`);
    return () =>
      this.kube.delete("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", name);
  }
}

/** A cluster someone else runs (kind, k3d, a real one): E2E_KUBECONFIG. stop() does nothing. */
export class ExternalCluster extends Cluster {
  constructor(kubeconfigPath: string, kubectlPath = resolveKubectl()) {
    super(resolve(kubeconfigPath), kubectlPath);
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    this.setClient(kc);
  }

  async stop(): Promise<void> {
    // not ours to stop
  }
}
