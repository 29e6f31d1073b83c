// The Helm chart (charts/nhi-operator) on the real control plane: helm lint is clean, what helm
// template renders (defaults and every optional feature on) passes the API server's own validation
// (kubectl apply --dry-run=server, with the real ServiceMonitor, PrometheusRule and cert-manager CRDs
// from the shared workspace), helm install creates every object and helm uninstall removes the
// ValidatingWebhookConfiguration. No kubelet runs here, so the operator's pods stay Pending.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { waitFor } from "../harness/wait.js";
import { sharedCluster } from "../harness/mocha.js";
import { ControlPlane } from "../harness/controlplane.js";
import {
  ROLLOUT_RESTART_KINDS,
  TEMPLATE_REWRITABLE_KINDS,
} from "../../core/workloads/pod-template.js";
import { sharedCrdFile } from "../harness/shared.js";
import { resolveHelm } from "../harness/binaries.js";
import {
  ALL_FEATURES_ON,
  CHART_DIR,
  EXAMPLES_DIR,
  INSTALL_MANIFEST,
  INSTALL_NAMESPACE,
  exampleDocuments,
  findObject,
  helm,
  renderChart,
  startAsChart,
  stopProcess,
  withFlag,
  type K8sObject,
} from "../harness/chart.js";
import { CRD_FILES, installCrds } from "./reconcilers-helpers.js";
import { freePort } from "../harness/ports.js";

// kubectl's -o json, read field by field in assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type KubectlJson = Record<string, any>;

const SHARED_CRDS: [file: string, name: string][] = [
  ["monitoring.coreos.com_servicemonitors.yaml", "servicemonitors.monitoring.coreos.com"],
  ["monitoring.coreos.com_prometheusrules.yaml", "prometheusrules.monitoring.coreos.com"],
  ["cert-manager.io_issuers.yaml", "issuers.cert-manager.io"],
  ["cert-manager.io_certificates.yaml", "certificates.cert-manager.io"],
];
const RELEASE = "nhi-operator";
// The installed webhook points at a Service without pods: Ignore and a short timeout so nothing else
// in this run is blocked while it exists (the after hook deletes it in any case).
const HARMLESS_WEBHOOK = [
  "--set",
  "webhook.failurePolicy=Ignore",
  "--set",
  "webhook.timeoutSeconds=1",
];

/** A NonHumanIdentity of an application namespace, optionally with spec.suspended (the field the older CRD lacks). */
const existingNhi = (name: string, namespace: string, suspended: boolean): string =>
  `apiVersion: nhi.io/v1alpha1
kind: NonHumanIdentity
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  owner: { team: platform, contact: platform@example.com }
  purpose: kept across the chart's upgrade
  serviceAccountName: ${name}
${suspended ? "  suspended: true\n" : ""}`;

interface WebhookConfigJson {
  webhooks: {
    failurePolicy: string;
    timeoutSeconds: number;
    clientConfig: { caBundle?: string };
  }[];
}
async function webhookConfig(): Promise<WebhookConfigJson> {
  return JSON.parse(
    await sharedCluster().kubectlOk([
      "get",
      "validatingwebhookconfiguration",
      "nhi-operator",
      "-o",
      "json",
    ]),
  ) as WebhookConfigJson;
}

