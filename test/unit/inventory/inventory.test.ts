import { expect } from "chai";
import {
  buildInventory,
  desiredStatus,
  inventoryDocument,
  mergeConditions,
  transitions,
  type Inventory,
} from "../../../core/inventory/index.js";
import {
  emptySnapshot,
  indexSnapshot,
  type ClusterSnapshot,
  type SecretMetadata,
  type WorkloadObject,
} from "../../../core/snapshot.js";
import type { NonHumanIdentity, NonHumanIdentitySpec } from "../../../core/nhi/types.js";
import {
  ANNOTATIONS,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  withRecord,
} from "../../../core/rotation/state.js";
import { ADMISSION_DEFAULTS } from "../../../core/policy/settings.js";
import { IdentityGraph } from "../../../core/graph/graph.js";

const NOW = Date.parse("2026-11-22T12:00:00Z");
const DAY = 24 * 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z");

const nhi = (
  name: string,
  spec: Partial<NonHumanIdentitySpec> & { serviceAccountName: string },
  extra: Partial<NonHumanIdentity> = {},
): NonHumanIdentity => ({
  apiVersion: "nhi.io/v1alpha1",
  kind: "NonHumanIdentity",
  metadata: { name, namespace: "shop", generation: 3, creationTimestamp: iso(NOW - 100 * DAY) },
  spec: { owner: { team: "shop", contact: "oncall@example.com" }, purpose: "test", ...spec },
  ...extra,
});
const sa = (name: string, created = NOW - 100 * DAY, annotations?: Record<string, string>) => ({
  kind: "ServiceAccount" as const,
  metadata: {
    name,
    namespace: "shop",
    creationTimestamp: iso(created),
    ...(annotations ? { annotations } : {}),
  },
});
const pod = (
  name: string,
  serviceAccountName: string,
  extra: Record<string, unknown> = {},
): WorkloadObject =>
  ({
    kind: "Pod",
    metadata: { name, namespace: "shop" },
    spec: { serviceAccountName, containers: [{ name: "c", image: "x" }] },
    status: { phase: "Running" },
    ...extra,
  }) as WorkloadObject;
const deployment = (name: string, serviceAccountName: string): WorkloadObject => ({
  kind: "Deployment",
  metadata: { name, namespace: "shop" },
  spec: { template: { metadata: { labels: { app: name } }, spec: { serviceAccountName } } },
});
const legacyToken = (
  name: string,
  saName: string,
  labels: Record<string, string> = {},
): SecretMetadata => ({
  kind: "Secret",
  type: "kubernetes.io/service-account-token",
  metadata: {
    name,
    namespace: "shop",
    labels,
    annotations: { "kubernetes.io/service-account.name": saName },
  },
});

function shop(): ClusterSnapshot {
  const s = emptySnapshot();
  s.serviceAccounts = [
    sa("orders"),
    sa("shadow"),
    sa("idle"),
    sa("legacy"),
    sa("admin"),
    sa("fresh", NOW - DAY),
    sa("left", NOW - 100 * DAY, { "nhi.io/claimed-by": "gone" }),
  ];
  s.nhis = [
    nhi("orders", {
      serviceAccountName: "orders",
      scopes: [
        { namespaces: ["shop"], apiGroups: [""], resources: ["configmaps"], verbs: ["get"] },
      ],
    }),
    nhi("admin", { serviceAccountName: "admin", scopes: [] }),
    nhi("ghost", { serviceAccountName: "does-not-exist" }),
    nhi("old", {
      serviceAccountName: "idle",
      lifetime: { expiresAt: iso(NOW - DAY), onExpiry: "Disable" },
    }),
    nhi("soon", { serviceAccountName: "legacy", lifetime: { expiresAt: iso(NOW + 2 * DAY) } }),
    nhi("quarantine", { serviceAccountName: "fresh", suspended: true }),
  ];
  s.workloads = [
    pod("orders-1", "orders"),
    deployment("orders", "orders"),
    pod("shadow-1", "shadow"),
    deployment("web", "shadow"),
    deployment("worker", "shadow"),
    pod("done", "legacy", { status: { phase: "Succeeded" } }),
    pod("admin-1", "admin"),
  ];
  s.rbac = [
    {
      kind: "Role",
      metadata: { name: "cm", namespace: "shop" },
      rules: [{ apiGroups: [""], resources: ["configmaps", "secrets"], verbs: ["get"] }],
    },
    {
      kind: "RoleBinding",
      metadata: { name: "orders-cm", namespace: "shop" },
      roleRef: { kind: "Role", name: "cm" },
      subjects: [{ kind: "ServiceAccount", name: "orders", namespace: "shop" }],
    },
    {
      kind: "ClusterRoleBinding",
      metadata: { name: "admin" },
      roleRef: { kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: "admin", namespace: "shop" }],
    },
  ];
  s.secrets = [
    legacyToken("legacy-token", "legacy", { "kubernetes.io/legacy-token-last-used": "2026-11-01" }),
    legacyToken("idle-token", "idle", {
      "kubernetes.io/legacy-token-last-used": "2026-01-01",
      "kubernetes.io/legacy-token-invalid-since": "2026-03-01",
    }),
  ];
  return s;
}

