// nhictl check, run as a process over the fixture folders: every check, file and line of each
// finding, stdin and a Helm-rendered stream, bad input, and that no secret value is ever printed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { MANIFESTS, ROOT, checkJson, nhictl, type JsonFinding } from "./run.js";

const find = (fs: JsonFinding[], rule: string, name?: string): JsonFinding | undefined =>
  fs.find((f) => f.rule === rule && (name === undefined || f.name === name));

describe("nhictl check (process)", function () {
  this.timeout(30_000);

  it("passes a governed identity whose RBAC and workload stay within its NHI (exit 0)", () => {
    const r = nhictl(["check", `${MANIFESTS}/clean`]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^PASS: 0 violations, 0 warnings in 6 objects from 3 files/m);
  });

  describe("RBAC escalations", () => {
    const { code, report } = checkJson([`${MANIFESTS}/escalation`]);

    it("exits 1 when there are violations", () => expect(code).to.equal(1));

    it("reports cluster-admin for a ServiceAccount as critical, at the binding's file and line", () => {
      const f = find(report.violations, "wildcard-all-cluster");
      expect(f).to.include({
        kind: "ClusterRoleBinding",
        name: "ci-deployer-admin",
        severity: "critical",
        identity: "system:serviceaccount:ci:deployer",
        file: `${MANIFESTS}/escalation/critical.yaml`,
        line: 2,
      });
      expect(f?.fix).to.match(/exemption/);
    });

    it("reports a binding to system:authenticated", () => {
      expect(find(report.violations, "binding-dangerous-group")).to.include({
        name: "everyone-reads-pods",
        line: 16,
        identity: "group:system:authenticated",
      });
    });

    it("reports a governed identity exceeding its NHI scopes, at the binding, with the Role as related location", () => {
      const f = report.violations.find(
        (v) => v.rule === "scope-exceeded" && v.name === "orders-runtime",
      );
      expect(f).to.include({
        kind: "RoleBinding",
        namespace: "shop",
        identity: "system:serviceaccount:shop:orders-api",
        permission: "get secrets in namespace shop",
        line: 15,
      });
      expect(f?.related).to.deep.equal([
        {
          file: `${MANIFESTS}/escalation/scope.yaml`,
          line: 2,
          message: "Role shop/orders-runtime defines the permissions",
        },
      ]);
      expect(f?.message).to.match(/NonHumanIdentity shop\/orders-api/);
    });

    it("folds one finding per object, identity and rule (a big role is one finding listing its permissions)", () => {
      const f = report.violations.filter(
        (v) => v.rule === "scope-exceeded" && v.name === "everyone-reads-pods",
      );
      expect(f).to.have.length(1);
      expect(f[0]?.permissions.length).to.be.greaterThan(10);
    });

    it("follows ClusterRole aggregation to a group subject (system:serviceaccounts:<ns>), judged for every member once, not per known account", () => {
      const f = report.violations.find(
        (v) => v.rule === "pods-exec" && v.identity === "group:system:serviceaccounts:shop",
      );
      expect(f).to.include({
        kind: "RoleBinding",
        name: "shop-support",
        line: 22,
        permission: "create pods/exec in namespace shop",
      });
      expect(f?.message).to.include(
        "every ServiceAccount in namespace shop (group system:serviceaccounts:shop)",
      );
      // reporter (a known, unclaimed member) holds it through the group: the group's finding says so.
      expect(
        report.violations.filter((v) => v.rule === "pods-exec").map((v) => v.identity),
      ).to.deep.equal(["group:system:serviceaccounts:shop"]);
    });

    it("judges a group subject with no ServiceAccount in the files: critical and high permissions fail, worded for every member", () => {
      const role = (kind: string, name: string, ns: string | undefined, rules: string): string =>
        `apiVersion: rbac.authorization.k8s.io/v1\nkind: ${kind}\nmetadata: { name: ${name}${ns ? `, namespace: ${ns}` : ""} }\nrules: [${rules}]\n`;
      const binding = (
        kind: string,
        name: string,
        ns: string | undefined,
        group: string,
        roleKind: string,
        roleName: string,
      ): string =>
        `apiVersion: rbac.authorization.k8s.io/v1\nkind: ${kind}\nmetadata: { name: ${name}${ns ? `, namespace: ${ns}` : ""} }\n` +
        `subjects: [{ kind: Group, apiGroup: rbac.authorization.k8s.io, name: "${group}" }]\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ${roleKind}, name: ${roleName} }\n`;
      const critical = checkJson(
        ["-f", "-"],
        [
          role(
            "ClusterRole",
            "node-debug",
            undefined,
            '{ apiGroups: [""], resources: [nodes/proxy], verbs: [get] }',
          ),
          binding(
            "ClusterRoleBinding",
            "node-debug",
            undefined,
            "system:serviceaccounts:monitoring",
            "ClusterRole",
            "node-debug",
          ),
        ].join("---\n"),
      );
      expect(critical.code, critical.stderr).to.equal(1);
      const f = find(critical.report.violations, "nodes-proxy");
      expect(f).to.include({
        severity: "critical",
        identity: "group:system:serviceaccounts:monitoring",
        kind: "ClusterRoleBinding",
        name: "node-debug",
        line: 6,
      });
      expect(f?.message).to.include("every ServiceAccount in namespace monitoring");

      const high = checkJson(
        ["-f", "-"],
        [
          role("Role", "reader", "shop", '{ apiGroups: [""], resources: [secrets], verbs: [get] }'),
          binding("RoleBinding", "reader", "shop", "system:serviceaccounts", "Role", "reader"),
        ].join("---\n"),
      );
      expect(high.code, high.stderr).to.equal(1);
      expect(find(high.report.violations, "secrets-read")?.message).to.include(
        "every ServiceAccount in the cluster (group system:serviceaccounts)",
      );

      const authenticated = checkJson(
        ["-f", "-"],
        binding(
          "ClusterRoleBinding",
          "all-admin",
          undefined,
          "system:authenticated",
          "ClusterRole",
          "cluster-admin",
        ),
      );
      expect(authenticated.report.violations.map((v) => v.rule)).to.include.members([
        "binding-dangerous-group",
        "wildcard-all-cluster",
      ]);
      expect(find(authenticated.report.violations, "wildcard-all-cluster")?.message).to.include(
        "every ServiceAccount in the cluster (and every authenticated user)",
      );
    });

    it("a catalogue entry two group bindings complete together is reported for the group, not again for a known member", () => {
      const cr = (name: string, rule: string): string =>
        `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: ${name} }\nrules: [${rule}]\n`;
      const crb = (name: string, roleName: string): string =>
        `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: { name: ${name} }\n` +
        `subjects: [{ kind: Group, apiGroup: rbac.authorization.k8s.io, name: "system:serviceaccounts:shop" }]\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${roleName} }\n`;
      const r = checkJson(
        ["-f", "-"],
        [
          "apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: stray, namespace: shop }\n",
          cr(
            "csr-approval",
            "{ apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [update] }",
          ),
          cr(
            "signer",
            "{ apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve] }",
          ),
          crb("a", "csr-approval"),
          crb("b", "signer"),
        ].join("---\n"),
      );
      expect(r.report.violations.map((v) => `${v.rule} ${v.identity ?? ""}`)).to.deep.equal([
        "csr-approve group:system:serviceaccounts:shop",
      ]);
    });

    it("warns about ServiceAccounts no NHI claims", () => {
      expect(report.warnings.map((w) => `${w.rule} ${w.namespace}/${w.name}`)).to.include.members([
        "unclaimed-service-account ci/deployer",
        "unclaimed-service-account shop/reporter",
      ]);
    });
  });

  describe("NonHumanIdentity and NHIPolicy", () => {
    const { code, report } = checkJson([`${MANIFESTS}/governance`]);
    it("exits 1", () => expect(code).to.equal(1));
    it("reports schema errors at the field's line", () => {
      const f = find(report.violations, "nhi-invalid", "broken-ttl");
      expect(f).to.include({ line: 14 });
      expect(f?.message).to.match(/spec\.credentials\[0\]\.ttl/);
      expect(find(report.violations, "nhipolicy-invalid", "broken-policy")).to.include({ line: 6 });
    });
    it("reports critical permissions declared in an NHI's scopes, at the scope", () => {
      expect(find(report.violations, "nhi-critical-scope", "root-of-all")).to.include({
        severity: "critical",
        line: 27,
        identity: "system:serviceaccount:platform:god-mode",
      });
    });
  });

  describe("workloads and token Secrets", () => {
    const { code, report } = checkJson([`${MANIFESTS}/workloads`]);
    it("exits 1", () => expect(code).to.equal(1));
    it("reports a workload running as a governed identity outside its podSelector and images, at serviceAccountName", () => {
      expect(find(report.violations, "workload-selector", "batch-report")).to.include({
        line: 13,
        identity: "system:serviceaccount:pay:payments",
      });
      expect(find(report.violations, "workload-image", "batch-report")).to.include({ line: 13 });
    });
    it("reports a pod template mounting a long-lived token Secret", () => {
      expect(find(report.violations, "token-secret-mount", "nightly")).to.include({
        kind: "CronJob",
        permission: "read Secret pay/legacy-admin-token",
      });
    });
    it("reports a long-lived token Secret for an unclaimed account", () => {
      expect(find(report.violations, "legacy-token-unclaimed", "legacy-admin-token")).to.include({
        line: 2,
      });
    });
  });

  it("never prints a Secret's data, in any format, nor from a broken Secret", () => {
    for (const format of ["text", "json", "sarif", "github"]) {
      const r = nhictl(["check", `${MANIFESTS}/workloads`, "--format", format]);
      expect(r.code).to.equal(1);
      for (const leaked of ["SUPER-SECRET", "U1VQRVIt", "hunter2"]) {
        expect(r.stdout + r.stderr, `${format} leaks ${leaked}`).to.not.include(leaked);
      }
    }
    const broken = nhictl(["check", `${MANIFESTS}/bad/broken.yaml`]);
    expect(broken.stdout + broken.stderr).to.not.include("SUPER-SECRET");
  });

  describe("unclaimed ServiceAccounts and --strict", () => {
    it("are warnings by default (exit 0)", () => {
      const { code, report } = checkJson([`${MANIFESTS}/unclaimed`]);
      expect(code).to.equal(0);
      expect(report.warnings.map((w) => w.rule)).to.deep.equal(["unclaimed-service-account"]);
      expect(report.warnings[0]).to.include({ namespace: "default", name: "metrics-scraper" });
    });
    it("are violations with --strict (exit 1)", () => {
      const { code, report } = checkJson([`${MANIFESTS}/unclaimed`, "--strict"]);
      expect(code).to.equal(1);
      expect(report.violations.map((w) => w.rule)).to.deep.equal(["unclaimed-service-account"]);
    });
    it("take the namespace from --namespace when the manifest names none", () => {
      const { report } = checkJson([`${MANIFESTS}/unclaimed`, "-n", "monitoring"]);
      expect(report.warnings[0]).to.include({ namespace: "monitoring" });
    });
  });

  describe("Kubernetes' default roles and roles defined nowhere", () => {
    const stream = [
      "apiVersion: rbac.authorization.k8s.io/v1",
      "kind: ClusterRoleBinding",
      "metadata: { name: cleaner-gc }",
      "subjects: [{ kind: ServiceAccount, name: cleaner, namespace: shop }]",
      'roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:controller:generic-garbage-collector" }',
      "---",
      "apiVersion: rbac.authorization.k8s.io/v1",
      "kind: RoleBinding",
      "metadata: { name: ghost, namespace: shop }",
      "subjects: [{ kind: ServiceAccount, name: cleaner, namespace: shop }]",
      "roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: ghost-role }",
      "---",
      "apiVersion: rbac.authorization.k8s.io/v1",
      "kind: RoleBinding",
      "metadata: { name: metrics-auth, namespace: kube-system }",
      "subjects: [{ kind: ServiceAccount, name: metrics-server, namespace: monitoring }]",
      "roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: extension-apiserver-authentication-reader }",
      "",
    ].join("\n");
    const { code, report } = checkJson(["-f", "-"], stream);

    it("judges a ServiceAccount bound to system:controller:generic-garbage-collector without the role in the input", () => {
      expect(code).to.equal(1);
      expect(find(report.violations, "secrets-read-cluster", "cleaner-gc")).to.include({
        severity: "critical",
        identity: "system:serviceaccount:shop:cleaner",
        line: 1,
      });
      expect(find(report.violations, "secrets-read-cluster", "cleaner-gc")?.message).to.contain(
        "ClusterRole system:controller:generic-garbage-collector",
      );
    });

    it("warns that a role defined nowhere has unknown permissions, at the binding, and is silent for a kube-system default Role", () => {
      const w = report.warnings.filter((f) => f.rule === "unresolved-role-ref");
      expect(w.map((f) => f.name)).to.deep.equal(["ghost"]);
      expect(w[0]).to.include({ severity: "medium", line: 7, permission: "Role shop/ghost-role" });
      expect(w[0]?.message).to.contain(
        "the permissions of Role shop/ghost-role are unknown: it is defined nowhere in the manifests",
      );
      expect(w[0]?.fix).to.contain("--cluster");
    });
  });

  it("reads a JSON kind: List, with the line of each item", () => {
    const { code, report } = checkJson([`${MANIFESTS}/list/list.json`]);
    expect(code).to.equal(1);
    const f = find(report.violations, "secrets-read-cluster");
    expect(f).to.include({ name: "exporter-secrets", kind: "ClusterRoleBinding", line: 10 });
    expect(f?.related[0]).to.include({ line: 17 });
  });

  it("reads a Helm-rendered stream from stdin (-f -), naming the template each finding comes from", () => {
    const stream = readFileSync(join(ROOT, MANIFESTS, "helm/rendered.yaml"), "utf8");
    const { code, report } = checkJson(["-f", "-", "-n", "analytics"], stream);
    expect(code).to.equal(1);
    expect(find(report.violations, "secrets-read")).to.include({
      file: "<stdin>",
      line: 24,
      origin: "reporting/templates/rbac.yaml",
      namespace: "analytics",
      name: "reports-reader",
      identity: "system:serviceaccount:analytics:reporting",
    });
  });

  it("reads stdin given as the path -, mixed with files", () => {
    const { report } = checkJson(
      ["-", `${MANIFESTS}/unclaimed`],
      "apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: piped, namespace: x }\n",
    );
    expect(report.warnings.map((w) => w.name).sort()).to.deep.equal(["metrics-scraper", "piped"]);
    expect(report.summary.files).to.deep.equal(["<stdin>", `${MANIFESTS}/unclaimed/sa.yaml`]);
  });

  it("applies an NHIPolicy given with --policy: an exemption turns a critical violation into a warning", () => {
    const policy = `${MANIFESTS}/../verdicts/cli-defaults.policy.yaml`;
    const base = checkJson([`${MANIFESTS}/list`, "--policy", policy]);
    expect(base.code).to.equal(1);
    const exempt =
      'apiVersion: nhi.io/v1alpha1\nkind: NHIPolicy\nmetadata: { name: exempt-exporter }\nspec:\n  exemptions:\n    - { serviceAccounts: [obs/exporter], rules: [secrets-read-cluster], reason: "SEC-42: backup exporter" }\n';
    const r = checkJson([`${MANIFESTS}/list`, "--policy", "-"], exempt);
    expect(r.code, JSON.stringify(r.report.violations)).to.equal(0);
    expect(find(r.report.warnings, "secrets-read-cluster")?.message).to.match(
      /allowed by NHIPolicy exempt-exporter exemption: SEC-42/,
    );
  });

  describe("bad input: exit 2 with a message naming file and line", () => {
    const cases: Array<{ name: string; args: string[]; stderr: RegExp }> = [
      {
        name: "broken YAML",
        args: [`${MANIFESTS}/bad/broken.yaml`],
        stderr: /bad\/broken\.yaml:13: invalid YAML in document 2/,
      },
      {
        name: "an unknown kind in a known API group",
        args: [`${MANIFESTS}/bad/unknown-kind.yaml`],
        stderr:
          /bad\/unknown-kind\.yaml:7: unknown kind RoleBindin in rbac\.authorization\.k8s\.io\/v1/,
      },
      {
        name: "an object without kind",
        args: [`${MANIFESTS}/bad/no-kind.yaml`],
        stderr: /bad\/no-kind\.yaml:1: object has no kind/,
      },
      {
        name: "a file that does not exist",
        args: [`${MANIFESTS}/nope.yaml`],
        stderr: /manifests\/nope\.yaml: no such file or directory/,
      },
      {
        name: "an invalid --policy",
        args: [`${MANIFESTS}/clean`, "--policy", `${MANIFESTS}/governance/policy.yaml`],
        stderr: /policy\.yaml:6: invalid NHIPolicy: spec\.requireClaim/,
      },
      {
        name: "an unknown format",
        args: [`${MANIFESTS}/clean`, "--format", "xml"],
        stderr: /unknown --format xml/,
      },
      {
        name: "an unknown option",
        args: [`${MANIFESTS}/clean`, "--frobnicate"],
        stderr: /Unknown option '--frobnicate'/,
      },
      { name: "no manifests", args: [], stderr: /no manifests given/ },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const r = nhictl(["check", ...c.args]);
        expect(r.code, r.stdout).to.equal(2);
        expect(r.stderr).to.match(c.stderr);
        expect(r.stdout).to.equal("");
      });
    }
    // YAML 1.1, as kubectl reads manifests: unquoted y/yes/on are booleans, digits numbers.
    const scalarCases: Array<{ name: string; input: string; stderr: RegExp }> = [
      {
        name: "a ServiceAccount named y (a boolean to YAML)",
        input: "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: y\n  namespace: shop\n",
        stderr:
          /<stdin>:4: metadata\.name must be the object's name, but it is a boolean, true \(quote it as written: YAML reads unquoted y, yes, on/,
      },
      {
        name: "a namespace written as a number",
        input: "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n  namespace: 2024\n",
        stderr:
          /<stdin>:5: metadata\.namespace must be a namespace name, but it is an integer, 2024 \(quote it: "2024"\)/,
      },
      {
        name: "a label value of yes",
        input:
          "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n  labels:\n    app: web\n    managed: yes\n",
        stderr:
          /<stdin>:7: metadata\.labels\.managed must be a string value, but it is a boolean, true/,
      },
      {
        name: "a binding subject named on",
        input:
          "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: { name: b, namespace: shop }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view }\nsubjects:\n  - kind: ServiceAccount\n    name: on\n",
        stderr:
          /<stdin>:7: subjects\[0\]\.name must be the ServiceAccount's name, but it is a boolean, true/,
      },
    ];
    for (const c of scalarCases) {
      it(c.name, () => {
        const r = nhictl(["check", "-f", "-"], { input: c.input });
        expect(r.code, r.stdout).to.equal(2);
        expect(r.stderr).to.match(c.stderr);
      });
    }
    it("broken YAML on stdin names <stdin> and the line", () => {
      const r = nhictl(["check", "-f", "-"], {
        input: "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: [oops\n",
      });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/<stdin>:\d+: invalid YAML/);
    });
  });
});
