import { expect } from "chai";
import { covers } from "../../../core/rbac/coverage.js";
import { EffectivePermissionIndex } from "../../../core/rbac/effective.js";
import {
  BUILTIN_CLUSTER_ROLE_BINDINGS,
  BUILTIN_CLUSTER_ROLES,
  BUILTIN_ROLE_BINDINGS,
  BUILTIN_ROLES,
  builtinRole,
  isBuiltinClusterRole,
} from "../../../core/rbac/builtin-roles.js";
import type { Grant, PolicyRule, RbacObject, ServiceAccountRef } from "../../../core/rbac/types.js";
import {
  clusterRole,
  clusterRoleBinding,
  group,
  role,
  roleBinding,
  rule,
  sa,
  user,
} from "./fixtures.js";

const shopApi: ServiceAccountRef = { namespace: "shop", name: "api" };
const shopWorker: ServiceAccountRef = { namespace: "shop", name: "worker" };
const devApi: ServiceAccountRef = { namespace: "dev", name: "api" };
const ALL_SAS = [shopApi, shopWorker, devApi];

const getSecrets = rule([""], ["secrets"], ["get"]);
const listPods = rule([""], ["pods"], ["list"]);
const AGG_VIEW = { "rbac.authorization.k8s.io/aggregate-to-view": "true" };

function build(
  objects: RbacObject[],
  sas: ServiceAccountRef[] = ALL_SAS,
): EffectivePermissionIndex {
  const index = new EffectivePermissionIndex();
  for (const s of sas) index.addServiceAccount(s);
  for (const o of objects) index.upsert(o);
  return index;
}

/** A grant summarised as "binding → role @ns via <via>". */
const brief = (g: Grant): string =>
  `${g.binding.kind}/${g.binding.namespace ?? ""}/${g.binding.name} → ${g.role.kind}/${g.role.namespace ?? ""}/${g.role.name} @${g.namespace} via ${g.via}`;

const holds = (
  index: EffectivePermissionIndex,
  who: ServiceAccountRef,
  ns: string,
  wanted: PolicyRule,
): boolean =>
  index
    .grantsOf(who)
    .some((g) => (g.namespace === ns || g.namespace === "*") && covers(g.rules, wanted));

interface SubjectRow {
  name: string;
  objects: RbacObject[];
  /** SA "ns/name" → brief grants. SAs not listed hold none. */
  expected: Record<string, string[]>;
}