const inventory = (s: ClusterSnapshot, now = NOW): Inventory => {
  const index = indexSnapshot(s);
  return buildInventory(s, index, { now, policy: ADMISSION_DEFAULTS });
};
const find = (inv: Inventory, name: string) => {
  const r = inv.identities.find((x) => x.name === name);
  if (!r) throw new Error(`no record for ${name}`);
  return r;
};

describe("inventory: a namespace with claimed, shadow, unused, legacy-token, violating identities", () => {
  const inv = inventory(shop());

  it("lists every ServiceAccount, plus accounts an NHI names that do not exist", () => {
    expect(inv.identities.map((r) => r.name)).to.deep.equal([
      "admin",
      "does-not-exist",
      "fresh",
      "idle",
      "left",
      "legacy",
      "orders",
      "shadow",
    ]);
  });

  const table: Array<[string, string, boolean, RegExp?]> = [
    ["orders", "Violating", false, /1 permissions beyond/],
    ["shadow", "Active", true],
    ["idle", "Expired", false, /past lifetime.expiresAt.*onExpiry Disable/],
    ["legacy", "Expiring", false, /expires at 2026-11-24/],
    ["admin", "Violating", false],
    ["does-not-exist", "Orphaned", false, /does not exist/],
    ["fresh", "Suspended", false],
    ["left", "Orphaned", true, /claimed by NonHumanIdentity gone/],
  ];
  for (const [name, phase, shadow, reason] of table) {
    it(`${name}: ${phase}${shadow ? ", shadow" : ""}`, () => {
      const r = find(inv, name);
      expect(r.phase).to.equal(phase);
      expect(r.shadow).to.equal(shadow);
      if (reason) expect(r.reason).to.match(reason);
    });
  }

  it("reports excess over scopes with binding and role provenance", () => {
    const r = find(inv, "orders");
    expect(r.excess).to.deep.equal([
      {
        verb: "get",
        namespace: "shop",
        apiGroup: "",
        resource: "secrets",
        binding: { kind: "RoleBinding", name: "orders-cm", namespace: "shop" },
        role: { kind: "Role", name: "cm" },
      },
    ]);
    expect(r.catalogue.map((h) => h.id)).to.include("secrets-read");
  });

  it("sees NHI reuse: a shadow account run by two deployments and a bare pod", () => {
    const r = find(inv, "shadow");
    expect(r.workloads).to.deep.equal(["Deployment/web", "Deployment/worker", "Pod/shadow-1"]);
    expect(r.reuse).to.equal(true);
    expect(r.risk.factors?.map((f) => f.name)).to.include.members([
      "ownership-unclaimed",
      "usage-reuse",
    ]);
  });

  it("reads legacy tokens with their last-used and invalid-since labels, and counts finished pods as no use", () => {
    const r = find(inv, "legacy");
    expect(r.pods).to.equal(0);
    expect(r.legacyTokens).to.deep.equal([{ name: "legacy-token", lastUsed: "2026-11-01" }]);
    expect(r.lastUsed).to.equal("2026-11-01T00:00:00Z");
    expect(r.risk.factors?.map((f) => f.name)).to.include("credential-long-lived");
    expect(find(inv, "idle").legacyTokens[0]?.invalidSince).to.equal("2026-03-01");
  });

  it("scores cluster-admin as critical and explains it", () => {
    const r = find(inv, "admin");
    expect(r.risk.level).to.equal("critical");
    expect(r.risk.factors?.[0]?.name).to.equal("privilege-critical");
    expect(r.risk.factors?.[0]?.detail).to.match(/wildcard-all-cluster/);
  });

  it("turns an account unused after the unused period without pods or recorded use", () => {
    const s = shop();
    s.serviceAccounts.push(sa("dormant", NOW - 40 * DAY), sa("new", NOW - 2 * DAY));
    const later = inventory(s);
    expect(find(later, "dormant").phase).to.equal("Unused");
    expect(find(later, "new").phase).to.equal("Active");
  });

  it("expires an NHI that was unused for longer than lifetime.unusedAfter", () => {
    const s = shop();
    s.serviceAccounts.push(sa("batch"));
    s.nhis.push(
      nhi(
        "batch",
        { serviceAccountName: "batch", lifetime: { unusedAfter: "240h", onExpiry: "Notify" } },
        { status: { lastUsed: iso(NOW - 11 * DAY) } },
      ),
    );
    const r = find(inventory(s), "batch");
    expect(r.phase).to.equal("Expired");
    expect(r.reason).to.match(/unused for longer than unusedAfter.*Notify/);
  });
});