/** POSTs an AdmissionReview (a RoleBinding of cluster-admin to a ServiceAccount) to the webhook, trusting only `caPem`. */
function admissionReview(
  url: string,
  caPem: string,
  namespace: string,
): Promise<{ allowed: boolean; status?: { message?: string } }> {
  const binding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "escalate", namespace },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
    subjects: [{ kind: "ServiceAccount", name: "worker", namespace }],
  };
  const body = JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "00000000-0000-0000-0000-000000000001",
      kind: { group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding" },
      resource: { group: "rbac.authorization.k8s.io", version: "v1", resource: "rolebindings" },
      name: "escalate",
      namespace,
      operation: "CREATE",
      userInfo: { username: "alice", groups: ["system:authenticated"] },
      object: binding,
    },
  });
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: "POST",
        ca: caPem,
        headers: { "Content-Type": "application/json" },
        timeout: 10_000,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d: string) => (text += d));
        res.on("end", () => {
          try {
            resolve((JSON.parse(text) as { response: { allowed: boolean } }).response);
          } catch {
            reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 500)}`));
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

/** Every object exists in the cluster (kubectl get <kind>.<group> NAME). */
/** Where a `helm install/upgrade/uninstall` of RELEASE acts: its namespace, the cluster, the helm binary. */
interface ReleaseTarget {
  ns: string;
  kubeconfig: string;
  helm: string;
}

/** `helm <verb> RELEASE [chart] --namespace … --kubeconfig … <args>`: helm's result. */
function helmRelease(
  t: ReleaseTarget,
  verb: "install" | "upgrade" | "uninstall",
  args: string[] = [],
  chart = CHART_DIR,
): ReturnType<typeof helm> {
  const release = verb === "uninstall" ? [RELEASE] : [RELEASE, chart];
  return helm(
    [verb, ...release, "--namespace", t.ns, "--kubeconfig", t.kubeconfig, ...args],
    t.helm,
  );
}

/** helmRelease that must succeed: a failure names the verb with helm's output. */
function helmReleaseOk(
  t: ReleaseTarget,
  verb: "install" | "upgrade" | "uninstall",
  args: string[] = [],
  chart = CHART_DIR,
): void {
  const r = helmRelease(t, verb, args, chart);
  assert.equal(r.status, 0, `helm ${verb}:\n${r.stdout}${r.stderr}`);
}

async function assertExist(objects: K8sObject[]): Promise<void> {
  for (const o of objects) {
    const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "";
    const args = [
      "get",
      group ? `${o.kind.toLowerCase()}.${group}` : o.kind.toLowerCase(),
      o.metadata.name,
      "-o",
      "name",
    ];
    const r = await sharedCluster().kubectl(
      o.metadata.namespace ? [...args, "--namespace", o.metadata.namespace] : args,
    );
    assert.equal(r.code, 0, `${o.kind} ${o.metadata.name} was not created: ${r.stderr}`);
  }
}

describe("Helm chart on the real control plane", function () {
  this.timeout(180_000);
  const c = () => sharedCluster();
  const helmPath = (): string => c().helmPath ?? resolveHelm();
  const installedCrds: string[] = [];
  let ns = "";
  const target = (): ReleaseTarget => ({ ns, kubeconfig: c().kubeconfigPath, helm: helmPath() });

  before(async function () {
    await installCrds();
    for (const [file, name] of SHARED_CRDS) {
      const had = (await c().kubectl(["get", "crd", name])).code === 0;
      if (!had) {
        await c().kubectlOk(["apply", "--server-side", "-f", sharedCrdFile(file)]);
        installedCrds.push(name);
      }
    }
    if (installedCrds.length > 0)
      await c().kubectlOk([
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        ...installedCrds.map((n) => `crd/${n}`),
      ]);
    ns = await c().createNamespace("chart");
  });

  after(async function () {
    // Whatever happened: no webhook configuration or cluster-wide RBAC of this test may outlive it.
    helmRelease(target(), "uninstall", ["--ignore-not-found"]);
    await c().kubectl([
      "delete",
      "validatingwebhookconfiguration",
      "nhi-operator",
      "--ignore-not-found",
    ]);
    await c().kubectl([
      "delete",
      "clusterrole,clusterrolebinding",
      "nhi-operator",
      "--ignore-not-found",
    ]);
    await c().kubectl(["delete", "nhipolicy", "default", "nhi-operator", "--ignore-not-found"]);
    if (ns) await c().deleteNamespace(ns);
    for (const name of installedCrds)
      await c().kubectl(["delete", "crd", name, "--ignore-not-found"]);
  });

  it("helm lint is clean, with defaults and with every optional feature on", function () {
    for (const extra of [[], ALL_FEATURES_ON]) {
      const r = helm(["lint", CHART_DIR, "--strict", ...extra], helmPath());
      assert.equal(r.status, 0, `helm lint ${extra.join(" ")}:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/);
    }
  });

  it("helm template passes kubectl apply --dry-run=server, with defaults and with every optional feature on", async function () {
    for (const extra of [[], ALL_FEATURES_ON]) {
      const r = helm(["template", RELEASE, CHART_DIR, "--namespace", ns, ...extra], helmPath());
      assert.equal(r.status, 0, r.stderr);
      const kinds = renderChart(ns, extra, helmPath()).map((o) => o.kind);
      const out = await c().kubectl(["apply", "--dry-run=server", "--namespace", ns, "-f", "-"], {
        input: r.stdout,
      });
      assert.equal(
        out.code,
        0,
        `kubectl apply --dry-run=server (${extra.join(" ") || "defaults"}):\n${out.stderr}`,
      );
      // One line per object: the API server accepted every kind the chart rendered.
      const accepted = out.stdout
        .trim()
        .split("\n")
        .filter((l) => / \(server dry run\)$/.test(l));
      assert.equal(accepted.length, kinds.length, out.stdout);
    }
  });

  it("manifests/install.yaml and every manifests/examples/ file pass kubectl apply --dry-run=server", async function () {
    const examples = exampleDocuments();
    const namespaces = [
      ...new Set([
        INSTALL_NAMESPACE,
        ...examples
          .map((e) => e.doc.metadata.namespace)
          .filter((n): n is string => n !== undefined),
      ]),
    ];
    const created: string[] = [];
    try {
      for (const n of namespaces) {
        if ((await c().kubectl(["get", "namespace", n])).code !== 0) {
          await c().kubectlOk(["create", "namespace", n]);
          created.push(n);
        }
      }
      // The README's command, as a dry run: the API server validates every object against its schema (the CRDs' included).
      const install = await c().kubectl([
        "apply",
        "--server-side",
        "--force-conflicts",
        "--dry-run=server",
        "-f",
        INSTALL_MANIFEST,
      ]);
      assert.equal(
        install.code,
        0,
        `kubectl apply --dry-run=server -f manifests/install.yaml:\n${install.stderr}`,
      );
      assert.match(
        install.stdout,
        /validatingwebhookconfiguration\.admissionregistration\.k8s\.io\/nhi-operator serverside-applied \(server dry run\)/,
      );
      const out = await c().kubectl(["apply", "--dry-run=server", "-f", EXAMPLES_DIR]);
      assert.equal(
        out.code,
        0,
        `kubectl apply --dry-run=server -f manifests/examples/:\n${out.stderr}`,
      );
      const accepted = out.stdout
        .trim()
        .split("\n")
        .filter((l) => / \(server dry run\)$/.test(l));
      assert.equal(accepted.length, examples.length, out.stdout);
    } finally {
      // Waited for: the next tests install into nhi-system, which refuses content while terminating.
      for (const n of created) await c().deleteNamespace(n, { wait: true });
    }
  });

  it("helm install creates every object, helm uninstall removes the ValidatingWebhookConfiguration", async function () {
    const values = [...HARMLESS_WEBHOOK, "--set", "defaultPolicy.enabled=true"];
    const rendered = renderChart(ns, values, helmPath());
    helmReleaseOk(target(), "install", values);

    await assertExist(rendered);
    const vwc = JSON.parse(
      await c().kubectlOk(["get", "validatingwebhookconfiguration", "nhi-operator", "-o", "json"]),
    ) as {
      webhooks: {
        failurePolicy: string;
        clientConfig: { service: { namespace: string; name: string } };
      }[];
    };
    assert.deepEqual(vwc.webhooks[0]?.clientConfig.service, {
      namespace: ns,
      name: "nhi-operator-webhook",
      path: "/validate",
      port: 443,
    });
    const deployment = JSON.parse(
      await c().kubectlOk(["get", "deployment", "nhi-operator", "--namespace", ns, "-o", "json"]),
    ) as { spec: { replicas: number } };
    assert.equal(deployment.spec.replicas, 2);

    helmReleaseOk(target(), "uninstall");
    assert.notEqual(
      (await c().kubectl(["get", "validatingwebhookconfiguration", "nhi-operator"])).code,
      0,
      "the ValidatingWebhookConfiguration outlived helm uninstall",
    );
    assert.notEqual(
      (await c().kubectl(["get", "clusterrole", "nhi-operator"])).code,
      0,
      "the ClusterRole outlived helm uninstall",
    );
    // CRDs (crds/), the default NHIPolicy and the operator's exemption (hooks, resource-policy keep)
    // stay: deleting them would delete every NHI / the cluster's policy.
    await c().kubectlOk(["get", "crd", "nonhumanidentities.nhi.io"]);
    await c().kubectlOk(["get", "nhipolicy", "default", "nhi-operator"]);
    // Its exemption names this release's namespace: the next installs bring their own.
    await c().kubectlOk(["delete", "nhipolicy", "nhi-operator"]);
  });

  it("kubectl apply of manifests/install.yaml (the README's steps, for real) creates every object; the README's uninstall keeps the CRDs and the NHIs of other namespaces", async function () {
    this.timeout(180_000);
    const objects = parseAllDocuments(readFileSync(INSTALL_MANIFEST, "utf8"))
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);
    const app = await c().createNamespace("install-yaml");
    try {
      await c().kubectlOk(["apply", "-f", "-"], { input: existingNhi("kept", app, false) });
      // The README: the CRDs, established, then install.yaml (its image left as it is: no kubelet runs it).
      await c().kubectlOk(["apply", "--server-side", "-f", join(CHART_DIR, "crds")]);
      await c().kubectlOk([
        "wait",
        "--for=condition=Established",
        "crd/nonhumanidentities.nhi.io",
        "crd/nhipolicies.nhi.io",
      ]);
      const apply = await c().kubectl(["apply", "--server-side", "-f", INSTALL_MANIFEST]);
      assert.equal(apply.code, 0, `kubectl apply -f manifests/install.yaml:\n${apply.stderr}`);
      await assertExist(objects);

      // The README's uninstall without Helm: the webhook configuration first, then the namespace and cluster RBAC.
      await c().kubectlOk(["delete", "validatingwebhookconfiguration", "nhi-operator"]);
      await c().kubectlOk(["delete", "namespace", INSTALL_NAMESPACE, "--timeout=90s"]);
      await c().kubectlOk(["delete", "clusterrole,clusterrolebinding", "nhi-operator"]);
      for (const [kind, name] of [
        ["validatingwebhookconfiguration", "nhi-operator"],
        ["clusterrole", "nhi-operator"],
        ["clusterrolebinding", "nhi-operator"],
        ["namespace", INSTALL_NAMESPACE],
      ] as const)
        assert.notEqual(
          (await c().kubectl(["get", kind, name])).code,
          0,
          `${kind} ${name} remained`,
        );
      // Kept, as documented: the CRDs, every NHI outside the operator's namespace, the operator's exemption.
      await c().kubectlOk(["get", "crd", "nonhumanidentities.nhi.io", "nhipolicies.nhi.io"]);
      await c().kubectlOk(["get", "nhi", "kept", "-n", app]);
      await c().kubectlOk(["get", "nhipolicy", "nhi-operator"]);
    } finally {
      await c().kubectl([
        "delete",
        "validatingwebhookconfiguration",
        "nhi-operator",
        "--ignore-not-found",
      ]);
      await c().kubectl([
        "delete",
        "clusterrole,clusterrolebinding",
        "nhi-operator",
        "--ignore-not-found",
      ]);
      await c().kubectl(["delete", "nhipolicy", "nhi-operator", "--ignore-not-found"]);
      await c().kubectl([
        "delete",
        "namespace",
        INSTALL_NAMESPACE,
        "--ignore-not-found",
        "--wait=false",
      ]);
      await c().deleteNamespace(app, { wait: true });
    }
  });

  it("helm upgrade after the README's CRD step: an older CRD is upgraded (the new field served, existing NHIs kept), a values change takes effect, the caBundle is kept and the webhook answers; the operator runs with the chart's ServiceAccount and is never forbidden", async function () {
    this.timeout(240_000);
    // An older release's CRD, built here from the current one: NonHumanIdentity without spec.suspended.
    const nhiCrd = parseAllDocuments(
      readFileSync(CRD_FILES[0] ?? "", "utf8"),
    )[0]?.toJS() as KubectlJson;
    const older = structuredClone(nhiCrd);
    for (const v of older.spec.versions as KubectlJson[])
      delete v.schema.openAPIV3Schema.properties.spec.properties.suspended;
    const app = await c().createNamespace("chart-upgrade");
    const served = async (name: string): Promise<boolean> => {
      // Server-side dry run with kubectl's strict field validation: a field the CRD's schema does
      // not know is refused by name.
      const r = await c().kubectl(
        ["apply", "--dry-run=server", "-o", "jsonpath={.spec.suspended}", "-f", "-"],
        { input: existingNhi(name, app, true) },
      );
      if (r.code === 0) return r.stdout.trim() === "true";
      if (/unknown field "spec\.suspended"/.test(r.stderr)) return false;
      throw new Error(`kubectl apply --dry-run=server: ${r.stderr}`);
    };
    let upgraded = false;
    const olderChart = mkdtempSync(join(tmpdir(), "nhi-chart-older-"));
    try {
      // The older release: this chart with the older CRD in crds/, installed by Helm as a release of
      // it would have (Helm applies crds/ itself). The shared cluster already has the current CRD:
      // replace it and drop its field managers first, so Helm's apply owns it as on a fresh cluster.
      await c().kubectlOk(["replace", "-f", "-"], { input: JSON.stringify(older) });
      await c().kubectlOk([
        "patch",
        "crd",
        nhiCrd.metadata.name,
        "--type=merge",
        "-p",
        '{"metadata":{"managedFields":[{}]}}',
      ]);
      cpSync(CHART_DIR, olderChart, { recursive: true });
      writeFileSync(join(olderChart, "crds", "nonhumanidentities.nhi.io.yaml"), stringify(older));
      const rendered = renderChart(ns, HARMLESS_WEBHOOK, helmPath());
      helmReleaseOk(target(), "install", HARMLESS_WEBHOOK, olderChart);
      await c().kubectlOk([
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        `crd/${nhiCrd.metadata.name}`,
      ]);
      await waitFor(
        "the older CRD to be served (spec.suspended unknown)",
        async () => !(await served("probe")),
        { timeoutMs: 30_000 },
      );
      await c().kubectlOk(["apply", "-f", "-"], { input: existingNhi("existing", app, false) });
      const uid = (
        await c().kubectlOk(["get", "nhi", "existing", "-n", app, "-o", "jsonpath={.metadata.uid}"])
      ).trim();
      const pod = (
        findObject(rendered, "Deployment").spec as {
          template: { spec: { serviceAccountName: string; containers: { args: string[] }[] } };
        }
      ).template.spec;
      const metricsPort = await freePort();
      const webhookPort = await freePort();
      // The chart's own arguments; only the listeners move to loopback ports this machine has free
      // (and the certificate also names 127.0.0.1, which the test calls it by).
      const args = [
        ...withFlag(
          withFlag(pod.containers[0]?.args ?? [], "--port", String(webhookPort)),
          "--metrics-port",
          String(metricsPort),
        ),
        "--cert-names",
        "127.0.0.1",
      ];

      const dir = mkdtempSync(join(tmpdir(), "nhi-chart-e2e-"));
      const { proc, logs, exited } = await startAsChart(c(), ns, pod.serviceAccountName, args, dir);
      try {
        await waitFor(
          "the operator (chart credentials) to sync, lead, inventory and patch its webhook's caBundle",
          async () => {
            if (proc.exitCode !== null)
              throw new Error(`operator exited ${proc.exitCode}: ${logs().slice(-3000)}`);
            return logs().includes("inventory complete") && logs().includes("patched the caBundle");
          },
          { timeoutMs: 90_000, describe: () => logs().slice(-2000) },
        );
        const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
        assert.equal(ready.status, 200, await ready.text());
        // A namespace being deleted refuses new content with a 403 too: that is not the chart's RBAC.
        const forbidden = logs()
          .split("\n")
          .filter((l) => /forbidden|\b403\b/i.test(l) && !/because it is being terminated/.test(l));
        assert.deepEqual(
          forbidden,
          [],
          "the operator was refused something the chart's RBAC does not grant",
        );
        const caBundle = (await webhookConfig()).webhooks[0]?.clientConfig.caBundle;
        assert.ok(
          caBundle,
          "the self-managed certificate's CA was patched into the chart's webhook configuration",
        );

        // The README's upgrade: the CRDs first (Helm never updates crds/; Helm's install applied them,
        // so their fields are Helm's: without --force-conflicts the apply fails on .spec.versions),
        // then helm upgrade with --reuse-values and a changed value.
        await c().kubectlOk([
          "apply",
          "--server-side",
          "--force-conflicts",
          "-f",
          join(CHART_DIR, "crds"),
        ]);
        await c().kubectlOk([
          "wait",
          "--for=condition=Established",
          "--timeout=60s",
          `crd/${nhiCrd.metadata.name}`,
        ]);
        helmReleaseOk(target(), "upgrade", [
          "--reuse-values",
          "--set",
          "replicas=3",
          "--set",
          "webhook.timeoutSeconds=2",
        ]);
        upgraded = true;

        await waitFor("the upgraded CRD to serve spec.suspended", () => served("probe"), {
          timeoutMs: 30_000,
        });
        assert.equal(
          (
            await c().kubectlOk([
              "get",
              "nhi",
              "existing",
              "-n",
              app,
              "-o",
              "jsonpath={.metadata.uid}",
            ])
          ).trim(),
          uid,
          "the NonHumanIdentity created under the older CRD was not kept",
        );
        const deployment = JSON.parse(
          await c().kubectlOk([
            "get",
            "deployment",
            "nhi-operator",
            "--namespace",
            ns,
            "-o",
            "json",
          ]),
        ) as { spec: { replicas: number } };
        assert.equal(
          deployment.spec.replicas,
          3,
          "helm upgrade --set replicas=3 did not take effect",
        );
        const after = await webhookConfig();
        assert.equal(after.webhooks[0]?.timeoutSeconds, 2);
        assert.equal(
          after.webhooks[0]?.failurePolicy,
          "Ignore",
          "--reuse-values kept the install's values",
        );
        assert.equal(
          after.webhooks[0]?.clientConfig.caBundle,
          caBundle,
          "helm upgrade dropped the caBundle the operator patched in",
        );
        // The webhook still answers, over TLS the upgraded configuration's caBundle verifies.
        const review = await admissionReview(
          `https://127.0.0.1:${webhookPort}/validate`,
          Buffer.from(after.webhooks[0]?.clientConfig.caBundle ?? "", "base64").toString("utf8"),
          app,
        );
        assert.equal(review.allowed, false, JSON.stringify(review));
        assert.match(review.status?.message ?? "", /nhi-operator denied/);
      } catch (e) {
        process.stderr.write(`--- operator logs ---\n${logs().slice(-6000)}\n`);
        throw e;
      } finally {
        await stopProcess(proc, exited);
        rmSync(dir, { recursive: true, force: true });
        helmRelease(target(), "uninstall");
      }
    } finally {
      // Whatever happened, the shared cluster gets the current CRDs back.
      if (!upgraded) await installCrds();
      await c().deleteNamespace(app);
      rmSync(olderChart, { recursive: true, force: true });
    }
  });
});

