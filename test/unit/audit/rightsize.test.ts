// Unused permissions over events recorded from the real API server: what api did (get, list, watch
// ConfigMaps in shop) against what RBAC grants it, through core/rbac's index.
import { expect } from "chai";
import {
  AuditDetector,
  UsageRecorder,
  parseUsageDocument,
  rightsize,
} from "../../../core/audit/index.js";
import { EffectivePermissionIndex } from "../../../core/rbac/index.js";
import type { RbacObject } from "../../../core/rbac/index.js";
import { fixtureEvents } from "./load.js";

const API = { namespace: "shop", name: "api" };
const ID = "system:serviceaccount:shop:api";

function index(...objects: RbacObject[]): EffectivePermissionIndex {
  const i = new EffectivePermissionIndex();
  i.upsertAll(objects);
  return i;
}

const role: RbacObject = {
  kind: "Role",
  metadata: { name: "api", namespace: "shop" },
  rules: [
    { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch", "update"] },
    { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["api-db"] },
  ],
};
const binding: RbacObject = {
  kind: "RoleBinding",
  metadata: { name: "api", namespace: "shop" },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "api" },
  subjects: [{ kind: "ServiceAccount", name: "api", namespace: "shop" }],
};
const clusterView: RbacObject = {
  kind: "ClusterRoleBinding",
  metadata: { name: "api-view" },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
  subjects: [{ kind: "ServiceAccount", name: "api", namespace: "shop" }],
};

function usage(...files: string[]): UsageRecorder {
  const u = new UsageRecorder();
  const d = new AuditDetector({ declaration: () => undefined }, {}, { usage: u });
  for (const e of fixtureEvents(...files)) d.observe(e);
  return u;
}

describe("audit rightsize: unused permissions", function () {
  it("proposes exactly what was exercised and lists what was granted but unused", function () {
    const u = usage(
      "pod-bound-in-scope",
      "pod-bound-watch",
      "pod-bound-forbidden",
      "selfsubjectrulesreview",
    );
    const p = rightsize(ID, u.usageOf(ID)!, index(role, binding).grantsOf(API), {
      name: "shop/api",
      scopes: [],
    });
    expect(p.roles).to.deep.equal([
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "api-rightsized", namespace: "shop" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
      },
    ]);
    expect(p.proposedScopes).to.deep.equal([
      {
        apiGroups: [""],
        resources: ["configmaps"],
        verbs: ["get", "list", "watch"],
        namespaces: ["shop"],
      },
    ]);
    expect(p.removed).to.deep.equal([
      {
        permission: "update configmaps in namespace shop",
        grant: "RoleBinding shop/api → Role shop/api",
      },
      {
        permission: 'get secrets named "api-db" in namespace shop',
        grant: "RoleBinding shop/api → Role shop/api",
      },
    ]);
    // The denied list of Secrets and the SelfSubjectRulesReview (everyone's) are no usage.
    // Counted: 2 gets/lists, the watch once (its two lines are one request), the review.
    expect(p.events).to.equal(4);
    expect(p.nhi).to.equal("shop/api");
  });

  it("narrows a cluster-wide grant to the namespace where it was used, keeping a grant's names", function () {
    const u = usage("pod-bound-in-scope");
    const p = rightsize(ID, u.usageOf(ID)!, index(clusterView).grantsOf(API));
    expect(p.roles.map((r) => `${r.kind} ${r.metadata.namespace ?? ""}`)).to.deep.equal([
      "Role shop",
    ]);
    expect(p.roles[0]?.rules).to.deep.equal([
      { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] },
    ]);
    expect(p.removed.length).to.be.greaterThan(20);
    expect(p.removed.map((r) => r.permission)).to.include("list pods cluster-wide");

    const named = usage("secret-harvesting");
    const reader = "system:serviceaccount:shop:reader";
    const grants = index(
      { ...role, metadata: { name: "reader", namespace: "shop" } } as RbacObject,
      {
        ...binding,
        metadata: { name: "reader", namespace: "shop" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: "shop" }],
      } as RbacObject,
    ).grantsOf({ namespace: "shop", name: "reader" });
    const q = rightsize(reader, named.usageOf(reader)!, grants);
    // reader's gets of Secrets are granted only for api-db: the proposal keeps that name. Its
    // list of Secrets was allowed by no grant known here: nothing proposed for it.
    expect(q.roles[0]?.rules).to.deep.equal([
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["api-db"] },
    ]);
  });

  it("lists no grant of a member group (system:authenticated's discovery): narrowing one identity cannot remove it", function () {
    const u = usage("pod-bound-in-scope");
    const everyone: RbacObject[] = [
      {
        kind: "ClusterRole",
        metadata: { name: "discovery" },
        rules: [{ nonResourceURLs: ["/api", "/version"], verbs: ["get"] }],
      },
      {
        kind: "ClusterRoleBinding",
        metadata: { name: "discovery" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "discovery" },
        subjects: [
          { kind: "Group", name: "system:authenticated", apiGroup: "rbac.authorization.k8s.io" },
        ],
      },
    ];
    const grants = index(role, binding, ...everyone).grantsOf(API);
    expect(grants.some((g) => g.via === "group:system:authenticated")).to.equal(true);
    const p = rightsize(ID, u.usageOf(ID)!, grants);
    expect(p.removed.map((r) => r.permission)).to.deep.equal([
      "watch configmaps in namespace shop",
      "update configmaps in namespace shop",
      'get secrets named "api-db" in namespace shop',
    ]);
  });

  it("is bounded: past maxPermissions the identity is saturated and no removal is proposed", function () {
    const u = new UsageRecorder({ maxPermissions: 1 });
    for (const e of fixtureEvents("pod-bound-in-scope")) u.observe(e);
    const p = rightsize(ID, u.usageOf(ID)!, index(role, binding).grantsOf(API));
    expect(p.saturated).to.equal(true);
    expect(p.removed).to.deep.equal([]);
    const few = new UsageRecorder({ maxIdentities: 1 });
    for (const e of fixtureEvents("pod-bound-in-scope", "secret-harvesting")) few.observe(e);
    expect(few.identitiesSeen()).to.deep.equal([ID]);
    expect(few.identitiesRefused).to.equal(5);
  });
});

