// A real control plane on loopback, as a real cluster runs it minus the nodes: etcd, kube-apiserver,
// kube-controller-manager with its default controller set (deployments create ReplicaSets and Pods
// under the controllers' own identities, admin/edit/view are aggregated, tokens are filled, garbage
// is collected) and kube-scheduler. Pods stay Pending (no kubelet); that is enough for admission.
import { KubeConfig } from "@kubernetes/client-node";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { REPO_ROOT, resolveBinaries } from "./binaries.js";
import type { Binaries } from "./binaries.js";
import { CertAuthority, writeServiceAccountKeys } from "./certs.js";
import type { IssuedCert } from "./certs.js";
import { Cluster } from "./cluster.js";
import type { Token } from "./kube.js";
import { freePort, freePorts } from "./ports.js";
import { Guard, ManagedProcess, sleep, sweepStale, track } from "./procs.js";

/**
 * kube-controller-manager's default set (`*`) minus only the controllers that cannot work without
 * nodes or a cloud, each with its reason. Everything else a real cluster runs, runs here.
 */
export const EXCLUDED_CONTROLLERS: Readonly<Record<string, string>> = {
  "cloud-node-lifecycle-controller":
    "deletes Nodes their cloud no longer has: there is no cloud provider",
  "service-lb-controller":
    "provisions cloud load balancers for Services: there is no cloud provider",
  "node-route-controller": "programs cloud routes for pod CIDRs: there is no cloud provider",
  "node-ipam-controller":
    "allocates pod CIDRs to Nodes: there are no Nodes (and no --allocate-node-cidrs)",
};

export const DEFAULT_CONTROLLERS: readonly string[] = [
  "*",
  ...Object.keys(EXCLUDED_CONTROLLERS).map((c) => `-${c}`),
];

/** The audit policy the chart and README ship (manifests/audit/policy.yaml); every plane runs with it. */
export const AUDIT_POLICY_FILE: string = join(REPO_ROOT, "manifests", "audit", "policy.yaml");

export interface AuditOptions {
  /** Audit policy file (default AUDIT_POLICY_FILE). */
  policyFile?: string;
  /** Send the webhook batches here instead of the plane's own sink address (the server must present a cert from caBundlePem). */
  webhook?: { url: string; caBundlePem: string };
  /** --audit-webhook-batch-max-wait (default 1 s: a suite sees events within seconds). */
  batchMaxWaitSeconds?: number;
}

export interface ControlPlaneOptions {
  binaries?: Binaries;
  /** Run kube-controller-manager (default: when its binary exists). */
  controllerManager?: boolean;
  /** kube-controller-manager's --controllers (default DEFAULT_CONTROLLERS). */
  controllers?: readonly string[];
  /** Run kube-scheduler (default: when its binary exists). */
  scheduler?: boolean;
  audit?: AuditOptions;
  /** Extra kube-apiserver flags ("--name=value"); later flags win. */
  apiServerArgs?: string[];
  /**
   * Opt-in: kube-apiserver presents a client certificate to admission webhooks at these hosts (its
   * --admission-control-config-file names a kubeconfig whose users are keyed by webhook host: a
   * URL's "host:port", a Service's "name.namespace.svc[:port]", "*.suffix" or "*"). The harness makes
   * the CA and certificate: `webhookClientCa` is the CA a webhook's --client-ca-file should trust.
   */
  webhookClientCert?: { hosts: string[] };
  /** Keep the data dir (logs, etcd data) after stop; also E2E_KEEP_DATA=1. */
  keepData?: boolean;
  /** Per-component readiness timeout (default 60 s). */
  startTimeoutMs?: number;
  /** Progress lines (default: stderr when E2E_VERBOSE=1). */
  log?: (line: string) => void;
}

export interface StartTimings {
  certsMs: number;
  etcdMs: number;
  apiServerMs: number;
  controllerManagerMs: number;
  schedulerMs: number;
  totalMs: number;
}

type Probe = () => Promise<boolean>;

function httpOk(
  url: string,
  tls?: { ca?: string; cert?: string; key?: string; insecure?: boolean },
): Probe {
  return () =>
    new Promise((resolve) => {
      const opts = tls
        ? { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure }
        : {};
      const req = (url.startsWith("https:") ? httpsRequest : httpRequest)(
        url,
        { ...opts, timeout: 2_000 },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        },
      );
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(false));
      req.end();
    });
}