describe("inventory: credentials", () => {
  const cert = {
    name: "tls",
    type: "Certificate" as const,
    secretName: "orders-tls",
    renewBefore: "720h",
  };
  const ext = {
    name: "gw",
    type: "External" as const,
    secretName: "gateway",
    expiryJSONPath: "$.data.expiry",
    maxAge: "2160h",
  };
  const tok = {
    name: "ci",
    type: "ServiceAccountToken" as const,
    secretName: "ci-token",
    ttl: "1h",
  };
  const s = shop();
  s.nhis[0] = nhi("orders", {
    serviceAccountName: "orders",
    scopes: [
      {
        namespaces: ["shop"],
        apiGroups: [""],
        resources: ["configmaps", "secrets"],
        verbs: ["get"],
      },
    ],
    credentials: [cert, ext, tok],
  });
  s.secrets.push(
    {
      kind: "Secret",
      type: "kubernetes.io/tls",
      metadata: { name: "orders-tls", namespace: "shop" },
    },
    {
      kind: "Secret",
      type: "Opaque",
      metadata: { name: "gateway", namespace: "shop", creationTimestamp: iso(NOW - 10 * DAY) },
    },
    {
      kind: "Secret",
      type: "Opaque",
      metadata: {
        name: "ci-token",
        namespace: "shop",
        labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
        annotations: withRecord(
          {},
          {
            state: "Idle",
            generation: 4,
            rotations: 3,
            issuedAt: NOW - 30 * 60_000,
            expiresAt: NOW + 30 * 60_000,
          },
        ),
      },
    },
  );
  const facts = new Map([
    [
      "shop/orders-tls",
      {
        secretExists: true,
        annotations: {},
        keys: ["tls.crt"],
        certificate: { notBefore: NOW - 60 * DAY, notAfter: NOW + 20 * DAY },
      },
    ],
    [
      "shop/gateway",
      {
        secretExists: true,
        annotations: {},
        keys: ["expiry"],
        createdAt: NOW - 10 * DAY,
        jsonPath: { problem: "unparseable" as const },
      },
    ],
  ]);
  const index = indexSnapshot(s);
  const inv = buildInventory(s, index, { now: NOW, credentialFacts: facts });
  const creds = inv.byNhi.get("shop/orders")?.credentials ?? [];

  it("reads a certificate's notAfter and turns Expiring within renewBefore", () => {
    expect(creds[0]).to.include({
      name: "tls",
      health: "Expiring",
      expiresAt: iso(NOW + 20 * DAY),
      issuedAt: iso(NOW - 60 * DAY),
    });
  });

  it("says why an expiry JSONPath could not be read without echoing the value", () => {
    expect(creds[1]).to.include({ name: "gw", health: "Unknown" });
    expect(creds[1]?.lastError).to.equal(
      "expiryJSONPath $.data.expiry does not hold an RFC 3339 time or Unix seconds",
    );
  });

  it("reports a managed token from the rotation record on its Secret", () => {
    expect(creds[2]).to.include({
      name: "ci",
      health: "Fresh",
      rotations: 3,
      expiresAt: iso(NOW + 30 * 60_000),
      nextRotationAt: iso(NOW + 10 * 60_000),
    });
  });

  it("makes the NHI Expiring because of the certificate, and the next wake-up the earliest due time", () => {
    const r = inv.byNhi.get("shop/orders");
    expect(r?.phase).to.equal("Expiring");
    expect(r?.nextAt).to.equal(NOW + 10 * 60_000);
  });

  it("writes a status with conditions, observedGeneration and the earliest nextRotationAt", () => {
    const r = inv.byNhi.get("shop/orders");
    if (!r) throw new Error("no record");
    const st = desiredStatus(s.nhis[0] as NonHumanIdentity, r, NOW);
    expect(st.phase).to.equal("Expiring");
    expect(st.observedGeneration).to.equal(3);
    // The certificate should have been renewed 10 days ago (notAfter - renewBefore): overdue comes first.
    expect(st.nextRotationAt).to.equal(iso(NOW - 10 * DAY));
    expect(st.conditions?.map((c) => `${c.type}=${c.status}:${c.reason}`)).to.deep.equal([
      "Ready=True:Reconciled",
      "ScopeCompliant=True:WithinScopes",
      "CredentialsFresh=False:Expiring",
      "InUse=True:PodsRunning",
      "NoLegacyTokens=True:None",
    ]);
    expect(JSON.stringify(st)).not.to.match(/status\.token|"token":/);
  });

  it("carries the audit sink's status.rightsize through unchanged (so its presence is no change to write)", () => {
    const r = inv.byNhi.get("shop/orders");
    if (!r) throw new Error("no record");
    const nhi = s.nhis[0] as NonHumanIdentity;
    const rightsize = {
      observedSince: iso(NOW - 2 * DAY),
      evaluatedAt: iso(NOW - DAY),
      events: 7,
      unusedPermissions: ["update configmaps in namespace shop (RoleBinding shop/a → Role shop/a)"],
      unusedCount: 1,
      proposedScopes: [],
      saturated: false,
    };
    const st = desiredStatus({ ...nhi, status: { ...nhi.status, rightsize } }, r, NOW);
    expect(st.rightsize).to.deep.equal(rightsize);
  });
});