const subjectTable: SubjectRow[] = [
  {
    name: "ServiceAccount subject with explicit namespace",
    objects: [
      role("shop", "reader", [getSecrets]),
      roleBinding("shop", "rb", { kind: "Role", name: "reader" }, [sa("shop", "api")]),
    ],
    expected: { "shop/api": ["RoleBinding/shop/rb → Role/shop/reader @shop via serviceaccount"] },
  },
  {
    name: "ServiceAccount subject without namespace defaults to the RoleBinding's namespace",
    objects: [
      role("shop", "reader", [getSecrets]),
      roleBinding("shop", "rb", { kind: "Role", name: "reader" }, [sa(undefined, "api")]),
    ],
    expected: { "shop/api": ["RoleBinding/shop/rb → Role/shop/reader @shop via serviceaccount"] },
  },
  {
    name: "ServiceAccount subject from another namespace gets the grant in the binding's namespace",
    objects: [
      role("shop", "reader", [getSecrets]),
      roleBinding("shop", "rb", { kind: "Role", name: "reader" }, [sa("dev", "api")]),
    ],
    expected: { "dev/api": ["RoleBinding/shop/rb → Role/shop/reader @shop via serviceaccount"] },
  },
  {
    name: "ServiceAccount subject without namespace in a ClusterRoleBinding names nobody",
    objects: [
      clusterRole("reader", [getSecrets]),
      clusterRoleBinding("crb", "reader", [sa(undefined, "api")]),
    ],
    expected: {},
  },
  {
    name: "User subject system:serviceaccount:<ns>:<name> is the ServiceAccount",
    objects: [
      clusterRole("reader", [getSecrets]),
      clusterRoleBinding("crb", "reader", [user("system:serviceaccount:dev:api"), user("alice")]),
    ],
    expected: {
      "dev/api": ["ClusterRoleBinding//crb → ClusterRole//reader @* via serviceaccount"],
    },
  },
  {
    name: "group system:serviceaccounts reaches every ServiceAccount",
    objects: [
      clusterRole("reader", [getSecrets]),
      clusterRoleBinding("crb", "reader", [group("system:serviceaccounts")]),
    ],
    expected: {
      "shop/api": [
        "ClusterRoleBinding//crb → ClusterRole//reader @* via group:system:serviceaccounts",
      ],
      "shop/worker": [
        "ClusterRoleBinding//crb → ClusterRole//reader @* via group:system:serviceaccounts",
      ],
      "dev/api": [
        "ClusterRoleBinding//crb → ClusterRole//reader @* via group:system:serviceaccounts",
      ],
    },
  },
  {
    name: "group system:serviceaccounts:<ns> reaches that namespace's ServiceAccounts only",
    objects: [
      role("dev", "reader", [getSecrets]),
      roleBinding("dev", "rb", { kind: "Role", name: "reader" }, [
        group("system:serviceaccounts:shop"),
      ]),
    ],
    expected: {
      "shop/api": [
        "RoleBinding/dev/rb → Role/dev/reader @dev via group:system:serviceaccounts:shop",
      ],
      "shop/worker": [
        "RoleBinding/dev/rb → Role/dev/reader @dev via group:system:serviceaccounts:shop",
      ],
    },
  },
  {
    name: "group system:authenticated reaches every ServiceAccount",
    objects: [
      clusterRole("reader", [getSecrets]),
      roleBinding("shop", "rb", { kind: "ClusterRole", name: "reader" }, [
        group("system:authenticated"),
      ]),
    ],
    expected: {
      "shop/api": [
        "RoleBinding/shop/rb → ClusterRole//reader @shop via group:system:authenticated",
      ],
      "shop/worker": [
        "RoleBinding/shop/rb → ClusterRole//reader @shop via group:system:authenticated",
      ],
      "dev/api": ["RoleBinding/shop/rb → ClusterRole//reader @shop via group:system:authenticated"],
    },
  },
  {
    name: "other groups and users reach no ServiceAccount",
    objects: [
      clusterRole("reader", [getSecrets]),
      clusterRoleBinding("crb", "reader", [
        group("system:masters"),
        group("system:unauthenticated"),
        group("system:serviceaccounts:"),
        user("system:serviceaccount:shop"),
      ]),
    ],
    expected: {},
  },
  {
    name: "the first subject that applies names the path (as appliesTo does)",
    objects: [
      clusterRole("reader", [getSecrets]),
      clusterRoleBinding("crb", "reader", [
        group("system:serviceaccounts:shop"),
        sa("shop", "api"),
        group("system:authenticated"),
      ]),
    ],
    expected: {
      "shop/api": [
        "ClusterRoleBinding//crb → ClusterRole//reader @* via group:system:serviceaccounts:shop",
      ],
      "shop/worker": [
        "ClusterRoleBinding//crb → ClusterRole//reader @* via group:system:serviceaccounts:shop",
      ],
      "dev/api": [
        "ClusterRoleBinding//crb → ClusterRole//reader @* via group:system:authenticated",
      ],
    },
  },
  {
    name: "RoleBinding to a ClusterRole grants in the binding's namespace; ClusterRoleBinding cluster-wide",
    objects: [
      clusterRole("reader", [getSecrets]),
      roleBinding("shop", "rb", { kind: "ClusterRole", name: "reader" }, [sa("shop", "api")]),
      clusterRoleBinding("crb", "reader", [sa("shop", "api")]),
    ],
    expected: {
      "shop/api": [
        "ClusterRoleBinding//crb → ClusterRole//reader @* via serviceaccount",
        "RoleBinding/shop/rb → ClusterRole//reader @shop via serviceaccount",
      ],
    },
  },
  {
    name: "RoleBinding to a Role resolves the Role in the binding's namespace only",
    objects: [
      role("dev", "reader", [getSecrets]),
      roleBinding("shop", "rb", { kind: "Role", name: "reader" }, [sa("shop", "api")]),
    ],
    expected: {},
  },
  {
    name: "ClusterRoleBinding to a Role is invalid and grants nothing",
    objects: [
      role("shop", "reader", [getSecrets]),
      {
        kind: "ClusterRoleBinding",
        metadata: { name: "crb" },
        roleRef: { kind: "Role", name: "reader" },
        subjects: [sa("shop", "api")],
      },
    ],
    expected: {},
  },
  {
    name: "binding to a missing role grants nothing",
    objects: [roleBinding("shop", "rb", { kind: "Role", name: "nope" }, [sa("shop", "api")])],
    expected: {},
  },
];

