import { expect } from "chai";
import { runChain, type Check } from "../../../core/policy/chain.js";
import {
  decideRbacWrite,
  identityChanges,
  type GoverningIdentity,
  type GroupChange,
  type IdentityChange,
  type RbacWriteInput,
} from "../../../core/policy/rbac-write.js";
import {
  ADMISSION_DEFAULTS,
  CLI_DEFAULTS,
  type EffectivePolicy,
} from "../../../core/policy/settings.js";
import { EffectivePermissionIndex } from "../../../core/rbac/effective.js";
import { memberGroup } from "../../../core/rbac/groups.js";
import type {
  ClusterRoleBinding,
  GrantVia,
  RoleBinding,
  ScopedRule,
  ServiceAccountRef,
} from "../../../core/rbac/types.js";
import { CLUSTER_ADMIN_RULES, grant, rule } from "./fixtures.js";

const ORDERS: ServiceAccountRef = { namespace: "shop", name: "orders-api" };
const STRAY: ServiceAccountRef = { namespace: "shop", name: "stray" };
const CONFIGMAP_SCOPE: ScopedRule = {
  namespaces: ["shop"],
  apiGroups: [""],
  resources: ["configmaps"],
  verbs: ["get", "list", "watch"],
};

function governedBy(
  scopes: ScopedRule[],
  enforcement: "Enforce" | "Audit" = "Enforce",
): (sa: ServiceAccountRef) => GoverningIdentity | undefined {
  return (sa) =>
    sa.name === ORDERS.name && sa.namespace === ORDERS.namespace
      ? { nhi: { namespace: "shop", name: "orders-api" }, scopes, enforcement }
      : undefined;
}

function input(changes: IdentityChange[], opts: Partial<RbacWriteInput> = {}): RbacWriteInput {
  return {
    object: { kind: "RoleBinding", namespace: "shop", name: "b" },
    changes,
    governing: governedBy([CONFIGMAP_SCOPE]),
    policy: CLI_DEFAULTS,
    ...opts,
  };
}

const gains = (sa: ServiceAccountRef, ...gained: ReturnType<typeof grant>[]): IdentityChange => ({
  serviceAccount: sa,
  before: [],
  gained,
});