describe("inventory: conditions", () => {
  it("keeps lastTransitionTime while the status holds, moves it when it changes, keeps foreign conditions", () => {
    const first = mergeConditions(
      undefined,
      [{ type: "Ready", status: "True", reason: "A", message: "" }],
      NOW,
    );
    const foreign = {
      type: "Other",
      status: "True" as const,
      reason: "X",
      message: "",
      lastTransitionTime: "2020-01-01T00:00:00Z",
    };
    const same = mergeConditions(
      [...first, foreign],
      [{ type: "Ready", status: "True", reason: "B", message: "m" }],
      NOW + DAY,
    );
    expect(same[0]?.lastTransitionTime).to.equal(iso(NOW));
    expect(same[1]).to.deep.equal(foreign);
    const flipped = mergeConditions(
      same,
      [{ type: "Ready", status: "False", reason: "C", message: "" }],
      NOW + DAY,
      7,
    );
    expect(flipped[0]).to.include({ lastTransitionTime: iso(NOW + DAY), observedGeneration: 7 });
    expect(transitions(same, flipped).map((t) => `${t.type}:${t.from}->${t.to}`)).to.deep.equal(
      ["Ready:True->False", "Other:undefined->True"].slice(0, 1),
    );
  });
});

describe("inventory: the nhi.io/expires-at annotation", () => {
  it("is honoured on an External Secret that declares no JSONPath", () => {
    const s = shop();
    s.nhis[0] = nhi("orders", {
      serviceAccountName: "orders",
      credentials: [{ name: "k", type: "External", secretName: "k" }],
    });
    s.secrets.push({
      kind: "Secret",
      metadata: {
        name: "k",
        namespace: "shop",
        annotations: { [ANNOTATIONS.expiresAt]: iso(NOW - 1000) },
      },
    });
    const r = inventory(s).byNhi.get("shop/orders");
    expect(r?.credentials[0]).to.include({ health: "Expired", expiresAt: iso(NOW - 1000) });
    expect(r?.risk.factors?.map((f) => f.name)).to.include("credential-expired");
  });
});

