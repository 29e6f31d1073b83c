import { expect } from "chai";
import { buildInventory } from "../../../core/inventory/index.js";
import { emptySnapshot, indexSnapshot } from "../../../core/snapshot.js";
import { policyReports } from "../../../operator/controllers/reports/decide.js";

const NOW = Date.parse("2026-11-22T12:00:00Z");

describe("PolicyReports from the inventory", () => {
  const s = emptySnapshot();
  s.serviceAccounts = [
    { kind: "ServiceAccount", metadata: { name: "ok", namespace: "a" } },
    { kind: "ServiceAccount", metadata: { name: "shadow", namespace: "a" } },
    { kind: "ServiceAccount", metadata: { name: "admin", namespace: "b" } },
  ];
  s.nhis = [
    {
      apiVersion: "nhi.io/v1alpha1",
      kind: "NonHumanIdentity",
      metadata: { name: "ok", namespace: "a" },
      spec: { owner: { team: "t", contact: "c" }, purpose: "p", serviceAccountName: "ok" },
    },
  ];
  s.rbac = [
    {
      kind: "ClusterRoleBinding",
      metadata: { name: "admin" },
      roleRef: { kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: "admin", namespace: "b" }],
    },
  ];
  s.workloads = [
    { kind: "Pod", metadata: { name: "p", namespace: "a" }, spec: { serviceAccountName: "ok" } },
    {
      kind: "Pod",
      metadata: { name: "q", namespace: "a" },
      spec: { serviceAccountName: "shadow" },
    },
  ];
  const index = indexSnapshot(s);
  const reports = policyReports(buildInventory(s, index, { now: NOW }), NOW);

  it("adds the NHI's runtime-detection findings as nhi-runtime results with their evidence and response", () => {
    const withFindings = policyReports(
      buildInventory(s, index, { now: NOW }),
      NOW,
      undefined,
      (ns, name) =>
        ns === "a" && name === "ok"
          ? [
              {
                id: "token-off-pod@2026-11-22T11:59:00.000Z",
                rule: "token-off-pod",
                severity: "high",
                message: "the token of pod a/p was used from 10.0.0.9 by kubectl",
                firstSeen: "2026-11-22T11:59:00.000Z",
                lastSeen: "2026-11-22T11:59:30.000Z",
                count: 2,
                evidence: { sourceIPs: ["10.0.0.9"], userAgents: ["kubectl/v1.35.4"] },
                response: { action: "Suspend", at: "2026-11-22T11:59:02Z", message: "suspended" },
              },
            ]
          : [],
    );
    const a = withFindings[0];
    const r = a?.results.find((x) => x.policy === "nhi-runtime");
    expect(r).to.include({
      rule: "token-off-pod",
      result: "fail",
      severity: "high",
      category: "OWASP NHI2",
    });
    expect(r?.properties).to.include({
      sourceIPs: "10.0.0.9",
      userAgents: "kubectl/v1.35.4",
      count: "2",
      response: "Suspend: suspended",
    });
    expect(a?.summary.fail).to.equal(1);
  });

  it("writes one wgpolicyk8s.io/v1alpha2 PolicyReport per namespace with a summary", () => {
    expect(
      reports.map((r) => [r.apiVersion, r.kind, r.metadata.namespace, r.metadata.name]),
    ).to.deep.equal([
      ["wgpolicyk8s.io/v1alpha2", "PolicyReport", "a", "nhi-operator"],
      ["wgpolicyk8s.io/v1alpha2", "PolicyReport", "b", "nhi-operator"],
    ]);
    const a = reports[0];
    expect(a?.summary).to.deep.equal({ pass: 1, fail: 0, warn: 1, error: 0, skip: 0 });
    expect(a?.results.map((r) => `${r.policy}/${r.rule}=${r.result}`)).to.deep.equal([
      "nhi-inventory/governed=pass",
      "nhi-claimed/shadow-identity=warn",
    ]);
  });

  it("reports a critical catalogue hit as a failure naming the OWASP category and the resource", () => {
    const hit = reports[1]?.results.find((r) => r.rule === "wildcard-all-cluster");
    expect(hit).to.include({ result: "fail", severity: "critical", category: "NHI5" });
    expect(hit?.resources).to.deep.equal([
      { apiVersion: "v1", kind: "ServiceAccount", name: "admin", namespace: "b" },
    ]);
    expect(hit?.timestamp).to.deep.equal({ seconds: NOW / 1000, nanos: 0 });
  });
});
