import { expect } from "chai";
import { CATALOGUE, CATALOGUE_BY_ID } from "../../../core/policy/catalogue.js";
import { catalogueHits } from "../../../core/policy/catalogue-hits.js";
import { CLUSTER_ADMIN_RULES, grant, rule } from "./fixtures.js";

describe("escalation catalogue", () => {
  it("has unique ids, an OWASP mapping, a reason and a fix on every entry", () => {
    expect(CATALOGUE_BY_ID.size).to.equal(CATALOGUE.length);
    for (const e of CATALOGUE) {
      expect(e.owasp, e.id).to.not.be.empty;
      expect(e.why, e.id).to.not.be.empty;
      expect(e.fix, e.id).to.not.be.empty;
      expect(e.anyOf.length > 0 || e.ruleShape !== undefined, `${e.id} has a trigger`).to.equal(
        true,
      );
      for (const s of e.supersedes ?? [])
        expect(s === "*" || CATALOGUE_BY_ID.has(s), `${e.id} supersedes ${s}`).to.equal(true);
    }
  });

  it("covers every escalation path the design names, at the intended severity", () => {
    const expected: Record<string, "critical" | "high"> = {
      "wildcard-all-cluster": "critical",
      "rbac-escalate": "critical",
      "rbac-bind": "critical",
      impersonate: "critical",
      "secrets-read-cluster": "critical",
      "nodes-proxy": "critical",
      "csr-approve": "critical",
      "admission-config-write": "critical",
      "wildcard-rule": "high",
      "secrets-read": "high",
      "secrets-create": "high",
      "serviceaccount-token-create": "high",
      "pods-create": "high",
      "workloads-write": "high",
      "pods-exec": "high",
      "rbac-write": "high",
      "namespaces-write": "high",
      "persistentvolumes-create": "high",
    };
    for (const [id, severity] of Object.entries(expected))
      expect(CATALOGUE_BY_ID.get(id)?.severity, id).to.equal(severity);
  });
});