interface AuditEvent {
  auditID: string;
  stage: string;
  verb: string;
  requestReceivedTimestamp: string;
  user: { username: string };
  objectRef?: {
    apiGroup?: string;
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  };
  responseStatus?: { code?: number };
}
/** "group/resource[/subresource]:verb", the unit RBAC grants (resourceNames aside). */
const permission = (group: string, resource: string, verb: string): string =>
  `${group || "core"}/${resource}:${verb}`;

function grantedPermissions(objects: K8sObject[]): Set<string> {
  const rules = objects
    .filter(
      (o) => (o.kind === "ClusterRole" || o.kind === "Role") && o.metadata.name === "nhi-operator",
    )
    .flatMap((o) => o.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]);
  return new Set(
    rules.flatMap((r) =>
      r.apiGroups.flatMap((g) =>
        r.resources.flatMap((res) => r.verbs.map((v) => permission(g, res, v))),
      ),
    ),
  );
}

/** The permissions the audit events show used. */
function usedBy(events: AuditEvent[]): Set<string> {
  // A server-side apply that creates its object is one PATCH answered 201, authorized for patch and,
  // inside the API server (no audit event of its own), for create: it used both.
  return new Set(
    events.flatMap((e) => {
      const resource = `${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""}`;
      const verbs =
        e.verb === "patch" && e.responseStatus?.code === 201 ? ["patch", "create"] : [e.verb];
      return verbs.map((v) => permission(e.objectRef?.apiGroup ?? "", resource, v));
    }),
  );
}