describe("inventory: legacy tokens under legacyTokens: Forbid", () => {
  it("sets NoLegacyTokens=False naming the Secrets and the fix", () => {
    const s = shop();
    const inv = inventory(s);
    const soon = s.nhis.find((n) => n.metadata.name === "soon") as NonHumanIdentity;
    const rec = inv.byNhi.get("shop/soon");
    if (!rec) throw new Error("no record");
    const cond = desiredStatus(soon, rec, NOW).conditions?.find((c) => c.type === "NoLegacyTokens");
    expect(cond).to.include({ status: "False", reason: "LegacyTokensForbidden" });
    expect(cond?.message).to.match(/legacy-token .*ServiceAccountToken credential/);
  });
});

describe("inventory: legacy tokens under legacyTokens: Rotate", () => {
  const condition = (
    s: ClusterSnapshot,
  ): { status?: string; reason?: string; message?: string } | undefined => {
    const soon = s.nhis.find((n) => n.metadata.name === "soon") as NonHumanIdentity;
    soon.spec.legacyTokens = "Rotate";
    const rec = inventory(s).byNhi.get("shop/soon");
    if (!rec) throw new Error("no record");
    return desiredStatus(soon, rec, NOW).conditions?.find((c) => c.type === "NoLegacyTokens");
  };

  it("reports a token the operator did not issue as being replaced", () => {
    const cond = condition(shop());
    expect(cond).to.include({ status: "False", reason: "LegacyTokensToRotate" });
    expect(cond?.message).to.contain("legacy-token").and.not.contain("Delete them");
  });

  it("counts the operator's own rotated successor as the managed state, not a finding", () => {
    const s = shop();
    s.secrets = s.secrets.filter((x) => x.metadata.name !== "legacy-token");
    s.secrets.push(
      legacyToken("legacy-token-nhi-r1", "legacy", {
        "app.kubernetes.io/managed-by": "nhi-operator",
      }),
    );
    expect(condition(s)).to.include({ status: "True", reason: "RotatedByOperator" });
  });

  it("still reports an operator-issued token under Forbid", () => {
    const s = shop();
    s.secrets.push(
      legacyToken("legacy-token-nhi-r1", "legacy", {
        "app.kubernetes.io/managed-by": "nhi-operator",
      }),
    );
    const soon = s.nhis.find((n) => n.metadata.name === "soon") as NonHumanIdentity;
    const rec = inventory(s).byNhi.get("shop/soon");
    if (!rec) throw new Error("no record");
    expect(
      desiredStatus(soon, rec, NOW).conditions?.find((c) => c.type === "NoLegacyTokens")?.message,
    ).to.contain("legacy-token-nhi-r1");
  });
});