describe("rbac/effective: subjects and grant namespaces (table)", () => {
  for (const row of subjectTable) {
    it(row.name, () => {
      const index = build(row.objects);
      const sas = new Set([
        ...ALL_SAS.map((s) => `${s.namespace}/${s.name}`),
        ...Object.keys(row.expected),
      ]);
      for (const key of sas) {
        const [namespace, name] = key.split("/") as [string, string];
        expect(index.grantsOf({ namespace, name }).map(brief), key).to.deep.equal(
          row.expected[key] ?? [],
        );
      }
    });
  }
});

describe("rbac/effective: index behaviour", () => {
  it("knows ServiceAccounts added explicitly or named by a subject, and forgets them", () => {
    const index = build(
      [roleBinding("ops", "rb", { kind: "Role", name: "x" }, [sa(undefined, "bot")])],
      [shopApi],
    );
    expect(index.serviceAccounts()).to.deep.equal([{ namespace: "ops", name: "bot" }, shopApi]);
    index.addServiceAccount({ namespace: "ops", name: "bot" });
    index.removeServiceAccount({ namespace: "ops", name: "bot" });
    expect(index.serviceAccounts().map((s) => s.name)).to.deep.equal(["bot", "api"]); // still named by the binding
    index.remove({ kind: "RoleBinding", namespace: "ops", name: "rb" });
    expect(index.serviceAccounts()).to.deep.equal([shopApi]);
    index.removeServiceAccount(shopApi);
    expect(index.serviceAccounts()).to.deep.equal([]);
  });

  it("answers grantsOf for an SA it does not know (group subjects apply to anyone)", () => {
    const index = build(
      [
        clusterRole("reader", [getSecrets]),
        clusterRoleBinding("crb", "reader", [group("system:serviceaccounts")]),
      ],
      [],
    );
    expect(index.grantsOf({ namespace: "new", name: "sa" }).map(brief)).to.deep.equal([
      "ClusterRoleBinding//crb → ClusterRole//reader @* via group:system:serviceaccounts",
    ]);
  });

  it("remembers a binding to a missing role and resolves it when the role appears", () => {
    const index = build([
      roleBinding("shop", "rb", { kind: "Role", name: "later" }, [sa("shop", "api")]),
    ]);
    expect(index.grantsOf(shopApi)).to.deep.equal([]);
    expect(index.unresolvedRoleRefs()).to.deep.equal([
      {
        role: { kind: "Role", namespace: "shop", name: "later" },
        bindings: [{ kind: "RoleBinding", namespace: "shop", name: "rb" }],
      },
    ]);
    expect(index.affectedBy(role("shop", "later", [getSecrets]))).to.deep.equal([shopApi]);
    index.upsert(role("shop", "later", [getSecrets]));
    expect(holds(index, shopApi, "shop", getSecrets)).to.equal(true);
    expect(index.unresolvedRoleRefs()).to.deep.equal([]);
    index.remove({ kind: "Role", namespace: "shop", name: "later" });
    expect(index.grantsOf(shopApi)).to.deep.equal([]);
  });

  it("updates a binding in place: subjects and roleRef changes", () => {
    const index = build([
      clusterRole("a", [getSecrets]),
      clusterRole("b", [listPods]),
      clusterRoleBinding("crb", "a", [sa("shop", "api")]),
    ]);
    index.upsert(clusterRoleBinding("crb", "b", [sa("dev", "api")]));
    expect(index.grantsOf(shopApi)).to.deep.equal([]);
    expect(index.grantsOf(devApi).map(brief)).to.deep.equal([
      "ClusterRoleBinding//crb → ClusterRole//b @* via serviceaccount",
    ]);
    expect(index.bindingsOf({ kind: "ClusterRole", name: "a" })).to.deep.equal([]);
    expect(index.bindingsOf({ kind: "ClusterRole", name: "b" })).to.deep.equal([
      { kind: "ClusterRoleBinding", name: "crb" },
    ]);
  });

  it("holdersOf expands group subjects to known SAs in scope", () => {
    const index = build([
      clusterRole("reader", [getSecrets]),
      roleBinding("x", "rb1", { kind: "ClusterRole", name: "reader" }, [
        group("system:serviceaccounts:shop"),
      ]),
      roleBinding("x", "rb2", { kind: "ClusterRole", name: "reader" }, [sa("other", "bot")]),
    ]);
    expect(index.holdersOf({ kind: "ClusterRole", name: "reader" })).to.deep.equal([
      { namespace: "other", name: "bot" },
      shopApi,
      shopWorker,
    ]);
  });
});