describe("catalogueHits", () => {
  const ids = (hits: { entry: { id: string }; namespace: string }[]): string[] =>
    hits.map((h) => `${h.entry.id}@${h.namespace}`).sort();

  const cases: Array<{
    name: string;
    grants: ReturnType<typeof grant>[];
    include: string[];
    exclude?: string[];
  }> = [
    {
      name: "read-only configmaps reach nothing",
      grants: [grant("shop", [rule([""], ["configmaps"], ["get", "list"])])],
      include: [],
      exclude: ["secrets-read@shop"],
    },
    {
      name: "namespaced secret read is high, in that namespace",
      grants: [grant("shop", [rule([""], ["secrets"], ["get"])])],
      include: ["secrets-read@shop"],
      exclude: ["secrets-read-cluster@*"],
    },
    {
      name: "list secrets returns contents too",
      grants: [grant("shop", [rule([""], ["secrets"], ["list"])])],
      include: ["secrets-read@shop"],
    },
    {
      name: "secret read restricted by resourceNames reaches no catalogue entry",
      grants: [grant("shop", [rule([""], ["secrets"], ["get"], ["tls"])])],
      include: [],
      exclude: ["secrets-read@shop"],
    },
    {
      name: "cluster-wide secret read is critical and hides the namespaced entry",
      grants: [
        grant("*", [rule([""], ["secrets"], ["watch"])]),
        grant("shop", [rule([""], ["secrets"], ["get"])]),
      ],
      include: ["secrets-read-cluster@*"],
      exclude: ["secrets-read@shop", "secrets-read@*"],
    },
    {
      name: "cluster-admin is the full wildcard, one finding that hides every entry it implies",
      grants: [
        grant("*", CLUSTER_ADMIN_RULES, "cluster-admin"),
        grant("shop", [rule([""], ["secrets"], ["get"])]),
      ],
      include: ["wildcard-all-cluster@*"],
      exclude: [
        "wildcard-rule@*",
        "wildcard-all-namespace@*",
        "rbac-escalate@*",
        "impersonate@*",
        "secrets-read-cluster@*",
        "secrets-read@shop",
        "pods-create@*",
      ],
    },
    {
      name: "cluster-admin bound in a namespace is a namespace wildcard with critical parts",
      grants: [grant("dev", CLUSTER_ADMIN_RULES, "cluster-admin")],
      include: ["wildcard-all-namespace@dev", "rbac-escalate@dev", "impersonate@dev"],
      exclude: ["wildcard-all-cluster@*", "wildcard-rule@dev"],
    },
    {
      name: "wildcard verbs on one resource are a wildcard rule",
      grants: [grant("shop", [rule([""], ["configmaps"], ["*"])])],
      include: ["wildcard-rule@shop"],
    },
    {
      name: "pods does not reach pods/exec",
      grants: [grant("shop", [rule([""], ["pods"], ["*"])])],
      include: ["pods-create@shop", "wildcard-rule@shop"],
      exclude: ["pods-exec@shop"],
    },
    {
      name: "get on pods/exec is enough",
      grants: [grant("shop", [rule([""], ["pods/exec"], ["get"])])],
      include: ["pods-exec@shop"],
    },
    {
      name: "patching a deployment is a workload write",
      grants: [grant("shop", [rule(["apps"], ["deployments"], ["patch"])])],
      include: ["workloads-write@shop"],
    },
    {
      name: "deployments/scale is not a workload write",
      grants: [grant("shop", [rule(["apps"], ["deployments/scale"], ["patch"])])],
      include: [],
    },
    {
      name: "CSR approval needs both the approval subresource and the signer",
      grants: [
        grant("*", [
          rule(["certificates.k8s.io"], ["certificatesigningrequests/approval"], ["update"]),
        ]),
      ],
      include: [],
      exclude: ["csr-approve@*"],
    },
    {
      name: "CSR approval split across two grants still reaches it",
      grants: [
        grant(
          "*",
          [rule(["certificates.k8s.io"], ["certificatesigningrequests/approval"], ["update"])],
          "a",
        ),
        grant("*", [rule(["certificates.k8s.io"], ["signers"], ["approve"])], "b"),
      ],
      include: ["csr-approve@*"],
    },
    {
      name: "nodes/proxy get is critical",
      grants: [grant("*", [rule([""], ["nodes/proxy"], ["get"])])],
      include: ["nodes-proxy@*"],
    },
    {
      name: "impersonating service accounts",
      grants: [grant("shop", [rule([""], ["serviceaccounts"], ["impersonate"])])],
      include: ["impersonate@shop"],
    },
    {
      name: "impersonating one named user extra is impersonation",
      grants: [
        grant("*", [rule(["authentication.k8s.io"], ["userextras/scopes"], ["impersonate"])]),
      ],
      include: ["impersonate@*"],
    },
    {
      name: "every verb on every apps resource is no impersonation",
      grants: [grant("*", [rule(["apps"], ["*"], ["*"])])],
      include: ["wildcard-rule@*", "workloads-write@*"],
      exclude: ["impersonate@*"],
    },
    {
      name: "impersonate on an unrelated resource is not",
      grants: [grant("*", [rule(["apps"], ["deployments"], ["impersonate"])])],
      include: [],
    },
    {
      name: "webhook configuration writes",
      grants: [
        grant("*", [
          rule(["admissionregistration.k8s.io"], ["validatingwebhookconfigurations"], ["patch"]),
        ]),
      ],
      include: ["admission-config-write@*"],
    },
    {
      name: "token minting",
      grants: [grant("ci", [rule([""], ["serviceaccounts/token"], ["create"])])],
      include: ["serviceaccount-token-create@ci"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = ids(catalogueHits(c.grants));
      for (const want of c.include) expect(got, `expected ${want}`).to.include(want);
      for (const not of c.exclude ?? []) expect(got, `unexpected ${not}`).to.not.include(not);
      if (c.include.length === 0 && !c.exclude) expect(got).to.deep.equal([]);
    });
  }

  it("names the grants that contribute and the triggering permission", () => {
    const a = grant(
      "*",
      [rule(["certificates.k8s.io"], ["certificatesigningrequests/approval"], ["update"])],
      "approver",
      "a",
    );
    const b = grant("*", [rule(["certificates.k8s.io"], ["signers"], ["approve"])], "signer", "b");
    const c = grant("*", [rule([""], ["configmaps"], ["get"])], "other", "c");
    const [hit] = catalogueHits([a, b, c]).filter((h) => h.entry.id === "csr-approve");
    expect(hit?.grants.map((g) => g.binding.name)).to.deep.equal(["a", "b"]);
    expect(hit?.permissions).to.have.length(2);
  });
});
