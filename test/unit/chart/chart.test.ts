import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadCrdDocuments, repoRoot } from "../../../crds/load.js";
import { createValidator } from "../../../core/nhi/validate.js";
import { formatFieldError } from "../../../core/nhi/validation.js";
import { WEBHOOK_RULES, webhookConfiguration } from "../../../webhooks/config.js";
import { ADMISSION_RULE_IDS } from "../../../core/policy/nhi-write.js";
import { buildManifestSet } from "../../../cli/snapshot.js";
import { inventoryFromSnapshot } from "../../../cli/inventory.js";
import {
  ALL_FEATURES_ON,
  CHART_DIR,
  findObject,
  helm,
  renderChart,
  type K8sObject,
} from "../../../e2e/harness/chart.js";

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

const rulesOf = (o: K8sObject): Rule[] => (o.rules as Rule[] | undefined) ?? [];
const scopeOf = (r: Rule, namespaces: string[]): Record<string, unknown> => ({ namespaces, ...r });

describe("Helm chart charts/nhi-operator", function () {
  this.timeout(60_000);
  const ns = "nhi-system";
  let defaults: K8sObject[];
  before(() => {
    defaults = renderChart(ns);
  });

  it("ships the CRDs of crds/ byte for byte (helm installs crds/ first and never deletes them)", () => {
    const root = join(repoRoot(), "crds");
    const source = readdirSync(root)
      .filter((f) => f.endsWith(".yaml"))
      .sort();
    const chart = readdirSync(join(CHART_DIR, "crds")).sort();
    expect(chart).to.deep.equal(source);
    for (const f of source) {
      expect(
        readFileSync(join(CHART_DIR, "crds", f), "utf8"),
        `charts/nhi-operator/crds/${f} differs from crds/${f}: cp crds/*.yaml charts/nhi-operator/crds/`,
      ).to.equal(readFileSync(join(root, f), "utf8"));
    }
  });

  it("declares the operator as a NonHumanIdentity whose scopes are exactly its RBAC, and that NHI is valid", () => {
    for (const objects of [
      defaults,
      renderChart(ns, ALL_FEATURES_ON),
      renderChart(ns, ["--set", "controllers=false"]),
    ]) {
      const nhi = findObject(objects, "NonHumanIdentity", "nhi-operator");
      const clusterRole = findObject(objects, "ClusterRole", "nhi-operator");
      const role = objects.find((o) => o.kind === "Role" && o.metadata.name === "nhi-operator");
      const expected = [
        ...rulesOf(clusterRole).map((r) => scopeOf(r, ["*"])),
        ...(role ? rulesOf(role).map((r) => scopeOf(r, [ns])) : []),
      ];
      expect((nhi.spec as { scopes: unknown[] }).scopes).to.deep.equal(expected);
      expect((nhi.spec as { serviceAccountName: string }).serviceAccountName).to.equal(
        findObject(objects, "ServiceAccount").metadata.name,
      );
      const errors = createValidator(loadCrdDocuments()).validateNonHumanIdentity(nhi);
      expect(errors.map(formatFieldError)).to.deep.equal([]);
    }
  });

  it("the operator's own identity is not Violating under default values: its one critical entry (secrets-read-cluster) is exempted by the chart's NHIPolicy, for its ServiceAccount only", () => {
    const now = new Date("2026-11-29T12:00:00Z");
    const identityOf = (objects: K8sObject[]) => {
      const set = buildManifestSet(
        objects.map((obj) => ({
          obj: structuredClone(obj) as Record<string, unknown>,
          location: { file: "helm template", line: 1 },
          lineOf: () => 1,
        })),
        {
          validator: createValidator(loadCrdDocuments()),
          now,
          knownRuleIds: new Set(ADMISSION_RULE_IDS),
        },
      );
      expect(set.invalid.map((i) => i.errors.map(formatFieldError))).to.deep.equal([]);
      const doc = inventoryFromSnapshot(set, undefined, now).document;
      const self = doc.identities.find((i) => i.namespace === ns && i.name === "nhi-operator");
      expect(self, "the operator's ServiceAccount is in the inventory").to.not.equal(undefined);
      return self as NonNullable<typeof self>;
    };
    const self = identityOf(defaults);
    expect(self.phase, self.reason).to.equal("Active");
    expect(self.excessTotal).to.equal(0);
    expect(self.catalogue.filter((h) => h.severity === "critical")).to.deep.equal([
      { id: "secrets-read-cluster", severity: "critical", namespace: "*", exempt: true },
    ]);
    // What it still holds counts: cluster-wide Secret writes, TokenRequests and workload writes.
    expect((self.risk.factors ?? []).map((f) => f.name)).to.include("privilege-high");
    const policy = findObject(defaults, "NHIPolicy", "nhi-operator");
    expect((policy.metadata.annotations as Record<string, string>)["helm.sh/hook"]).to.equal(
      "pre-install",
    );
    expect(policy.spec).to.deep.include({
      exemptions: [
        {
          serviceAccounts: [`${ns}/nhi-operator`],
          rules: ["secrets-read-cluster", "nhi-critical-scope"],
          reason: (policy.spec as { exemptions: { reason: string }[] }).exemptions[0]?.reason,
        },
      ],
    });
    // Without the exemption the catalogue forbids it, as for any ServiceAccount.
    const strict = identityOf(renderChart(ns, ["--set", "selfIdentity.exemption=false"]));
    expect(strict.phase).to.equal("Violating");
    expect(strict.reason).to.match(/secrets-read-cluster/);
  });

  it("binds the ServiceAccount to the ClusterRole and the Role (Lease) in its namespace; no Lease rights without controllers", () => {
    const crb = findObject(defaults, "ClusterRoleBinding", "nhi-operator");
    expect(crb.subjects).to.deep.equal([
      { kind: "ServiceAccount", name: "nhi-operator", namespace: ns },
    ]);
    const role = findObject(defaults, "Role", "nhi-operator");
    expect(rulesOf(role)).to.deep.equal([
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        verbs: ["get", "create", "update"],
      },
    ]);
    const webhookOnly = renderChart(ns, ["--set", "controllers=false"]);
    expect(webhookOnly.some((o) => o.kind === "Role")).to.equal(false);
    expect(
      (
        findObject(webhookOnly, "Deployment").spec as {
          template: { spec: { containers: { args: string[] }[] } };
        }
      ).template.spec.containers[0]?.args,
    ).to.include("--no-controllers");
  });

  it("may patch only its own ValidatingWebhookConfiguration, and only when it manages the certificates", () => {
    const rule = rulesOf(findObject(defaults, "ClusterRole")).find((r) =>
      r.resources?.includes("validatingwebhookconfigurations"),
    );
    expect(rule).to.deep.equal({
      apiGroups: ["admissionregistration.k8s.io"],
      resources: ["validatingwebhookconfigurations"],
      resourceNames: ["nhi-operator"],
      verbs: ["get", "update"],
    });
    const withCertManager = rulesOf(
      findObject(renderChart(ns, ["--set", "certManager.enabled=true"]), "ClusterRole"),
    );
    expect(
      withCertManager.some((r) => r.resources?.includes("validatingwebhookconfigurations")),
    ).to.equal(false);
  });

  it("renders the ValidatingWebhookConfiguration webhooks/config.ts builds, with the values' failurePolicy, timeout and exclusions", () => {
    const fromCode = webhookConfiguration({
      service: { namespace: ns, name: "nhi-operator-webhook", port: 443 },
      ownNamespace: ns,
      failurePolicy: "Fail",
      timeoutSeconds: 5,
    });
    const rendered = findObject(defaults, "ValidatingWebhookConfiguration");
    expect(rendered.webhooks).to.deep.equal(fromCode.webhooks);
    expect(rendered.metadata.name).to.equal((fromCode.metadata as { name: string }).name);

    const tuned = findObject(
      renderChart("ops", [
        "--set",
        "webhook.failurePolicy=Ignore",
        "--set",
        "webhook.timeoutSeconds=3",
        "--set",
        "webhook.excludeNamespaces={sandbox,kube-system}",
      ]),
      "ValidatingWebhookConfiguration",
    );
    const [w] = tuned.webhooks as Record<string, unknown>[];
    expect(w).to.deep.include({ failurePolicy: "Ignore", timeoutSeconds: 3, rules: WEBHOOK_RULES });
    expect(w?.namespaceSelector).to.deep.equal({
      matchExpressions: [
        {
          key: "kubernetes.io/metadata.name",
          operator: "NotIn",
          values: ["kube-system", "ops", "sandbox"],
        },
      ],
    });
  });

  it("runs a hardened pod with the downward-API env leader election reads", () => {
    const spec = findObject(defaults, "Deployment").spec as {
      replicas: number;
      template: { spec: Record<string, unknown> };
    };
    expect(spec.replicas).to.equal(2);
    const pod = spec.template.spec as {
      securityContext: Record<string, unknown>;
      affinity: Record<string, unknown>;
      containers: Record<string, unknown>[];
    };
    expect(pod.securityContext).to.deep.include({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.securityContext.runAsUser).to.be.a("number").above(0);
    expect(pod.affinity).to.have.property("podAntiAffinity");
    const c = pod.containers[0] as {
      securityContext: unknown;
      env: { name: string; valueFrom: unknown }[];
      resources: { requests?: unknown; limits?: unknown };
      livenessProbe: unknown;
      readinessProbe: unknown;
      args: string[];
    };
    expect(c.securityContext).to.deep.include({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(c.env.map((e) => [e.name, e.valueFrom])).to.deep.equal([
      ["POD_NAME", { fieldRef: { fieldPath: "metadata.name" } }],
      ["POD_IP", { fieldRef: { fieldPath: "status.podIP" } }],
      ["POD_NAMESPACE", { fieldRef: { fieldPath: "metadata.namespace" } }],
    ]);
    expect(c.resources.requests).to.be.an("object");
    expect(c.resources.limits).to.be.an("object");
    expect(c.livenessProbe).to.deep.include({ httpGet: { path: "/healthz", port: "metrics" } });
    expect(c.readinessProbe).to.deep.include({ httpGet: { path: "/readyz", port: "metrics" } });
    expect(c.args).to.include.members(["--self-managed-certs", "--namespace", ns]);
    expect(findObject(defaults, "PodDisruptionBudget").spec).to.deep.include({ minAvailable: 1 });
  });

  it("webhook.clientAuth mounts the API server's client CA from a ConfigMap and passes --client-ca-file; off by default", () => {
    interface Pod {
      containers: {
        args: string[];
        volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
      }[];
      volumes: { name: string; configMap?: unknown }[];
    }
    const podOf = (objects: K8sObject[]): Pod =>
      (findObject(objects, "Deployment").spec as { template: { spec: Pod } }).template.spec;
    const off = podOf(defaults);
    expect(off.containers[0]?.args).to.not.include("--client-ca-file");
    expect(off.volumes.map((v) => v.name)).to.not.include("client-ca");

    const on = podOf(
      renderChart(ns, [
        "--set",
        "webhook.clientAuth.caConfigMap=apiserver-webhook-client-ca",
        "--set",
        "webhook.clientAuth.caKey=client-ca.pem",
      ]),
    );
    const args = on.containers[0]?.args ?? [];
    const file = args[args.indexOf("--client-ca-file") + 1] ?? "";
    expect(args).to.include("--client-ca-file");
    const mount = on.containers[0]?.volumeMounts.find((m) => m.name === "client-ca");
    expect(mount).to.deep.include({ mountPath: "/client-ca", readOnly: true });
    expect(file).to.equal(`${mount?.mountPath}/ca.crt`);
    expect(on.volumes.find((v) => v.name === "client-ca")?.configMap).to.deep.equal({
      name: "apiserver-webhook-client-ca",
      items: [{ key: "client-ca.pem", path: "ca.crt" }],
    });
  });

  it("renders the optional kinds only when asked", () => {
    const optional = [
      "ServiceMonitor",
      "PrometheusRule",
      "NetworkPolicy",
      "NHIPolicy",
      "Certificate",
      "Issuer",
    ];
    // The operator's own exemption (NHIPolicy nhi-operator) is not optional; the default policy is.
    const selfExemption = (o: K8sObject): boolean =>
      o.kind === "NHIPolicy" && o.metadata.name === "nhi-operator";
    expect(defaults.filter((o) => optional.includes(o.kind) && !selfExemption(o))).to.deep.equal(
      [],
    );
    const all = renderChart(ns, ALL_FEATURES_ON);
    for (const kind of optional) findObject(all, kind);
    findObject(all, "NHIPolicy", "default");
    const vwc = findObject(all, "ValidatingWebhookConfiguration");
    expect(vwc.metadata.annotations).to.deep.equal({
      "cert-manager.io/inject-ca-from": `${ns}/nhi-operator-webhook`,
    });
    expect((findObject(all, "Certificate").spec as { secretName: string }).secretName).to.equal(
      "nhi-operator-webhook-certs",
    );
    expect(
      (
        findObject(all, "Deployment").spec as {
          template: { spec: { containers: { args: string[] }[] } };
        }
      ).template.spec.containers[0]?.args,
    )
      .to.include.members(["--cert-file", "/certs/tls.crt"])
      .and.not.include("--self-managed-certs");
  });

  it("PrometheusRule alerts use metric names the operator exports", () => {
    const exported = [
      ...readFileSync(join(repoRoot(), "operator", "controllers", "metrics.ts"), "utf8").matchAll(
        /name: "(nhi_[a-z_]+)"/g,
      ),
      ...readFileSync(join(repoRoot(), "webhooks", "metrics.ts"), "utf8").matchAll(
        /name: "(nhi_[a-z_]+)"/g,
      ),
    ].map((m) => m[1] ?? "");
    const rule = findObject(
      renderChart(ns, ["--set", "prometheusRule.enabled=true"]),
      "PrometheusRule",
    );
    const alerts = (
      rule.spec as { groups: { rules: { alert: string; expr: string }[] }[] }
    ).groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).to.include.members([
      "NHICredentialExpiring",
      "NHIRotationFailing",
      "NHIWebhookErroring",
      "NHIWebhookSlow",
      "NHIIdentitiesViolating",
      "NHIWatchStale",
    ]);
    for (const a of alerts) {
      const used = [...a.expr.matchAll(/\b(nhi_[a-z_]+?)(?:_bucket)?\b/g)].map((m) => m[1] ?? "");
      expect(used, a.alert).to.not.be.empty;
      for (const m of used) expect(exported, `${a.alert} uses ${m}`).to.include(m);
    }
  });

  it("auditSink.learningWindow and baselineConfigMap reach the flags, and the Role names that ConfigMap's parts (baseline and usage)", () => {
    const objects = renderChart(ns, [
      "--set",
      "auditSink.enabled=true",
      "--set",
      "auditSink.learningWindow=2h",
      "--set",
      "auditSink.baselineConfigMap=my-base",
    ]);
    const args =
      (
        findObject(objects, "Deployment").spec as {
          template: { spec: { containers: { args: string[] }[] } };
        }
      ).template.spec.containers[0]?.args ?? [];
    expect(args[args.indexOf("--audit-learning-window") + 1]).to.equal("2h");
    expect(args[args.indexOf("--audit-baseline-configmap") + 1]).to.equal("my-base");
    const named = rulesOf(findObject(objects, "Role")).find(
      (r) => r.resources?.includes("configmaps") && r.resourceNames !== undefined,
    );
    // The baseline's parts and the rightsize usage's parts, nothing else.
    expect(named?.resourceNames).to.deep.equal([
      ...Array.from({ length: 16 }, (_, i) => `my-base-${i}`),
      ...Array.from({ length: 16 }, (_, i) => `my-base-usage-${i}`),
    ]);
    expect(named?.verbs).to.deep.equal(["update", "delete"]);
  });

  it("a wrong value fails helm template naming the field (values.schema.json)", () => {
    const cases: [string[], RegExp][] = [
      [["--set", "webhook.failurePolicy=Sometimes"], /\/webhook\/failurePolicy/],
      [["--set", "replica=3"], /additional properties 'replica' not allowed/],
      [["--set", "securityContext.runAsUser=0"], /\/securityContext\/runAsUser/],
      [["--set", "webhook.excludeNamespaces={Not_A_Namespace}"], /\/webhook\/excludeNamespaces\/0/],
      [["--set", "certManager.enabeld=true"], /additional properties 'enabeld' not allowed/],
      [["--set-string", "replicas=two"], /\/replicas/],
      [
        ["--set", "webhook.clientAuth.caConfigMap=Not_A_Name"],
        /\/webhook\/clientAuth\/caConfigMap/,
      ],
      [["--set", "webhook.clientAuth.caKey=a/b"], /\/webhook\/clientAuth\/caKey/],
      [["--set", "auditSink.learningWindow=a day"], /\/auditSink\/learningWindow/],
      [["--set", "auditSink.baselineConfigMap=My_Base"], /\/auditSink\/baselineConfigMap/],
    ];
    for (const [args, field] of cases) {
      const r = helm(["template", "nhi-operator", CHART_DIR, "--namespace", ns, ...args]);
      expect(r.status, args.join(" ")).to.not.equal(0);
      expect(r.stderr, args.join(" ")).to.match(field);
    }
  });
});