function kubeconfigYaml(server: string, caPem: string, client: IssuedCert, user: string): string {
  const b64 = (s: string): string => Buffer.from(s).toString("base64");
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "nhi-e2e", cluster: { server, "certificate-authority-data": b64(caPem) } }],
    users: [
      {
        name: user,
        user: {
          "client-certificate-data": b64(client.certPem),
          "client-key-data": b64(client.keyPem),
        },
      },
    ],
    contexts: [{ name: "nhi-e2e", context: { cluster: "nhi-e2e", user } }],
    "current-context": "nhi-e2e",
  });
}

export class ControlPlane extends Cluster {
  private readonly procs: ManagedProcess[] = [];
  private untrack: () => void = () => undefined;
  private stopped = false;
  timings: StartTimings = {
    certsMs: 0,
    etcdMs: 0,
    apiServerMs: 0,
    controllerManagerMs: 0,
    schedulerMs: 0,
    totalMs: 0,
  };
  private apiServerLaunch: { args: string[]; logs: string; ready: Probe } | undefined;
  apiServerUrl = "";
  etcdUrl = "";
  /** With `webhookClientCert`: the CA that signed the certificate kube-apiserver presents to webhooks. */
  webhookClientCa: { certFile: string; certPem: string } | undefined;

  private constructor(
    readonly dataDir: string,
    readonly binaries: Binaries,
    private readonly guard: Guard,
    private readonly keepData: boolean,
    private readonly log: (line: string) => void,
  ) {
    super(join(dataDir, "kubeconfig"), binaries.kubectl, binaries.helm);
  }