describe("rbac/effective: built-in roles", () => {
  it("ships the default ClusterRoles, marked built-in", () => {
    for (const n of [
      "cluster-admin",
      "admin",
      "edit",
      "view",
      "system:basic-user",
      "system:discovery",
      "system:public-info-viewer",
      "system:auth-delegator",
      "system:node-proxier",
      "system:kube-scheduler",
      "system:aggregate-to-edit",
    ]) {
      expect(isBuiltinClusterRole(n), n).to.equal(true);
    }
    expect(
      BUILTIN_CLUSTER_ROLES.every((r) => r.metadata.annotations?.["nhi.io/builtin"] === "true"),
    ).to.equal(true);
  });

  it("ships every default the API server creates: system:controller:* roles, kube-system Roles, and the bindings to them", () => {
    for (const n of [
      "system:controller:generic-garbage-collector",
      "system:controller:namespace-controller",
      "system:controller:clusterrole-aggregation-controller",
      "system:controller:replicaset-controller",
    ]) {
      expect(isBuiltinClusterRole(n), n).to.equal(true);
    }
    expect(
      builtinRole("kube-system", "extension-apiserver-authentication-reader")?.rules?.length,
    ).to.be.greaterThan(0);
    expect(builtinRole("shop", "extension-apiserver-authentication-reader")).to.equal(undefined);
    const all = [
      ...BUILTIN_CLUSTER_ROLES,
      ...BUILTIN_CLUSTER_ROLE_BINDINGS,
      ...BUILTIN_ROLES,
      ...BUILTIN_ROLE_BINDINGS,
    ];
    expect(
      all.every((o) => o.metadata.labels?.["kubernetes.io/bootstrapping"] === "rbac-defaults"),
    ).to.equal(true);
    // Every default binding resolves within the defaults (the table is complete, not a sample).
    for (const b of BUILTIN_CLUSTER_ROLE_BINDINGS)
      expect(isBuiltinClusterRole(b.roleRef.name), b.metadata.name).to.equal(true);
    for (const b of BUILTIN_ROLE_BINDINGS) {
      const ns = b.metadata.namespace ?? "";
      expect(
        b.roleRef.kind === "ClusterRole"
          ? isBuiltinClusterRole(b.roleRef.name)
          : builtinRole(ns, b.roleRef.name) !== undefined,
        b.metadata.name,
      ).to.equal(true);
    }
  });

  it("knows what the controller roles grant: generic-garbage-collector may delete anything, everywhere", () => {
    const index = build([
      clusterRoleBinding("gc", "system:controller:generic-garbage-collector", [sa("shop", "api")]),
    ]);
    expect(holds(index, shopApi, "*", rule([""], ["secrets"], ["get", "list", "delete"]))).to.equal(
      true,
    );
    expect(
      holds(index, shopApi, "*", rule(["apps"], ["deployments"], ["patch", "update"])),
    ).to.equal(true);
    expect(index.unresolvedRoleRefs()).to.deep.equal([]);
  });

  it("preloads the kube-system Roles; a real Role overrides one and its removal brings it back", () => {
    const reader = {
      kind: "Role" as const,
      namespace: "kube-system",
      name: "extension-apiserver-authentication-reader",
    };
    const cm = rule([""], ["configmaps"], ["get"]);
    const index = build([
      roleBinding("kube-system", "metrics-server-auth", { kind: "Role", name: reader.name }, [
        sa("monitoring", "metrics-server"),
      ]),
    ]);
    const metrics = { namespace: "monitoring", name: "metrics-server" };
    expect(index.unresolvedRoleRefs()).to.deep.equal([]);
    expect(index.grantsOf(metrics).map((g) => g.role)).to.deep.equal([reader]);
    expect(
      index.grantsOf(metrics)[0]?.rules.some((r) => (r.resources ?? []).includes("configmaps")),
    ).to.equal(true);
    index.upsert(role("kube-system", reader.name, [listPods]));
    expect(index.grantsOf(metrics)[0]?.rules).to.deep.equal([listPods]);
    index.remove(reader);
    expect(index.grantsOf(metrics)[0]?.rules).to.deep.equal(
      builtinRole("kube-system", reader.name)?.rules,
    );
    expect(covers(index.grantsOf(metrics)[0]?.rules ?? [], cm)).to.equal(false); // resourceNames-limited
    expect(new EffectivePermissionIndex({ builtinRoles: false }).rulesOf(reader)).to.equal(
      undefined,
    );
  });

  it("understands a binding to cluster-admin without its definition", () => {
    const index = build([clusterRoleBinding("god", "cluster-admin", [sa("shop", "api")])]);
    const [g] = index.grantsOf(shopApi);
    expect(g?.rules).to.deep.equal([
      rule(["*"], ["*"], ["*"]),
      { nonResourceURLs: ["*"], verbs: ["*"] },
    ]);
    expect(index.isBuiltin("cluster-admin")).to.equal(true);
  });

  it("resolves admin ⊇ edit ⊇ view by aggregation, with their real contents", () => {
    const index = build([]);
    const view = index.rulesOf({ kind: "ClusterRole", name: "view" }) ?? [];
    const edit = index.rulesOf({ kind: "ClusterRole", name: "edit" }) ?? [];
    const admin = index.rulesOf({ kind: "ClusterRole", name: "admin" }) ?? [];
    expect(covers(view, rule([""], ["pods", "configmaps"], ["get", "list", "watch"]))).to.equal(
      true,
    );
    expect(covers(view, rule([""], ["secrets"], ["get"]))).to.equal(false);
    expect(covers(edit, view)).to.equal(true);
    expect(covers(edit, rule([""], ["secrets", "pods/exec"], ["get", "create"]))).to.equal(true);
    expect(
      covers(edit, rule(["rbac.authorization.k8s.io"], ["rolebindings"], ["create"])),
    ).to.equal(false);
    expect(covers(admin, edit)).to.equal(true);
    expect(
      covers(admin, rule(["rbac.authorization.k8s.io"], ["rolebindings", "roles"], ["create"])),
    ).to.equal(true);
    expect(covers(admin, rule([""], ["nodes"], ["get"]))).to.equal(false);
  });

  it("lets a real object override a built-in one, and brings the built-in back on removal", () => {
    const index = build([clusterRoleBinding("b", "view", [sa("shop", "api")])]);
    index.upsert(clusterRole("view", [listPods]));
    expect(index.isBuiltin("view")).to.equal(false);
    expect(index.grantsOf(shopApi)[0]?.rules).to.deep.equal([listPods]);
    // edit and admin aggregate the overriding view (it carries no aggregate-to-edit label any more).
    expect(
      covers(
        index.rulesOf({ kind: "ClusterRole", name: "edit" }) ?? [],
        rule([""], ["pods"], ["get"]),
      ),
    ).to.equal(false);
    index.remove({ kind: "ClusterRole", name: "view" });
    expect(index.isBuiltin("view")).to.equal(true);
    expect(covers(index.grantsOf(shopApi)[0]?.rules ?? [], rule([""], ["pods"], ["get"]))).to.equal(
      true,
    );
    expect(
      covers(
        index.rulesOf({ kind: "ClusterRole", name: "edit" }) ?? [],
        rule([""], ["pods"], ["get"]),
      ),
    ).to.equal(true);
  });

  it("can preload the built-in ClusterRoleBindings, and go without built-ins", () => {
    const withBindings = new EffectivePermissionIndex({ builtinBindings: true });
    expect(withBindings.grantsOf(shopApi).map((g) => g.role.name)).to.deep.equal([
      "system:basic-user",
      "system:discovery",
      "system:public-info-viewer",
      "system:service-account-issuer-discovery",
    ]);
    const bare = new EffectivePermissionIndex({ builtinRoles: false });
    expect(bare.rulesOf({ kind: "ClusterRole", name: "cluster-admin" })).to.equal(undefined);
  });
});