describe("inventory: the cluster's default grants", () => {
  it("does not count Kubernetes' default discovery bindings to every account as excess", () => {
    const s = shop();
    s.rbac.push(
      {
        kind: "ClusterRole",
        metadata: { name: "system:discovery" },
        rules: [{ nonResourceURLs: ["/api", "/apis"], verbs: ["get"] }],
      },
      {
        kind: "ClusterRoleBinding",
        metadata: { name: "system:discovery" },
        roleRef: { kind: "ClusterRole", name: "system:discovery" },
        subjects: [{ kind: "Group", name: "system:authenticated" }],
      },
      // A user's own binding to every account of the namespace is counted.
      {
        kind: "RoleBinding",
        metadata: { name: "all-sa", namespace: "shop" },
        roleRef: { kind: "Role", name: "cm" },
        subjects: [{ kind: "Group", name: "system:serviceaccounts:shop" }],
      },
    );
    const r = find(inventory(s), "legacy");
    expect(r.excess.map((e) => `${e.verb} ${e.resource ?? e.nonResourceURL}`)).to.deep.equal([
      "get configmaps",
      "get secrets",
    ]);
  });
});

describe("inventory: member groups holding grants of their own", () => {
  const withGroups = (): ClusterSnapshot => {
    const s = shop();
    s.rbac.push(
      {
        kind: "ClusterRole",
        metadata: { name: "node-debug" },
        rules: [{ apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] }],
      },
      {
        kind: "ClusterRoleBinding",
        metadata: { name: "node-debug" },
        roleRef: { kind: "ClusterRole", name: "node-debug" },
        subjects: [{ kind: "Group", name: "system:serviceaccounts:monitoring" }],
      },
      {
        kind: "RoleBinding",
        metadata: { name: "all-cm", namespace: "shop" },
        roleRef: { kind: "Role", name: "cm" },
        subjects: [{ kind: "Group", name: "system:serviceaccounts" }],
      },
      // Kubernetes' own default binding: not the group's own grant.
      {
        kind: "ClusterRoleBinding",
        metadata: { name: "system:discovery" },
        roleRef: { kind: "ClusterRole", name: "system:discovery" },
        subjects: [{ kind: "Group", name: "system:authenticated" }],
      },
    );
    return s;
  };

  it("lists each group that holds grants, worded for its members, critical ones violating, with no member account in the snapshot", () => {
    const inv = inventory(withGroups());
    expect(inv.groups.map((g) => g.group)).to.deep.equal([
      "system:serviceaccounts",
      "system:serviceaccounts:monitoring",
    ]);
    const monitoring = inv.groups.find((g) => g.group === "system:serviceaccounts:monitoring");
    // Its own cluster-wide binding, and the shop RoleBinding to system:serviceaccounts, which contains it.
    expect(monitoring).to.deep.include({
      members: "every ServiceAccount in namespace monitoring",
      namespace: "monitoring",
      grants: 2,
      clusterWideGrants: 1,
      violating: true,
    });
    expect(monitoring?.catalogue.map((h) => `${h.id}@${h.namespace}`)).to.have.members([
      "nodes-proxy@*",
      "secrets-read@shop",
    ]);
    expect(monitoring?.reason).to.equal(
      "every ServiceAccount in namespace monitoring holds forbidden permissions: nodes-proxy",
    );
    const all = inv.groups.find((g) => g.group === "system:serviceaccounts");
    expect(all).to.deep.include({ namespace: "*", violating: false });
    expect(all?.catalogue.map((h) => h.id)).to.deep.equal(["secrets-read"]);
  });

  it("counts a group's grants toward each member account's own record", () => {
    const inv = inventory(withGroups());
    expect(find(inv, "shadow").catalogue.map((h) => `${h.id}@${h.namespace}`)).to.include(
      "secrets-read@shop",
    );
  });

  it("an exemption naming the group's namespace makes its hit exempt (not violating)", () => {
    const s = withGroups();
    const index = indexSnapshot(s);
    const policy = {
      ...ADMISSION_DEFAULTS,
      exemptions: [
        { namespaces: ["monitoring"], rules: ["nodes-proxy"], reason: "kubelet metrics, SEC-9" },
      ],
    };
    const monitoring = buildInventory(s, index, { now: NOW, policy }).groups.find(
      (g) => g.group === "system:serviceaccounts:monitoring",
    );
    expect(monitoring?.violating).to.equal(false);
    expect(monitoring?.catalogue.find((h) => h.id === "nodes-proxy")?.exempt).to.equal(true);
  });

  it("the /inventory document carries the groups; a namespace filter keeps that namespace's group and the cluster-wide ones", () => {
    const inv = inventory(withGroups());
    expect(inventoryDocument(inv).groups.map((g) => g.group)).to.deep.equal([
      "system:serviceaccounts",
      "system:serviceaccounts:monitoring",
    ]);
    expect(inventoryDocument(inv, "shop").groups.map((g) => g.group)).to.deep.equal([
      "system:serviceaccounts",
    ]);
    expect(inventoryDocument(inv, "monitoring").groups.map((g) => g.group)).to.deep.equal([
      "system:serviceaccounts",
      "system:serviceaccounts:monitoring",
    ]);
  });
});