describe("decideRbacWrite", () => {
  const cases: Array<{
    name: string;
    in: RbacWriteInput;
    allowed: boolean;
    violations?: string[];
    warnings?: string[];
  }> = [
    {
      name: "a governed identity gaining what its scopes declare is allowed",
      in: input([gains(ORDERS, grant("shop", [rule([""], ["configmaps"], ["get"])]))]),
      allowed: true,
      violations: [],
      warnings: [],
    },
    {
      name: "a governed identity gaining beyond its scopes is denied",
      in: input([gains(ORDERS, grant("shop", [rule([""], ["configmaps"], ["get", "delete"])]))]),
      allowed: false,
      violations: ["scope-exceeded"],
    },
    {
      name: "scopes in another namespace do not cover",
      in: input([gains(ORDERS, grant("billing", [rule([""], ["configmaps"], ["get"])]))]),
      allowed: false,
      violations: ["scope-exceeded"],
    },
    {
      name: "a cluster-wide grant is not covered by a namespaced scope",
      in: input([gains(ORDERS, grant("*", [rule([""], ["configmaps"], ["get"])]))]),
      allowed: false,
      violations: ["scope-exceeded"],
    },
    {
      name: "Audit enforcement turns scope excess into a warning",
      in: input([gains(ORDERS, grant("shop", [rule([""], ["configmaps"], ["delete"])]))], {
        governing: governedBy([CONFIGMAP_SCOPE], "Audit"),
      }),
      allowed: true,
      violations: [],
      warnings: ["scope-exceeded"],
    },
    {
      name: "a high permission within declared scopes is allowed",
      in: input([gains(ORDERS, grant("shop", [rule([""], ["secrets"], ["get"])]))], {
        governing: governedBy([
          { namespaces: ["shop"], apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
        ]),
      }),
      allowed: true,
      violations: [],
      warnings: [],
    },
    {
      name: "a critical permission is denied even when scopes declare it",
      in: input([gains(ORDERS, grant("*", CLUSTER_ADMIN_RULES, "cluster-admin"))], {
        governing: governedBy([
          { namespaces: ["*"], apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
          { namespaces: ["*"], nonResourceURLs: ["*"], verbs: ["*"] },
        ]),
      }),
      allowed: false,
      violations: ["wildcard-all-cluster"],
    },
    {
      name: "an NHIPolicy exemption naming the identity allows a critical permission, with a warning",
      in: input([gains(ORDERS, grant("*", [rule([""], ["nodes/proxy"], ["get"])]))], {
        governing: governedBy([
          { namespaces: ["*"], apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] },
        ]),
        policy: {
          ...CLI_DEFAULTS,
          exemptions: [
            {
              serviceAccounts: ["shop/orders-api"],
              rules: ["nodes-proxy"],
              reason: "metrics scraper, ticket SEC-12",
            },
          ],
        },
      }),
      allowed: true,
      violations: [],
      warnings: ["nodes-proxy"],
    },
    {
      name: "an exemption for another rule does not apply",
      in: input([gains(ORDERS, grant("*", [rule([""], ["nodes/proxy"], ["get"])]))], {
        governing: governedBy([
          { namespaces: ["*"], apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] },
        ]),
        policy: {
          ...CLI_DEFAULTS,
          exemptions: [
            { serviceAccounts: ["shop/orders-api"], rules: ["impersonate"], reason: "x" },
          ],
        },
      }),
      allowed: false,
      violations: ["nodes-proxy"],
    },
    {
      name: "an unclaimed identity gaining a high permission fails the CLI check",
      in: input([gains(STRAY, grant("shop", [rule([""], ["pods"], ["create"])]))]),
      allowed: false,
      violations: ["pods-create"],
    },
    {
      name: "an unclaimed identity gaining a high permission is a warning under the admission default",
      in: input([gains(STRAY, grant("shop", [rule([""], ["pods"], ["create"])]))], {
        policy: ADMISSION_DEFAULTS,
      }),
      allowed: true,
      violations: [],
      warnings: ["pods-create"],
    },
    {
      name: "an unclaimed identity gaining an ordinary permission is allowed",
      in: input([gains(STRAY, grant("shop", [rule([""], ["configmaps"], ["get"])]))]),
      allowed: true,
      violations: [],
      warnings: [],
    },
    {
      name: "a critical permission already held is not reported again",
      in: input([
        {
          serviceAccount: STRAY,
          before: [grant("*", CLUSTER_ADMIN_RULES, "cluster-admin", "old")],
          gained: [grant("shop", [rule([""], ["secrets"], ["get"])])],
        },
      ]),
      allowed: true,
      violations: [],
      warnings: [],
    },
    {
      name: "the second half of CSR approval completes a critical permission",
      in: input([
        {
          serviceAccount: STRAY,
          before: [
            grant(
              "*",
              [rule(["certificates.k8s.io"], ["certificatesigningrequests/approval"], ["update"])],
              "a",
              "a",
            ),
          ],
          gained: [grant("*", [rule(["certificates.k8s.io"], ["signers"], ["approve"])], "s", "s")],
        },
      ]),
      allowed: false,
      violations: ["csr-approve"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = decideRbacWrite(c.in);
      expect(d.allowed, JSON.stringify(d.violations)).to.equal(c.allowed);
      if (c.violations) {
        const got = d.violations.map((v) => v.rule);
        if (c.violations.length === 0) expect(got).to.deep.equal([]);
        for (const v of c.violations) expect(got).to.include(v);
      }
      if (c.warnings) {
        const got = d.warnings.map((v) => v.rule);
        if (c.warnings.length === 0) expect(got).to.deep.equal([]);
        for (const w of c.warnings) expect(got).to.include(w);
      }
    });
  }

  it("names the object, identity, exact permission, ceiling and fix in a scope denial", () => {
    const d = decideRbacWrite(
      input([
        gains(
          ORDERS,
          grant("shop", [rule([""], ["secrets"], ["list"])], "secret-reader", "ci-reads"),
        ),
      ]),
    );
    const [v] = d.violations;
    expect(v?.identity).to.equal("system:serviceaccount:shop:orders-api");
    expect(v?.permission).to.equal("list secrets in namespace shop");
    expect(v?.message)
      .to.contain("RoleBinding shop/b")
      .and.contain("list secrets in namespace shop")
      .and.contain("RoleBinding shop/ci-reads → Role shop/secret-reader")
      .and.contain("NonHumanIdentity shop/orders-api");
    expect(v?.fix).to.contain(
      '{ namespaces: [shop], apiGroups: [""], resources: [secrets], verbs: [list] }',
    );
  });

  it("names the catalogue reason and exemption route in a critical denial", () => {
    const d = decideRbacWrite(
      input([
        gains(
          STRAY,
          grant(
            "shop",
            [rule(["rbac.authorization.k8s.io"], ["clusterroles"], ["bind"])],
            "binder",
            "rb",
          ),
        ),
      ]),
    );
    const v = d.violations.find((x) => x.rule === "rbac-bind");
    expect(v?.severity).to.equal("critical");
    expect(v?.message)
      .to.contain("system:serviceaccount:shop:stray")
      .and.contain("bind clusterroles.rbac.authorization.k8s.io in namespace shop");
    expect(v?.fix).to.contain("NHIPolicy exemption").and.contain("rbac-bind");
  });

  describe("group subjects of the binding written", () => {
    const binding = (group: string, role: string): ClusterRoleBinding => ({
      kind: "ClusterRoleBinding",
      metadata: { name: "x" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
      subjects: [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: group }],
    });
    const table: Array<[string, string, boolean]> = [
      ["system:anonymous", "view", false],
      ["system:unauthenticated", "edit", false],
      ["system:masters", "view", false],
      ["system:authenticated", "view", false],
      ["system:authenticated", "system:discovery", true],
      ["platform-admins", "view", true],
    ];
    for (const [group, role, allowed] of table) {
      it(`${role} bound to ${group} is ${allowed ? "allowed" : "denied"}`, () => {
        const d = decideRbacWrite(
          input([], {
            object: { kind: "ClusterRoleBinding", name: "x" },
            binding: binding(group, role),
          }),
        );
        expect(d.allowed).to.equal(allowed);
        if (!allowed) expect(d.violations[0]?.message).to.contain(group);
      });
    }
  });

  it("a binding to the anonymous user (every unauthenticated request) is denied, not only to its group", () => {
    const b: ClusterRoleBinding = {
      kind: "ClusterRoleBinding",
      metadata: { name: "x" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "system:anonymous" }],
    };
    const d = decideRbacWrite(
      input([], { object: { kind: "ClusterRoleBinding", name: "x" }, binding: b }),
    );
    expect(d.allowed).to.equal(false);
    expect(d.violations[0]).to.include({
      rule: "binding-dangerous-group",
      identity: "system:anonymous",
    });
    expect(d.violations[0]?.message).to.contain(
      "to user system:anonymous (every unauthenticated request)",
    );
  });

  it("a check that throws denies, naming the check", () => {
    const boom: Check<number> = {
      name: "boom",
      run: () => {
        throw new Error("bad input");
      },
    };
    const d = runChain([boom], 1, CLI_DEFAULTS as EffectivePolicy);
    expect(d.allowed).to.equal(false);
    expect(d.violations[0]?.message).to.contain("boom").and.contain("bad input");
  });
});