describe("rbac/effective: aggregation", () => {
  const aggregator = clusterRole("monitoring", [rule(["x"], ["ignored"], ["*"])], undefined, [
    { matchLabels: { "example.com/aggregate-to-monitoring": "true" } },
  ]);
  const piece = (name: string, rules: PolicyRule[]) =>
    clusterRole(name, rules, { "example.com/aggregate-to-monitoring": "true" });

  it("an aggregated role's rules are the union of matching roles' rules (its own rules are ignored)", () => {
    const index = build([
      aggregator,
      piece("m-b", [listPods]),
      piece("m-a", [getSecrets, listPods]),
      clusterRoleBinding("crb", "monitoring", [sa("shop", "api")]),
    ]);
    expect(index.grantsOf(shopApi)[0]?.rules).to.deep.equal([getSecrets, listPods]);
  });

  it("a ClusterRole added later that matches the selector widens the aggregator's holders", () => {
    const index = build([aggregator, clusterRoleBinding("crb", "monitoring", [sa("shop", "api")])]);
    expect(index.grantsOf(shopApi)[0]?.rules).to.deep.equal([]);
    expect(index.affectedBy(piece("m-a", [getSecrets]))).to.deep.equal([shopApi]);
    index.upsert(piece("m-a", [getSecrets]));
    expect(holds(index, shopApi, "any", getSecrets)).to.equal(true);
    expect(index.holdersOf({ kind: "ClusterRole", name: "m-a" })).to.deep.equal([shopApi]);
    // Dropping the label removes its rules again; so does deleting it.
    index.upsert(clusterRole("m-a", [getSecrets]));
    expect(holds(index, shopApi, "any", getSecrets)).to.equal(false);
    index.upsert(piece("m-a", [getSecrets]));
    index.remove({ kind: "ClusterRole", name: "m-a" });
    expect(holds(index, shopApi, "any", getSecrets)).to.equal(false);
  });

  it("an aggregator created after its pieces picks them up", () => {
    const index = build([
      piece("m-a", [getSecrets]),
      clusterRoleBinding("crb", "monitoring", [sa("shop", "api")]),
    ]);
    expect(index.grantsOf(shopApi)).to.deep.equal([]);
    index.upsert(aggregator);
    expect(holds(index, shopApi, "any", getSecrets)).to.equal(true);
  });

  it("a CRD role labelled aggregate-to-view widens view, edit and admin", () => {
    const index = build([
      roleBinding("shop", "v", { kind: "ClusterRole", name: "view" }, [sa("shop", "api")]),
      roleBinding("shop", "a", { kind: "ClusterRole", name: "admin" }, [sa("shop", "worker")]),
    ]);
    const widgets = rule(["example.com"], ["widgets"], ["get"]);
    index.upsert(clusterRole("widgets-view", [widgets], AGG_VIEW));
    expect(holds(index, shopApi, "shop", widgets)).to.equal(true);
    expect(holds(index, shopWorker, "shop", widgets)).to.equal(true);
    expect(covers(index.rulesOf({ kind: "ClusterRole", name: "edit" }) ?? [], widgets)).to.equal(
      true,
    );
    expect(index.holdersOf({ kind: "ClusterRole", name: "widgets-view" })).to.deep.equal([
      shopApi,
      shopWorker,
    ]);
  });

  it("matchExpressions selectors aggregate too", () => {
    const index = build([
      clusterRole("agg", [], undefined, [
        { matchExpressions: [{ key: "tier", operator: "In", values: ["a", "b"] }] },
      ]),
      clusterRole("x", [getSecrets], { tier: "b" }),
      clusterRole("y", [listPods], { tier: "c" }),
      clusterRoleBinding("crb", "agg", [sa("shop", "api")]),
    ]);
    expect(index.grantsOf(shopApi)[0]?.rules).to.deep.equal([getSecrets]);
    index.upsert(clusterRole("y", [listPods], { tier: "a" }));
    expect(index.grantsOf(shopApi)[0]?.rules).to.deep.equal([getSecrets, listPods]);
  });

  it("resolves aggregation cycles to the union of their pieces", () => {
    const index = build([
      clusterRole("a", [], { feeds: "b" }, [{ matchLabels: { feeds: "a" } }]),
      clusterRole("b", [], { feeds: "a" }, [{ matchLabels: { feeds: "b" } }]),
      clusterRole("leaf-a", [getSecrets], { feeds: "a" }),
      clusterRole("leaf-b", [listPods], { feeds: "b" }),
    ]);
    for (const n of ["a", "b"]) {
      const rs = index.rulesOf({ kind: "ClusterRole", name: n }) ?? [];
      expect(covers(rs, [getSecrets, listPods]), n).to.equal(true);
      expect(rs.length, n).to.equal(2);
    }
    index.remove({ kind: "ClusterRole", name: "leaf-b" });
    for (const n of ["a", "b"])
      expect(index.rulesOf({ kind: "ClusterRole", name: n }), n).to.deep.equal([getSecrets]);
  });

  it("an aggregator does not aggregate itself", () => {
    const index = build([
      clusterRole("self", [getSecrets], { x: "y" }, [{ matchLabels: { x: "y" } }]),
    ]);
    expect(index.rulesOf({ kind: "ClusterRole", name: "self" })).to.deep.equal([]);
  });
});