  /**
   * Writes `file` (mode 0600): a kubeconfig that authenticates with `token` only, as a person who
   * copied a ServiceAccount's token would hold it for kubectl (the token never appears in argv).
   */
  writeTokenKubeconfig(file: string, token: Token, namespace: string): void {
    writeFileSync(
      file,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "c",
            cluster: {
              server: this.apiServerUrl,
              "certificate-authority": join(this.dataDir, "pki", "ca.crt"),
            },
          },
        ],
        users: [{ name: "u", user: { token: token.reveal() } }],
        contexts: [{ name: "c", context: { cluster: "c", user: "u", namespace } }],
        "current-context": "c",
      }),
      { mode: 0o600 },
    );
  }

  /** Starts etcd, kube-apiserver and (when available) kube-controller-manager and kube-scheduler; resolves when ready. */
  static async start(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const t0 = Date.now();
    const log =
      opts.log ??
      (process.env.E2E_VERBOSE === "1"
        ? (l: string): void => void process.stderr.write(`e2e harness: ${l}\n`)
        : (): void => undefined);
    const binaries = opts.binaries ?? resolveBinaries();
    const swept = sweepStale();
    if (swept.length > 0)
      process.stderr.write(
        `e2e harness: killed leftovers of an earlier run: ${swept.join(", ")}\n`,
      );
    const keepData = opts.keepData ?? process.env.E2E_KEEP_DATA === "1";
    const dataDir = mkdtempSync(join(tmpdir(), "nhi-e2e-"));
    const guard = new Guard(dataDir, keepData);
    const cp = new ControlPlane(dataDir, binaries, guard, keepData, log);
    cp.untrack = track(cp);
    try {
      await cp.boot(opts);
    } catch (e) {
      await cp.stop();
      throw e;
    }
    cp.timings.totalMs = Date.now() - t0;
    log(`ready in ${cp.timings.totalMs} ms (${cp.apiServerUrl}); kubeconfig ${cp.kubeconfigPath}`);
    return cp;
  }

  private async boot(opts: ControlPlaneOptions): Promise<void> {
    const timeout = opts.startTimeoutMs ?? 60_000;
    const pki = join(this.dataDir, "pki");
    const logs = join(this.dataDir, "logs");
    mkdirSync(logs, { recursive: true });
    let t = Date.now();

    const ca = CertAuthority.create(pki, "nhi-e2e-ca");
    const serving = ca.issue("apiserver", {
      commonName: "kube-apiserver",
      dnsNames: [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
      ],
      ips: ["127.0.0.1", "10.0.0.1"],
      usage: "server",
    });
    const admin = ca.issue("admin", {
      commonName: "admin",
      organizations: ["system:masters"],
      usage: "client",
    });
    const kcmCert = ca.issue("kube-controller-manager", {
      commonName: "system:kube-controller-manager",
      usage: "client",
    });
    const schedulerCert = ca.issue("kube-scheduler", {
      commonName: "system:kube-scheduler",
      usage: "client",
    });
    // The aggregation layer's front proxy, as kubeadm sets it up: without it every component logs
    // that the requestheader CA bundle is missing, and aggregated APIs could not authenticate.
    const frontProxyCa = CertAuthority.create(join(pki, "front-proxy"), "front-proxy-ca");
    const frontProxyClient = frontProxyCa.issue("front-proxy-client", {
      commonName: "front-proxy-client",
      usage: "client",
    });
    const sa = writeServiceAccountKeys(pki);
    const auditSinkCert = ca.issue("audit-sink", {
      commonName: "nhi-audit-sink",
      dnsNames: ["localhost"],
      ips: ["127.0.0.1"],
      usage: "server",
    });
    this.timings.certsMs = Date.now() - t;

    // etcd
    t = Date.now();
    await this.startWithRetry("etcd", timeout, async () => {
      const [client, peer] = await freePorts(2);
      const url = `http://127.0.0.1:${client}`;
      const peerUrl = `http://127.0.0.1:${peer}`;
      this.etcdUrl = url;
      const p = this.spawn(
        "etcd",
        this.binaries.etcd,
        [
          "--name=nhi-e2e",
          `--data-dir=${join(this.dataDir, "etcd")}`,
          `--listen-client-urls=${url}`,
          `--advertise-client-urls=${url}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=nhi-e2e=${peerUrl}`,
          "--unsafe-no-fsync=true",
          "--log-level=warn",
        ],
        logs,
      );
      return { p, ready: httpOk(`${url}/health`) };
    });
    this.timings.etcdMs = Date.now() - t;

    // kube-apiserver
    t = Date.now();
    const withKcm =
      (opts.controllerManager ?? true) && this.binaries.kubeControllerManager !== undefined;
    if (opts.controllerManager && !this.binaries.kubeControllerManager) {
      throw new Error(
        "e2e harness: kube-controller-manager was requested but is not in " + this.binaries.source,
      );
    }
    this.hasControllers = withKcm;
    await this.startWithRetry("kube-apiserver", timeout, async () => {
      const [port] = await freePorts(1);
      this.apiServerUrl = `https://127.0.0.1:${port}`;
      const args = [
        `--etcd-servers=${this.etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${port}`,
        `--cert-dir=${join(this.dataDir, "apiserver")}`,
        `--tls-cert-file=${serving.certFile}`,
        `--tls-private-key-file=${serving.keyFile}`,
        `--client-ca-file=${ca.certFile}`,
        "--authorization-mode=RBAC",
        `--requestheader-client-ca-file=${frontProxyCa.certFile}`,
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        `--proxy-client-cert-file=${frontProxyClient.certFile}`,
        `--proxy-client-key-file=${frontProxyClient.keyFile}`,
        // Without kube-controller-manager no controller creates the "default" ServiceAccount, so
        // the ServiceAccount plugin would reject every pod (envtest disables it for that reason).
        withKcm
          ? "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy"
          : "--enable-admission-plugins=NamespaceLifecycle,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy",
        ...(withKcm ? [] : ["--disable-admission-plugins=ServiceAccount"]),
        `--service-account-issuer=${this.apiServerUrl}`,
        `--service-account-key-file=${sa.publicKeyFile}`,
        `--service-account-signing-key-file=${sa.privateKeyFile}`,
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        "--profiling=false",
        ...(await this.auditArgs(opts.audit ?? {}, auditSinkCert, ca)),
        ...(opts.webhookClientCert
          ? this.admissionConfigArgs(pki, opts.webhookClientCert.hosts)
          : []),
        ...(opts.apiServerArgs ?? []),
      ];
      const p = this.spawn("kube-apiserver", this.binaries.kubeApiserver, args, logs);
      const ready = httpOk(`${this.apiServerUrl}/readyz`, {
        ca: ca.certPem,
        cert: admin.certPem,
        key: admin.keyPem,
      });
      this.apiServerLaunch = { args, logs, ready };
      return { p, ready };
    });
    this.timings.apiServerMs = Date.now() - t;

    writeFileSync(
      this.kubeconfigPath,
      kubeconfigYaml(this.apiServerUrl, ca.certPem, admin, "admin"),
      { mode: 0o600 },
    );
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    this.setClient(kc);

    // kube-controller-manager
    if (withKcm && this.binaries.kubeControllerManager) {
      t = Date.now();
      const kcmConfig = join(pki, "kube-controller-manager.kubeconfig");
      writeFileSync(
        kcmConfig,
        kubeconfigYaml(this.apiServerUrl, ca.certPem, kcmCert, "system:kube-controller-manager"),
        { mode: 0o600 },
      );
      const bin = this.binaries.kubeControllerManager;
      await this.startWithRetry("kube-controller-manager", timeout, async () => {
        const [port] = await freePorts(1);
        const p = this.spawn(
          "kube-controller-manager",
          bin,
          [
            `--kubeconfig=${kcmConfig}`,
            `--authentication-kubeconfig=${kcmConfig}`,
            `--authorization-kubeconfig=${kcmConfig}`,
            "--bind-address=127.0.0.1",
            `--secure-port=${port}`,
            `--cert-dir=${join(this.dataDir, "kcm")}`,
            `--controllers=${(opts.controllers ?? DEFAULT_CONTROLLERS).join(",")}`,
            `--service-account-private-key-file=${sa.privateKeyFile}`,
            `--root-ca-file=${ca.certFile}`,
            // The CSR signer signs with the cluster CA, as kubeadm configures it.
            `--cluster-signing-cert-file=${ca.certFile}`,
            `--cluster-signing-key-file=${ca.keyFile}`,
            "--service-cluster-ip-range=10.0.0.0/24",
            "--use-service-account-credentials=true",
            "--leader-elect=false",
            "--profiling=false",
          ],
          logs,
        );
        return { p, ready: httpOk(`https://127.0.0.1:${port}/healthz`, { insecure: true }) };
      });
      this.timings.controllerManagerMs = Date.now() - t;
    }

    // kube-scheduler: pods get their PodScheduled condition (Unschedulable: there are no nodes).
    const withScheduler = (opts.scheduler ?? true) && this.binaries.kubeScheduler !== undefined;
    if (opts.scheduler && !this.binaries.kubeScheduler) {
      throw new Error(
        "e2e harness: kube-scheduler was requested but is not in " + this.binaries.source,
      );
    }
    this.hasScheduler = withScheduler;
    if (withScheduler && this.binaries.kubeScheduler) {
      t = Date.now();
      const schedulerConfig = join(pki, "kube-scheduler.kubeconfig");
      writeFileSync(
        schedulerConfig,
        kubeconfigYaml(this.apiServerUrl, ca.certPem, schedulerCert, "system:kube-scheduler"),
        { mode: 0o600 },
      );
      const bin = this.binaries.kubeScheduler;
      await this.startWithRetry("kube-scheduler", timeout, async () => {
        const [port] = await freePorts(1);
        const p = this.spawn(
          "kube-scheduler",
          bin,
          [
            `--kubeconfig=${schedulerConfig}`,
            `--authentication-kubeconfig=${schedulerConfig}`,
            `--authorization-kubeconfig=${schedulerConfig}`,
            "--bind-address=127.0.0.1",
            `--secure-port=${port}`,
            `--cert-dir=${join(this.dataDir, "scheduler")}`,
            "--leader-elect=false",
            "--profiling=false",
          ],
          logs,
        );
        return { p, ready: httpOk(`https://127.0.0.1:${port}/healthz`, { insecure: true }) };
      });
      this.timings.schedulerMs = Date.now() - t;
    }
  }

  private async auditArgs(
    audit: AuditOptions,
    sinkCert: IssuedCert,
    ca: CertAuthority,
  ): Promise<string[]> {
    const dir = join(this.dataDir, "audit");
    mkdirSync(dir, { recursive: true });
    this.auditLogPath = join(dir, "audit.log");
    const port = await freePort();
    this.auditSink = {
      url: `https://127.0.0.1:${port}/audit`,
      port,
      certFile: sinkCert.certFile,
      keyFile: sinkCert.keyFile,
      caFile: ca.certFile,
      caPem: ca.certPem,
    };
    const target = audit.webhook ?? { url: this.auditSink.url, caBundlePem: ca.certPem };
    const cfg = join(dir, "webhook.kubeconfig");
    writeFileSync(
      cfg,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "audit-sink",
            cluster: {
              server: target.url,
              "certificate-authority-data": Buffer.from(target.caBundlePem).toString("base64"),
            },
          },
        ],
        users: [{ name: "kube-apiserver", user: {} }],
        contexts: [
          { name: "audit-sink", context: { cluster: "audit-sink", user: "kube-apiserver" } },
        ],
        "current-context": "audit-sink",
      }),
    );
    return [
      `--audit-policy-file=${audit.policyFile ?? AUDIT_POLICY_FILE}`,
      `--audit-log-path=${this.auditLogPath}`,
      "--audit-log-format=json",
      "--audit-log-mode=blocking",
      // Batch mode never blocks a request on the sink: while none listens, batches are retried and dropped.
      `--audit-webhook-config-file=${cfg}`,
      "--audit-webhook-mode=batch",
      `--audit-webhook-batch-max-wait=${audit.batchMaxWaitSeconds ?? 1}s`,
      "--audit-webhook-initial-backoff=1s",
    ];
  }

  /**
   * --admission-control-config-file: the ValidatingAdmissionWebhook plugin reads its kubeconfig, whose
   * users (keyed by webhook host) carry a client certificate of a CA of its own.
   */
  private admissionConfigArgs(pki: string, hosts: string[]): string[] {
    const dir = join(pki, "webhook-client");
    const ca = CertAuthority.create(dir, "nhi-e2e-webhook-client-ca");
    const client = ca.issue("kube-apiserver-webhook-client", {
      commonName: "kube-apiserver-webhook-client",
      usage: "client",
    });
    this.webhookClientCa = { certFile: ca.certFile, certPem: ca.certPem };
    const kubeconfig = join(dir, "admission.kubeconfig");
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        users: hosts.map((name) => ({
          name,
          user: { "client-certificate": client.certFile, "client-key": client.keyFile },
        })),
      }),
      { mode: 0o600 },
    );
    const config = join(dir, "admission-config.yaml");
    writeFileSync(
      config,
      stringify({
        apiVersion: "apiserver.config.k8s.io/v1",
        kind: "AdmissionConfiguration",
        plugins: [
          {
            name: "ValidatingAdmissionWebhook",
            configuration: {
              apiVersion: "apiserver.config.k8s.io/v1",
              kind: "WebhookAdmissionConfiguration",
              kubeConfigFile: kubeconfig,
            },
          },
        ],
      }),
    );
    return [`--admission-control-config-file=${config}`];
  }

  private spawn(name: string, bin: string, args: string[], logs: string): ManagedProcess {
    // stop() may run while start() is still booting (a signal): start nothing after it.
    if (this.stopped) throw new Error(`e2e harness: control plane stopped while starting ${name}`);
    const p = ManagedProcess.spawn(name, bin, args, join(logs, `${name}.log`));
    this.procs.push(p);
    this.guard.add(p);
    this.log(`started ${name} (pid ${p.pid})`);
    return p;
  }

  /** Starts a component and waits for its probe; retries on a port race, fails with its log tail. */
  private async startWithRetry(
    name: string,
    timeoutMs: number,
    launch: () => Promise<{ p: ManagedProcess; ready: Probe }>,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const { p, ready } = await launch();
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && p.running) {
        if (await ready()) return;
        await sleep(100);
      }
      const tail = p.logTail();
      await p.stop(2_000);
      this.procs.splice(this.procs.indexOf(p), 1);
      if (/address already in use/i.test(tail) && attempt < 3) continue;
      const why = p.exit
        ? `exited (${p.exit.signal ?? `code ${p.exit.code}`})`
        : `not ready after ${timeoutMs} ms`;
      throw new Error(`e2e harness: ${name} ${why}; last log lines (${p.logFile}):\n${tail}`);
    }
  }

  /** Stops kube-scheduler, kube-controller-manager, kube-apiserver, etcd (reverse order) and removes the data dir. */
  override async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const p of [...this.procs].reverse()) await p.stop();
    this.guard.release();
    this.untrack();
    if (!this.keepData) rmSync(this.dataDir, { recursive: true, force: true });
    else process.stderr.write(`e2e harness: kept ${this.dataDir}\n`);
  }

  /**
   * Stops kube-apiserver (SIGTERM, or SIGKILL with `{ kill: true }`), keeps it down for `downMs`, and
   * starts it again with the same flags, port and certificates; resolves when it is ready. etcd keeps
   * the data, so clients see a restart: dropped connections and watches, then the same cluster.
   */
  async restartApiServer(
    opts: { downMs?: number; kill?: boolean; timeoutMs?: number } = {},
  ): Promise<void> {
    const launch = this.apiServerLaunch;
    const old = this.procs.find((p) => p.name === "kube-apiserver");
    if (!launch || !old) throw new Error("e2e harness: no kube-apiserver to restart");
    if (opts.kill) old.killNow();
    await old.stop(opts.kill ? 1_000 : 10_000);
    this.procs.splice(this.procs.indexOf(old), 1);
    await sleep(opts.downMs ?? 0);
    const p = this.spawn("kube-apiserver", this.binaries.kubeApiserver, launch.args, launch.logs);
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    while (Date.now() < deadline && p.running) {
      if (await launch.ready()) return;
      await sleep(100);
    }
    throw new Error(
      `e2e harness: kube-apiserver did not come back after a restart; last log lines (${p.logFile}):\n${p.logTail()}`,
    );
  }

  killNow(): void {
    for (const p of this.procs) p.killNow();
  }

  /** Pids of the running components (for tests of the harness itself). */
  get pids(): Record<string, number> {
    return Object.fromEntries(this.procs.map((p) => [p.name, p.pid]));
  }
}