describe("identityChanges + decideRbacWrite over the effective-permission index", () => {
  const rb = (
    name: string,
    role: string,
    sa: string,
    kind: "Role" | "ClusterRole" = "Role",
  ): RoleBinding => ({
    kind: "RoleBinding",
    metadata: { name, namespace: "shop" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name: role },
    subjects: [{ kind: "ServiceAccount", name: sa, namespace: "shop" }],
  });

  it("widening a Role that is already bound escalates everyone bound to it", () => {
    const index = new EffectivePermissionIndex();
    index.addServiceAccount(ORDERS);
    index.upsert({
      kind: "Role",
      metadata: { name: "reader", namespace: "shop" },
      rules: [rule([""], ["configmaps"], ["get"])],
    });
    index.upsert(rb("orders-reads", "reader", "orders-api"));
    const widened = {
      kind: "Role" as const,
      metadata: { name: "reader", namespace: "shop" },
      rules: [rule([""], ["configmaps", "secrets"], ["get"])],
    };
    const d = decideRbacWrite(
      input(identityChanges(index, { upsert: widened }), {
        object: { kind: "Role", namespace: "shop", name: "reader" },
      }),
    );
    expect(d.allowed).to.equal(false);
    expect(d.violations.map((v) => v.permission)).to.deep.equal(["get secrets in namespace shop"]);
  });

  it("binding the built-in edit role to an unclaimed account is judged without the role being defined", () => {
    const index = new EffectivePermissionIndex();
    const d = decideRbacWrite(
      input(identityChanges(index, { upsert: rb("stray-edit", "edit", "stray", "ClusterRole") })),
    );
    expect(d.allowed).to.equal(false);
    expect(d.violations.map((v) => v.rule)).to.include.members([
      "secrets-read",
      "pods-create",
      "workloads-write",
    ]);
  });

  const crb = (name: string, role: string, sa: ServiceAccountRef): ClusterRoleBinding => ({
    kind: "ClusterRoleBinding",
    metadata: { name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
    subjects: [{ kind: "ServiceAccount", name: sa.name, namespace: sa.namespace }],
  });

  for (const [role, rules] of [
    ["system:controller:generic-garbage-collector", ["secrets-read-cluster", "wildcard-rule"]],
    ["system:controller:namespace-controller", ["secrets-read-cluster"]],
    ["system:controller:clusterrole-aggregation-controller", ["rbac-escalate"]],
  ] as const) {
    it(`binding Kubernetes' controller role ${role} to an unclaimed account is judged without the role being defined`, () => {
      const index = new EffectivePermissionIndex();
      const d = decideRbacWrite(
        input(identityChanges(index, { upsert: crb("borrowed", role, STRAY) }), {
          object: { kind: "ClusterRoleBinding", name: "borrowed" },
        }),
      );
      expect(d.allowed).to.equal(false);
      expect([...d.violations, ...d.warnings].map((v) => v.rule)).to.include.members([...rules]);
    });
  }
});

describe("decideRbacWrite: a binding whose role exists nowhere", () => {
  const index = new EffectivePermissionIndex();
  index.upsert({
    kind: "Role",
    metadata: { name: "reader", namespace: "shop" },
    rules: [rule([""], ["configmaps"], ["get"])],
  });
  const roles = {
    exists: (ref: Parameters<typeof index.rulesOf>[0]) => index.rulesOf(ref) !== undefined,
    searched: "the manifests",
    hint: "check with --cluster",
  };
  const binding = (
    kind: "Role" | "ClusterRole",
    name: string,
    bindingKind: "RoleBinding" | "ClusterRoleBinding" = "RoleBinding",
  ): RoleBinding | ClusterRoleBinding =>
    ({
      kind: bindingKind,
      metadata: { name: "b", ...(bindingKind === "RoleBinding" ? { namespace: "shop" } : {}) },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name },
      subjects: [{ kind: "ServiceAccount", name: "stray", namespace: "shop" }],
    }) as RoleBinding | ClusterRoleBinding;
  const judge = (b: RoleBinding | ClusterRoleBinding, withRoles = true) =>
    decideRbacWrite(
      input(identityChanges(index, { upsert: b }), {
        object: {
          kind: b.kind,
          name: "b",
          ...(b.metadata.namespace ? { namespace: b.metadata.namespace } : {}),
        },
        binding: b,
        ...(withRoles ? { roles } : {}),
      }),
    );

  it("warns that the permissions of a Role defined nowhere are unknown, and says where it looked", () => {
    const d = judge(binding("Role", "ghost"));
    expect(d.allowed).to.equal(true);
    expect(d.violations).to.deep.equal([]);
    const [w] = d.warnings;
    expect(w?.rule).to.equal("unresolved-role-ref");
    expect(w?.permission).to.equal("Role shop/ghost");
    expect(w?.message)
      .to.contain(
        "the permissions of Role shop/ghost are unknown: it is defined nowhere in the manifests",
      )
      .and.contain("ServiceAccount shop/stray")
      .and.contain("default roles");
    expect(w?.fix).to.contain("typo").and.contain("check with --cluster");
  });

  it("warns for a ClusterRole defined nowhere, through either binding kind", () => {
    for (const kind of ["RoleBinding", "ClusterRoleBinding"] as const) {
      const d = judge(binding("ClusterRole", "ghost-cluster", kind));
      expect(
        d.warnings.map((w) => w.rule),
        kind,
      ).to.deep.equal(["unresolved-role-ref"]);
      expect(d.warnings[0]?.message).to.contain(
        "the permissions of ClusterRole ghost-cluster are unknown",
      );
    }
  });

  it("is silent for a role that exists: defined in the input, a built-in default, or a kube-system default Role", () => {
    expect(judge(binding("Role", "reader")).warnings).to.deep.equal([]);
    expect(judge(binding("ClusterRole", "view")).warnings.map((w) => w.rule)).to.not.include(
      "unresolved-role-ref",
    );
    expect(
      judge(
        binding("ClusterRole", "system:controller:generic-garbage-collector", "ClusterRoleBinding"),
      ).warnings.map((w) => w.rule),
    ).to.not.include("unresolved-role-ref");
    const kubeSystem = {
      ...binding("Role", "extension-apiserver-authentication-reader"),
      metadata: { name: "b", namespace: "kube-system" },
    } as RoleBinding;
    expect(judge(kubeSystem).warnings.map((w) => w.rule)).to.not.include("unresolved-role-ref");
  });

  it("says a ClusterRoleBinding to a Role never resolves", () => {
    const d = judge(binding("Role", "reader", "ClusterRoleBinding"));
    expect(d.warnings.map((w) => w.rule)).to.deep.equal(["unresolved-role-ref"]);
    expect(d.warnings[0]?.message).to.contain("can only reference a ClusterRole");
  });

  it("is not judged where the edge cannot say which roles exist (no lookup given)", () => {
    expect(judge(binding("Role", "ghost"), false).warnings).to.deep.equal([]);
  });
});