function readAudit(path: string): AuditEvent[] {
  const seen = new Set<string>();
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => (seen.has(e.auditID) ? false : (seen.add(e.auditID), true)));
}

// Minimality measured: a control plane of its own whose audit policy records every request at
// Metadata (the shipped policy leaves Leases and Events out), the chart installed, and the operator
// run as the chart's ServiceAccount through its whole job. Every request that identity made is
// read back from the audit log: none may be forbidden, and every permission the chart grants must
// have been used.
describe("Helm chart RBAC, measured from the API server's audit log", function () {
  this.timeout(600_000);
  let plane: ControlPlane | undefined;
  let dir = "";
  const ns = "nhi-system";
  const app = "app";

  before(async function () {
    if (process.env.E2E_KUBECONFIG) this.skip(); // another cluster's audit log is not ours to read
    dir = mkdtempSync(join(tmpdir(), "nhi-chart-audit-"));
    const policy = join(dir, "audit-policy.yaml");
    writeFileSync(
      policy,
      "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n",
    );
    plane = await ControlPlane.start({ scheduler: false, audit: { policyFile: policy } });
  });
  after(async function () {
    await plane?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the operator, as the chart's ServiceAccount, uses every permission the chart grants and is refused none; helm uninstall deletes the webhook configuration before the Deployment", async function () {
    const p = plane as ControlPlane;
    const helmPath = p.helmPath ?? resolveHelm();
    await p.kubectlOk([
      "apply",
      "--server-side",
      "-f",
      sharedCrdFile("wgpolicyk8s.io_policyreports.yaml"),
    ]);
    await p.kubectlOk([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/policyreports.wgpolicyk8s.io",
    ]);
    await p.kubectlOk(["create", "namespace", ns]);
    await p.kubectlOk(["create", "namespace", app]);
    const rendered = renderChart(ns, HARMLESS_WEBHOOK, helmPath);
    const release: ReleaseTarget = { ns, kubeconfig: p.kubeconfigPath, helm: helmPath };
    helmReleaseOk(release, "install", HARMLESS_WEBHOOK);

    // The job: a token credential rotated with its consumers of every workload kind restarted, a legacy
    // token rotated with its consumers switched, an identity deleted when its lifetime ends, reports.
    const consumer = (kind: string, name: string, secret: string): string => {
      const pod = `{ metadata: { labels: { app: ${name} } }, spec: { serviceAccountName: ${name.split("-")[0]}, restartPolicy: ${kind === "CronJob" ? "OnFailure" : "Always"}, containers: [{ name: c, image: registry.example.com/app:1, env: [{ name: TOKEN, valueFrom: { secretKeyRef: { name: ${secret}, key: token } } }] }] } }`;
      const spec =
        kind === "CronJob"
          ? `{ schedule: "0 0 1 1 *", jobTemplate: { spec: { template: ${pod} } } }`
          : `{ ${kind === "StatefulSet" ? `serviceName: ${name}, ` : ""}selector: { matchLabels: { app: ${name} } }, template: ${pod} }`;
      return `apiVersion: ${kind === "CronJob" ? "batch/v1" : "apps/v1"}\nkind: ${kind}\nmetadata: { name: ${name}, namespace: ${app} }\nspec: ${spec}\n`;
    };
    // The kinds a rotation restarts (rollout restart) and the kinds a legacy-token rotation switches: the operator's own tables.
    const restartable = [...ROLLOUT_RESTART_KINDS];
    const switchable = [...TEMPLATE_REWRITABLE_KINDS];
    const manifests = [
      ...["worker", "reporter", "temp"].map(
        (sa) =>
          `apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: ${sa}, namespace: ${app} }\n`,
      ),
      `apiVersion: v1\nkind: Secret\ntype: kubernetes.io/service-account-token\nmetadata: { name: reporter-token, namespace: ${app}, annotations: { kubernetes.io/service-account.name: reporter } }\n`,
      ...restartable.map((k) => consumer(k, `worker-${k.toLowerCase()}`, "worker-token")),
      ...switchable.map((k) => consumer(k, `reporter-${k.toLowerCase()}`, "reporter-token")),
    ];
    await p.kubectlOk(["apply", "-f", "-"], { input: manifests.join("---\n") });
    const owner =
      "owner: { team: platform, contact: platform@example.com }\n  purpose: measured by the chart e2e";
    const expiresAt = new Date(Date.now() + 40_000).toISOString().replace(/\.\d+Z$/, "Z");
    const nhis = [
      `metadata: { name: worker, namespace: ${app} }\nspec:\n  ${owner}\n  serviceAccountName: worker\n  rollout: true\n  credentials:\n    - { name: ci, type: ServiceAccountToken, secretName: worker-token, ttl: 10m, renewBefore: 9m55s }`,
      `metadata: { name: reporter, namespace: ${app} }\nspec:\n  ${owner}\n  serviceAccountName: reporter\n  legacyTokens: Rotate`,
      `metadata: { name: temp, namespace: ${app} }\nspec:\n  ${owner}\n  serviceAccountName: temp\n  lifetime: { expiresAt: "${expiresAt}", onExpiry: Delete }\n  credentials:\n    - { name: ci, type: ServiceAccountToken, secretName: temp-token, ttl: 1h }`,
    ].map((n) => `apiVersion: nhi.io/v1alpha1\nkind: NonHumanIdentity\n${n}\n`);
    await p.kubectlOk(["apply", "-f", "-"], { input: nhis.join("---\n") });

    const pod = (
      findObject(rendered, "Deployment").spec as {
        template: { spec: { serviceAccountName: string; containers: { args: string[] }[] } };
      }
    ).template.spec;
    const args = withFlag(
      withFlag(pod.containers[0]?.args ?? [], "--port", "0"),
      "--metrics-port",
      String(await freePort()),
    );
    const { proc, logs, exited } = await startAsChart(p, ns, pod.serviceAccountName, args, dir);
    const get = async (
      kind: string,
      name: string,
      namespace = app,
    ): Promise<KubectlJson | undefined> => {
      const r = await p.kubectl([
        "get",
        kind,
        name,
        "--namespace",
        namespace,
        "-o",
        "json",
        "--ignore-not-found",
      ]);
      return r.stdout.trim() ? (JSON.parse(r.stdout) as KubectlJson) : undefined;
    };
    const template = (w: KubectlJson | undefined): KubectlJson | undefined =>
      w?.kind === "CronJob" ? w.spec.jobTemplate.spec.template : w?.spec.template;
    try {
      const alive = (): void => {
        if (proc.exitCode !== null)
          throw new Error(`operator exited ${proc.exitCode}: ${logs().slice(-3000)}`);
      };
      const opts = { timeoutMs: 240_000, describe: () => logs().slice(-2000) };
      await waitFor(
        "the token credential's rotation to restart its consumers of every kind",
        async () => {
          alive();
          const ws = await Promise.all(restartable.map((k) => get(k, `worker-${k.toLowerCase()}`)));
          return ws.every(
            (w) =>
              template(w)?.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"] !==
              undefined,
          );
        },
        opts,
      );
      await waitFor(
        "the legacy token's consumers of every kind to be switched to its successor",
        async () => {
          alive();
          const ws = await Promise.all(
            switchable.map((k) => get(k, `reporter-${k.toLowerCase()}`)),
          );
          return ws.every(
            (w) =>
              template(w)?.spec.containers[0].env[0].valueFrom.secretKeyRef.name !==
              "reporter-token",
          );
        },
        opts,
      );
      await waitFor(
        "the expired identity's ServiceAccount and token Secret to be deleted",
        async () => {
          alive();
          return (
            (await get("serviceaccount", "temp")) === undefined &&
            (await get("secret", "temp-token")) === undefined
          );
        },
        opts,
      );
      await waitFor(
        "a PolicyReport in the application namespace",
        async () => {
          alive();
          return (
            (
              await p.kubectl([
                "get",
                "policyreports.wgpolicyk8s.io",
                "--namespace",
                app,
                "-o",
                "name",
              ])
            ).stdout.trim() !== ""
          );
        },
        opts,
      );
      await waitFor(
        "the caBundle patched into the chart's webhook configuration",
        async () => {
          alive();
          return logs().includes("patched the caBundle");
        },
        opts,
      );
      // Some uses come later than what the waits above see (the old token's revocation after its
      // overlap, an Event's repeat count): wait until the log shows every granted permission used.
      const operatorUser = `system:serviceaccount:${ns}:${pod.serviceAccountName}`;
      const stillUnused = (): string[] => {
        const used = usedBy(
          readAudit(p.auditLogPath ?? "").filter(
            (e) => e.user.username === operatorUser && e.objectRef?.resource,
          ),
        );
        return [...grantedPermissions(rendered)].filter((g) => !used.has(g)).sort();
      };
      await waitFor(
        "the operator to have used every permission the chart grants",
        () => {
          alive();
          return stillUnused().length === 0;
        },
        {
          timeoutMs: 180_000,
          intervalMs: 2_000,
          describe: () => `never used so far: ${stillUnused().join(", ")}`,
        },
      ).catch(() => undefined);
    } catch (e) {
      process.stderr.write(`--- operator logs ---\n${logs().slice(-6000)}\n`);
      throw e;
    } finally {
      await stopProcess(proc, exited);
    }

    // helm uninstall: the webhook configuration must go before the pods that serve it.
    helmReleaseOk(release, "uninstall", ["--wait"]);
    const audit = readAudit(p.auditLogPath ?? "");
    const deleted = (resource: string): number => {
      const e = audit.find(
        (x) =>
          x.verb === "delete" &&
          x.objectRef?.resource === resource &&
          x.objectRef.name === "nhi-operator" &&
          !x.user.username.startsWith("system:serviceaccount:"),
      );
      assert.ok(e, `helm uninstall did not delete ${resource}/nhi-operator`);
      return Date.parse(e.requestReceivedTimestamp);
    };
    assert.ok(
      deleted("validatingwebhookconfigurations") <= deleted("deployments"),
      "helm uninstall deleted the Deployment before the ValidatingWebhookConfiguration",
    );

    const operator = `system:serviceaccount:${ns}:${pod.serviceAccountName}`;
    const mine = audit.filter((e) => e.user.username === operator && e.objectRef?.resource);
    const forbidden = mine
      .filter((e) => e.responseStatus?.code === 403)
      .map(
        (e) =>
          `${e.verb} ${e.objectRef?.apiGroup ?? ""}/${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""} ${e.objectRef?.namespace ?? ""}/${e.objectRef?.name ?? ""}`,
      );
    assert.deepEqual(
      [...new Set(forbidden)],
      [],
      "the API server refused the operator these requests: the chart grants too little",
    );
    const used = usedBy(mine);
    const unused = [...grantedPermissions(rendered)].filter((g) => !used.has(g)).sort();
    process.stderr.write(
      `chart RBAC measured: ${used.size} permissions used: ${[...used].sort().join(", ")}\n`,
    );
    assert.deepEqual(
      unused,
      [],
      `the chart grants permissions the operator never used (used: ${[...used].sort().join(", ")})`,
    );
  });
});
