// The operator's command line: every flag, its default and its validation, into OperatorOptions.
// main.ts composes the process from the result.
import type { CertPolicy } from "../core/certs/plan.js";
import { parseDuration } from "../core/nhi/duration.js";
import type { FailurePolicy } from "../webhooks/config.js";
import { DEFAULT_CERT_SECRET, DEFAULT_SERVICE_NAME } from "./certs/self-managed.js";
import { ELECTION_DEFAULTS, electionTimingProblem } from "./k8s/leader.js";
import { CONTROLLER_DEFAULTS, type ControllerOptions } from "./reconcilers.js";

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
  selfManagedCerts?: {
    secretName: string;
    serviceName: string;
    extraNames: string[];
    webhookConfigurationName?: string;
    policy?: CertPolicy;
    resyncMs?: number;
  };
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
  /** Serve the audit sink (kube-apiserver's audit webhook backend) on its own port and certificate. */
  auditSink?: {
    host: string;
    port: number;
    certFile: string;
    keyFile: string;
    trustedMinters: string[];
    /** The learned baseline (new-behaviour) and where it is kept. */
    baseline?: { learningMs: number; configMap: string; writeIntervalMs: number };
  };
  onLostLeadership?: () => void;
}

export const AUDIT_BASELINE_DEFAULTS = {
  learningMs: 24 * 3600_000,
  configMap: "nhi-audit-baseline",
  writeIntervalMs: 60_000,
};