describe("audit rightsize: the usage survives a restart and merges across replicas", function () {
  const all = [
    "pod-bound-in-scope",
    "pod-bound-watch",
    "pod-bound-forbidden",
    "selfsubjectrulesreview",
  ];
  const proposal = (u: UsageRecorder): unknown =>
    rightsize(ID, u.usageOf(ID)!, index(role, binding).grantsOf(API), {
      name: "shop/api",
      scopes: [],
    });

  it("a recorder restored from its stored parts proposes exactly what the original did", function () {
    const before = usage(...all);
    expect(before.dirty).to.equal(true);
    const parts = before.toParts(400);
    expect(parts.length).to.be.greaterThan(0);
    const after = new UsageRecorder();
    for (const p of parts) {
      const r = parseUsageDocument(p);
      if ("error" in r) throw new Error(r.error);
      after.merge(r.document);
    }
    expect(after.toDocument()).to.deep.equal(before.toDocument());
    expect(proposal(after)).to.deep.equal(proposal(before));
    // Merging what it holds already teaches it nothing: the store does not write again.
    after.dirty = false;
    after.merge(before.toDocument());
    expect(after.dirty).to.equal(false);
    expect(after.usageOf(ID)?.events).to.equal(before.usageOf(ID)?.events);
  });

  it("two replicas that each saw part of the traffic propose, once merged, what one seeing all would", function () {
    const a = usage("pod-bound-in-scope", "selfsubjectrulesreview");
    const b = usage("pod-bound-watch", "pod-bound-forbidden");
    const one = usage(...all);
    expect(proposal(a)).to.not.deep.equal(proposal(one));
    a.merge(b.toDocument());
    b.merge(a.toDocument());
    const strip = (p: unknown): unknown => ({ ...(p as object), events: 0, since: "", until: "" });
    expect(strip(proposal(a))).to.deep.equal(strip(proposal(one)));
    expect(strip(proposal(b))).to.deep.equal(strip(proposal(one)));
  });

  it("a damaged stored document is an error naming the field, never a crash", function () {
    const good = JSON.parse(usage(...all).toParts(1 << 20)[0] ?? "{}") as {
      identities: Record<string, { first: unknown; exercised: unknown[] }>;
    };
    const bad = (mutate: (d: typeof good) => void): string => {
      const d = JSON.parse(JSON.stringify(good)) as typeof good;
      mutate(d);
      const r = parseUsageDocument(JSON.stringify(d));
      return "error" in r ? r.error : "parsed";
    };
    expect(parseUsageDocument("{"))
      .to.have.property("error")
      .that.matches(/not JSON/);
    expect("error" in parseUsageDocument('{"apiVersion":"x","identities":{}}')).to.equal(true);
    expect(bad((d) => (d.identities[ID]!.first = "yesterday"))).to.match(
      /identities\["system:serviceaccount:shop:api"\]\.first is not a non-negative number/,
    );
    expect(bad((d) => (d.identities[ID]!.exercised = [{ namespace: "shop", rule: {} }]))).to.match(
      /exercised\[0\]\.rule\.verbs is not one verb/,
    );
    expect(bad((d) => (d.identities["alice"] = d.identities[ID]!))).to.match(
      /identities\["alice"\] is not a ServiceAccount identity/,
    );
    expect(
      bad((d) => (d.identities[ID]!.exercised = Array.from({ length: 513 }, () => ({})))),
    ).to.match(/at most 512 permissions/);
  });

  it("stays bounded when merging: past maxPermissions the identity is saturated", function () {
    const small = new UsageRecorder({ maxPermissions: 1 });
    small.merge(usage(...all).toDocument());
    expect(small.usageOf(ID)?.saturated).to.equal(true);
    expect(small.usageOf(ID)?.exercised.size).to.equal(1);
  });
});