describe("decideRbacWrite: member groups judged as holders", () => {
  const shopGroup = (): GroupChange => {
    const group = memberGroup("system:serviceaccounts:shop");
    if (!group) throw new Error("not a member group");
    return { group, before: [], gained: [] };
  };
  const groupGains = (name: string, ...gained: ReturnType<typeof grant>[]): GroupChange => {
    const group = memberGroup(name);
    if (!group) throw new Error(`${name} is not a member group`);
    return {
      group,
      before: [],
      gained: gained.map((g) => ({ ...g, via: `group:${name}` as GrantVia })),
    };
  };
  const nodesProxy = grant("*", [rule([""], ["nodes/proxy"], ["get"])], "node-debug", "node-debug");
  const secretsInShop = grant(
    "shop",
    [rule([""], ["secrets"], ["get"])],
    "secret-reader",
    "readers",
  );

  it("a critical permission for a group is denied with no member known, saying who the members are", () => {
    const d = decideRbacWrite(
      input([groupGains("system:serviceaccounts:shop", nodesProxy)], {
        object: { kind: "ClusterRoleBinding", name: "node-debug" },
      }),
    );
    expect(d.allowed).to.equal(false);
    const [v] = d.violations;
    expect(v).to.include({
      rule: "nodes-proxy",
      severity: "critical",
      identity: "group:system:serviceaccounts:shop",
    });
    expect(v?.message).to.contain(
      "would give every ServiceAccount in namespace shop (group system:serviceaccounts:shop)",
    );
    expect(v?.fix).to.contain("instead of group system:serviceaccounts:shop");
  });

  it("phrases the cluster-wide groups: every ServiceAccount in the cluster, and every authenticated user", () => {
    const all = decideRbacWrite(input([groupGains("system:serviceaccounts", nodesProxy)]));
    expect(all.violations[0]?.message).to.contain(
      "every ServiceAccount in the cluster (group system:serviceaccounts)",
    );
    const authn = decideRbacWrite(input([groupGains("system:authenticated", nodesProxy)]));
    expect(authn.violations[0]?.message).to.contain(
      "every ServiceAccount in the cluster (and every authenticated user) (group system:authenticated)",
    );
    const anon = decideRbacWrite(input([groupGains("system:unauthenticated", nodesProxy)]));
    expect(anon.violations[0]?.message).to.contain("every unauthenticated (anonymous) request");
  });

  it("a high permission for a group follows unclaimedHighPermissions (no NHI can claim a group): denied in the CLI, warned by default in admission, per namespace override", () => {
    expect(
      decideRbacWrite(
        input([groupGains("system:serviceaccounts:shop", secretsInShop)]),
      ).violations.map((v) => v.rule),
    ).to.deep.equal(["secrets-read"]);
    const audit = decideRbacWrite(
      input([groupGains("system:serviceaccounts:shop", secretsInShop)], {
        policy: ADMISSION_DEFAULTS,
      }),
    );
    expect(audit.allowed).to.equal(true);
    expect(audit.warnings.map((w) => w.message).join()).to.contain(
      "No NonHumanIdentity can claim a group",
    );
    const enforcedInShop: EffectivePolicy = {
      ...ADMISSION_DEFAULTS,
      overrides: [
        {
          namespaceSelector: { matchLabels: { tier: "prod" } },
          unclaimedHighPermissions: "Enforce",
        },
      ],
    };
    const prod = decideRbacWrite(
      input([groupGains("system:serviceaccounts:shop", secretsInShop)], {
        policy: enforcedInShop,
        namespaceLabels: (ns) => (ns === "shop" ? { tier: "prod" } : undefined),
      }),
    );
    expect(prod.allowed).to.equal(false);
  });

  it("even a governed member does not make the group's grant declared: the group is still judged", () => {
    const d = decideRbacWrite(
      input([groupGains("system:serviceaccounts:shop", secretsInShop)], {
        governing: governedBy([
          { namespaces: ["shop"], apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
        ]),
      }),
    );
    expect(d.violations.map((v) => v.identity)).to.deep.equal([
      "group:system:serviceaccounts:shop",
    ]);
  });

  it("a member's finding for the same hit is folded into the group's; a governed member's scope excess is still its own", () => {
    const viaGroup = { ...nodesProxy, via: "group:system:serviceaccounts:shop" as const };
    const d = decideRbacWrite(
      input([
        { ...shopGroup(), gained: [viaGroup] },
        { serviceAccount: STRAY, before: [], gained: [viaGroup] },
        { serviceAccount: ORDERS, before: [], gained: [viaGroup] },
        {
          serviceAccount: { namespace: "dev", name: "x" },
          before: [],
          gained: [{ ...viaGroup, via: "group:system:serviceaccounts" }],
        },
      ]),
    );
    expect(d.violations.map((v) => `${v.rule} ${v.identity ?? ""}`)).to.deep.equal([
      "nodes-proxy group:system:serviceaccounts:shop",
      "nodes-proxy system:serviceaccount:dev:x", // not a member of the shop group
      "scope-exceeded system:serviceaccount:shop:orders-api",
    ]);
  });

  it("an NHIPolicy exemption applies to a namespace group only where it covers every member", () => {
    const exempt = (e: { namespaces?: string[]; serviceAccounts?: string[] }): boolean =>
      decideRbacWrite(
        input([groupGains("system:serviceaccounts:shop", nodesProxy)], {
          policy: {
            ...CLI_DEFAULTS,
            exemptions: [{ ...e, rules: ["nodes-proxy"], reason: "SEC-1" }],
          },
        }),
      ).allowed;
    expect(exempt({ namespaces: ["shop"] })).to.equal(true);
    expect(exempt({ serviceAccounts: ["shop/*"] })).to.equal(true);
    expect(exempt({ serviceAccounts: ["shop/stray"] }), "one member is not every member").to.equal(
      false,
    );
    expect(exempt({ serviceAccounts: ["shop/s*"] })).to.equal(false);
    expect(exempt({ namespaces: ["dev"] })).to.equal(false);
    const cluster = (e: { namespaces?: string[] }, name: string): boolean =>
      decideRbacWrite(
        input([groupGains(name, nodesProxy)], {
          policy: { ...CLI_DEFAULTS, exemptions: [{ ...e, reason: "x" }] },
        }),
      ).allowed;
    expect(cluster({ namespaces: ["shop"] }, "system:serviceaccounts")).to.equal(false);
    expect(cluster({ namespaces: ["*"] }, "system:serviceaccounts")).to.equal(true);
    expect(
      cluster({ namespaces: ["*"] }, "system:authenticated"),
      "users are members too: no ServiceAccount exemption covers them",
    ).to.equal(false);
  });

  it("identityChanges judges a group binding with no ServiceAccount in the index, groups first", () => {
    const index = new EffectivePermissionIndex();
    index.upsert({
      kind: "ClusterRole",
      metadata: { name: "node-debug" },
      rules: [rule([""], ["nodes/proxy"], ["get"])],
    });
    const crb: ClusterRoleBinding = {
      kind: "ClusterRoleBinding",
      metadata: { name: "node-debug" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "node-debug" },
      subjects: [
        {
          kind: "Group",
          apiGroup: "rbac.authorization.k8s.io",
          name: "system:serviceaccounts:shop",
        },
      ],
    };
    expect(
      decideRbacWrite(
        input(
          identityChanges(new EffectivePermissionIndex({ builtinRoles: false }), { upsert: crb }),
        ),
      ).allowed,
      "missing role: nothing granted",
    ).to.equal(true);
    const changes = identityChanges(index, { upsert: crb });
    expect(changes.map((c) => ("group" in c ? c.group.name : c.serviceAccount.name))).to.deep.equal(
      ["system:serviceaccounts:shop"],
    );
    index.addServiceAccount({ namespace: "shop", name: "default" });
    const withDefault = identityChanges(index, { upsert: crb });
    expect(
      withDefault.map((c) => ("group" in c ? c.group.name : c.serviceAccount.name)),
    ).to.deep.equal(["system:serviceaccounts:shop", "default"]);
    const d = decideRbacWrite(
      input(withDefault, { object: { kind: "ClusterRoleBinding", name: "node-debug" } }),
    );
    expect(d.violations.map((v) => v.identity)).to.deep.equal([
      "group:system:serviceaccounts:shop",
    ]);
  });
});