export const DEFAULTS: OperatorOptions = {
  host: "0.0.0.0",
  port: 8443,
  metricsHost: "0.0.0.0",
  metricsPort: 8080,
  installCrds: false,
  failurePolicy: "Fail",
  ownNamespace: "nhi-system",
  stallAfterMs: 180_000,
};

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
                             (the API server, through its admission configuration's kubeconfig);
                             re-read when the file changes
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
  --audit-port N --audit-cert-file F --audit-key-file F [--audit-host ADDR]
                             serve the audit sink (kube-apiserver --audit-webhook-config-file, batch mode)
                             on its own port and certificate; findings become Warning Events, the NHI's
                             status.anomalies and BehaviourAnomalous condition, PolicyReport results, and
                             the NHI's spec.onAnomaly response (Notify, Rotate, Suspend)
  --audit-trusted-minter USER  an identity whose TokenRequests are expected (repeatable; the operator's
                             own identity, learned from the API server, always is)
  --audit-anomaly-window DUR BehaviourAnomalous stays True this long after a finding's last event (default 24h)
  --audit-learning-window DUR  how long each identity's habits are learned before new ones are findings,
                             and its permission use before unused ones are proposed in status.rightsize (default 24h)
  --audit-baseline-configmap NAME  the baseline's ConfigMaps in --namespace: NAME-0, NAME-1, … (default nhi-audit-baseline)
  --audit-baseline-write-interval DUR  at most one baseline write this often (default 60s)
  The leader serves GET /inventory[?namespace=NS] on the metrics port; followers answer 503 naming the
  leader (its identity, pod, and $POD_IP:metrics-port as recorded on the Lease).`;

const managed = (): NonNullable<OperatorOptions["selfManagedCerts"]> => ({
  secretName: DEFAULT_CERT_SECRET,
  serviceName: DEFAULT_SERVICE_NAME,
  extraNames: [],
});

/** --help: the usage text, printed to stdout with exit status 0 (a container's `--help` is not an error). */
export class HelpRequested extends Error {}

export function parseArgs(argv: string[]): OperatorOptions {
  const o: OperatorOptions = { ...DEFAULTS, controllers: { ...CONTROLLER_DEFAULTS } };
  const ctl = (): ControllerOptions => (o.controllers ??= { ...CONTROLLER_DEFAULTS });
  let noControllers = false;
  const audit: Partial<NonNullable<OperatorOptions["auditSink"]>> = {};
  const auditBaseline = { ...AUDIT_BASELINE_DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] ?? "";
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    const num = (): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 0 || n > 65535)
        throw new Error(`${flag} needs a port number`);
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
        throw new Error(
          `${flag} needs a duration such as 90s, 20m or 720h (got ${JSON.stringify(v)})`,
        );
      }
    };
    switch (flag) {
      case "--kubeconfig":
        o.kubeconfig = value();
        break;
      case "--host":
        o.host = value();
        break;
      case "--port":
        o.port = num();
        break;
      case "--metrics-host":
        o.metricsHost = value();
        break;
      case "--metrics-port":
        o.metricsPort = num();
        break;
      case "--cert-file":
        o.certFile = value();
        break;
      case "--key-file":
        o.keyFile = value();
        break;
      case "--dev-cert-dir":
        o.devCertDir = value();
        break;
      case "--self-managed-certs":
        o.selfManagedCerts = { ...managed(), ...o.selfManagedCerts };
        break;
      case "--cert-secret":
        o.selfManagedCerts = { ...managed(), ...o.selfManagedCerts, secretName: value() };
        break;
      case "--service-name":
        o.selfManagedCerts = { ...managed(), ...o.selfManagedCerts, serviceName: value() };
        break;
      case "--cert-names":
        o.selfManagedCerts = {
          ...managed(),
          ...o.selfManagedCerts,
          extraNames: value()
            .split(",")
            .map((n) => n.trim())
            .filter((n) => n !== ""),
        };
        break;
      case "--client-ca-file":
        o.clientCaFile = value();
        break;
      case "--install-crds":
        o.installCrds = true;
        break;
      case "--register-webhook":
        o.registerUrl = value();
        break;
      case "--failure-policy": {
        const v = value();
        if (v !== "Fail" && v !== "Ignore") throw new Error("--failure-policy is Fail or Ignore");
        o.failurePolicy = v;
        break;
      }
      case "--namespace":
        o.ownNamespace = value();
        break;
      case "--no-controllers":
        noControllers = true;
        break;
      case "--lease-name":
        ctl().leaseName = value();
        break;
      case "--lease-namespace":
        ctl().leaseNamespace = value();
        break;
      case "--identity":
        ctl().identity = value();
        break;
      case "--lease-duration":
        ctl().election = { ...ELECTION_DEFAULTS, ...ctl().election, leaseDurationMs: duration() };
        break;
      case "--renew-deadline":
        ctl().election = { ...ELECTION_DEFAULTS, ...ctl().election, renewDeadlineMs: duration() };
        break;
      case "--retry-period":
        ctl().election = { ...ELECTION_DEFAULTS, ...ctl().election, retryPeriodMs: duration() };
        break;
      case "--api-qps":
        ctl().qps = positive();
        break;
      case "--api-burst":
        ctl().burst = positive();
        break;
      case "--unused-after":
        ctl().unusedAfterMs = duration();
        break;
      case "--token-overlap":
        ctl().tokenOverlapMs = duration();
        break;
      case "--kubeconfig-server":
        ctl().kubeconfigServer = value();
        break;
      case "--audit-port":
        audit.port = num();
        break;
      case "--audit-host":
        audit.host = value();
        break;
      case "--audit-cert-file":
        audit.certFile = value();
        break;
      case "--audit-key-file":
        audit.keyFile = value();
        break;
      case "--audit-anomaly-window":
        ctl().anomalyWindowMs = duration();
        break;
      case "--audit-trusted-minter":
        audit.trustedMinters = [...(audit.trustedMinters ?? []), value()];
        break;
      case "--audit-learning-window":
        auditBaseline.learningMs = duration();
        break;
      case "--audit-baseline-configmap":
        auditBaseline.configMap = value();
        break;
      case "--audit-baseline-write-interval":
        auditBaseline.writeIntervalMs = duration();
        break;
      case "--help":
      case "-h":
        throw new HelpRequested(USAGE);
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  if ((o.certFile === undefined) !== (o.keyFile === undefined))
    throw new Error("--cert-file and --key-file go together");
  const baselineFlags = argv.some((a) => /^--audit-(learning-window|baseline-)/.test(a));
  if (Object.keys(audit).length > 0 || baselineFlags) {
    if (audit.port === undefined || !audit.certFile || !audit.keyFile)
      throw new Error("the audit sink needs --audit-port, --audit-cert-file and --audit-key-file");
    o.auditSink = {
      host: audit.host ?? o.host,
      port: audit.port,
      certFile: audit.certFile,
      keyFile: audit.keyFile,
      trustedMinters: audit.trustedMinters ?? [],
      baseline: auditBaseline,
    };
  }
  if (noControllers) delete o.controllers;
  const timingProblem = o.controllers?.election
    ? electionTimingProblem(o.controllers.election)
    : undefined;
  if (timingProblem !== undefined) throw new Error(timingProblem);
  if (o.selfManagedCerts && (o.certFile || o.devCertDir))
    throw new Error("--self-managed-certs excludes --cert-file and --dev-cert-dir");
  return o;
}
