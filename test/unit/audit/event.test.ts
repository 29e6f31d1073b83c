import { expect } from "chai";
import {
  clientOf,
  grantFromReason,
  isHumanClient,
  parseAuditEvent,
  parseAuditLine,
  parseEventList,
  permissionOf,
} from "../../../core/audit/index.js";
import { fixtureEvents } from "./load.js";

describe("audit events: parsing the real format", function () {
  it("reads credentials as the API server writes them: pod-bound, unbound, legacy", function () {
    const [pod] = fixtureEvents("pod-bound-in-scope");
    expect(pod?.credential).to.deep.include({ kind: "pod-bound", pod: "api-0", node: "node-1" });
    expect(pod?.sourceIP).to.equal("127.0.0.7");
    expect(fixtureEvents("unbound-token-use")[0]?.credential.kind).to.equal("unbound");
    expect(fixtureEvents("legacy-token-use")[0]?.credential).to.deep.equal({
      kind: "legacy",
      secret: "api-legacy",
    });
    const [minted] = fixtureEvents("tokenrequest-by-sa");
    const [used] = fixtureEvents("minted-token-use");
    expect(minted?.issuedCredentialId).to.match(/^JTI=/);
    expect(used?.credential).to.deep.equal({ kind: "unbound", id: minted?.issuedCredentialId });
  });

  it("says what is wrong with a bad line", function () {
    expect(parseAuditLine("   ")).to.equal(undefined);
    expect(parseAuditLine("{not json"))
      .to.have.property("error")
      .that.matches(/^not JSON .*--audit-log-format=json/);
    expect(parseAuditLine("[1]")).to.deep.equal({ error: "not a JSON object" });
    expect(parseAuditLine('{"kind":"Pod"}')).to.deep.equal({
      error: 'kind is "Pod", expected "Event" (an audit.k8s.io/v1 log line)',
    });
    expect(parseAuditLine('{"apiVersion":"audit.k8s.io/v1beta1","kind":"Event"}'))
      .to.have.property("error")
      .that.matches(/^apiVersion is "audit.k8s.io\/v1beta1"/);
    const ok = {
      kind: "Event",
      apiVersion: "audit.k8s.io/v1",
      auditID: "a",
      stage: "ResponseComplete",
      verb: "get",
      user: { username: "u" },
      stageTimestamp: "2026-01-01T00:00:00Z",
    };
    expect(parseAuditEvent({ ...ok, user: {} })).to.deep.equal({
      error: "user.username is missing",
    });
    expect(parseAuditEvent({ ...ok, stage: "Done" }))
      .to.have.property("error")
      .that.matches(/^stage is "Done"/);
    expect(parseAuditEvent({ ...ok, stageTimestamp: "yesterday" }))
      .to.have.property("error")
      .that.matches(/stageTimestamp/);
    expect(parseAuditEvent(ok)).to.have.property("event");
  });

  it("an impersonated request is judged as the impersonated identity", function () {
    const r = parseAuditEvent({
      kind: "Event",
      apiVersion: "audit.k8s.io/v1",
      auditID: "a",
      stage: "ResponseComplete",
      verb: "get",
      stageTimestamp: "2026-01-01T00:00:00Z",
      user: { username: "admin" },
      impersonatedUser: {
        username: "system:serviceaccount:shop:api",
        groups: ["system:serviceaccounts"],
      },
    });
    expect("event" in r && r.event.username).to.equal("system:serviceaccount:shop:api");
  });

  it("reads a webhook batch (EventList), naming bad items by index", function () {
    const [good] = fixtureEvents("pod-bound-in-scope");
    expect(good).to.not.equal(undefined);
    const r = parseEventList({
      kind: "EventList",
      apiVersion: "audit.k8s.io/v1",
      items: [{ kind: "Event" }],
    });
    expect(r).to.deep.equal({
      events: [],
      errors: ["items[0]: auditID is missing: not an audit event (use --audit-log-format=json)"],
    });
    expect(parseEventList({ kind: "List" })).to.have.property("error");
  });

  it("the permission RBAC checked: create without the new object's name, subresources with theirs", function () {
    const [rb, deploy] = fixtureEvents("privilege-change");
    expect(rb && permissionOf(rb).rule).to.deep.equal({
      apiGroups: ["rbac.authorization.k8s.io"],
      resources: ["rolebindings"],
      verbs: ["create"],
    });
    expect(deploy && permissionOf(deploy).namespace).to.equal("shop");
    const [tr] = fixtureEvents("tokenrequest-by-sa");
    expect(tr && permissionOf(tr).rule).to.deep.equal({
      apiGroups: [""],
      resources: ["serviceaccounts/token"],
      verbs: ["create"],
      resourceNames: ["api"],
    });
    const nodes = fixtureEvents("enumeration").find((e) => e.objectRef?.resource === "nodes");
    expect(nodes && permissionOf(nodes).namespace).to.equal("*");
  });

  it("clients: a person's tool or a program", function () {
    expect(clientOf("kubectl/v1.35.2 (linux/amd64) kubernetes/fdc9d74")).to.equal("kubectl");
    expect(clientOf(undefined)).to.equal("");
    expect(["kubectl", "curl", "kubectl1.35", "Helm"].map(isHumanClient)).to.deep.equal([
      true,
      true,
      true,
      true,
    ]);
    expect(["shop-api", "Go-http-client", "nhi-operator", ""].map(isHumanClient)).to.deep.equal([
      false,
      false,
      false,
      false,
    ]);
    expect(
      grantFromReason(
        'RBAC: allowed by ClusterRoleBinding "system:basic-user" of ClusterRole "system:basic-user" to Group "system:authenticated"',
      ),
    ).to.equal("ClusterRoleBinding system:basic-user → ClusterRole system:basic-user");
    expect(grantFromReason("")).to.equal(undefined);
  });
});