describe("inventory: blast radius (identity graph)", () => {
  // shop/launcher may create pods in shop, where shop/admin is cluster-admin: 2 hops.
  const s = shop();
  s.serviceAccounts.push({
    kind: "ServiceAccount",
    metadata: { name: "launcher", namespace: "shop" },
  });
  s.rbac = [
    ...s.rbac,
    {
      kind: "Role",
      metadata: { name: "pods", namespace: "shop" },
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["create"] }],
    },
    {
      kind: "RoleBinding",
      metadata: { name: "launcher-pods", namespace: "shop" },
      roleRef: { kind: "Role", name: "pods" },
      subjects: [{ kind: "ServiceAccount", name: "launcher", namespace: "shop" }],
    },
  ];
  const index = indexSnapshot(s);
  const inv = buildInventory(s, index, {
    now: NOW,
    policy: ADMISSION_DEFAULTS,
    graph: IdentityGraph.fromSnapshot(s, index),
  });

  it("records identities reachable and hops to cluster-admin, and scores a 2-hop path", () => {
    const launcher = find(inv, "launcher");
    expect(launcher.blastRadius?.clusterAdminHops).to.equal(2);
    expect(launcher.blastRadius?.identities).to.be.greaterThan(1);
    const factor = launcher.risk.factors?.find((f) => f.name === "blast-radius-cluster-admin");
    expect(factor?.detail).to.contain("cluster-admin in 2 hops");
    expect(find(inv, "admin").blastRadius?.clusterAdminHops).to.equal(1);
    // orders reads Secrets in shop: the legacy tokens of shop/legacy and shop/idle.
    expect(find(inv, "orders").blastRadius).to.deep.equal({ identities: 2 });
    expect(find(inv, "shadow").blastRadius).to.deep.equal({ identities: 0 });
  });

  it("puts it in the NHI status", () => {
    const rec = find(inv, "admin");
    const nhiObj = s.nhis.find((n) => n.spec.serviceAccountName === "admin") as NonHumanIdentity;
    expect(desiredStatus(nhiObj, rec, NOW).blastRadius).to.deep.equal(rec.blastRadius);
  });

  it("stops walking past its budget: identities past it carry no blastRadius (absent, not zero)", () => {
    const graph = IdentityGraph.fromSnapshot(s, index);
    const opts = { now: NOW, policy: ADMISSION_DEFAULTS, graph };
    const full = buildInventory(s, index, opts).identities.filter((r) => r.blastRadius);
    const capped = buildInventory(s, index, { ...opts, radiusBudgetEdges: 1 });
    const withRadius = capped.identities.filter((r) => r.blastRadius !== undefined);
    expect(withRadius.length).to.be.lessThan(full.length);
    for (const r of capped.identities.filter((x) => x.exists && !withRadius.includes(x)))
      expect(r).not.to.have.property("blastRadius");
  });

  it("is absent without a graph", () => {
    expect(find(inventory(s), "launcher").blastRadius).to.equal(undefined);
  });
});
