import { expect } from "chai";
import {
  describeGrant,
  describePermission,
  describeUncovered,
  scopeRulesFor,
  uncoveredGrants,
} from "../../../core/rbac/scoped.js";
import type { Grant, PolicyRule, ScopedRule } from "../../../core/rbac/types.js";

const rb = (
  ns: string,
  binding: string,
  role: string,
  rules: PolicyRule[],
  kind: "Role" | "ClusterRole" = "Role",
): Grant => ({
  namespace: ns,
  rules,
  binding: { kind: "RoleBinding", namespace: ns, name: binding },
  role: kind === "Role" ? { kind, namespace: ns, name: role } : { kind, name: role },
  via: "serviceaccount",
});
const crb = (binding: string, role: string, rules: PolicyRule[]): Grant => ({
  namespace: "*",
  rules,
  binding: { kind: "ClusterRoleBinding", name: binding },
  role: { kind: "ClusterRole", name: role },
  via: "group:system:serviceaccounts",
});

const getSecrets: PolicyRule = { apiGroups: [""], resources: ["secrets"], verbs: ["get"] };
const scope = (namespaces: string[], rule: PolicyRule): ScopedRule => ({ namespaces, ...rule });

interface Row {
  name: string;
  scopes: ScopedRule[];
  grants: Grant[];
  /** [namespace, "verb group resource name?" | "verb url"] of each uncovered permission. */
  uncovered: [string, string][];
}

const atom = (rule: PolicyRule): string =>
  rule.nonResourceURLs !== undefined
    ? `${rule.verbs[0]} ${rule.nonResourceURLs[0]}`
    : [rule.verbs[0], rule.apiGroups?.[0], rule.resources?.[0], ...(rule.resourceNames ?? [])].join(
        " ",
      );

const table: Row[] = [
  {
    name: "namespaced grant covered by a scope in that namespace",
    scopes: [scope(["shop"], getSecrets)],
    grants: [rb("shop", "b", "r", [getSecrets])],
    uncovered: [],
  },
  {
    name: "namespaced grant not covered by a scope in another namespace",
    scopes: [scope(["dev"], getSecrets)],
    grants: [rb("shop", "b", "r", [getSecrets])],
    uncovered: [["shop", "get  secrets"]],
  },
  {
    name: "namespaced grant covered by a cluster-wide scope",
    scopes: [scope(["*"], getSecrets)],
    grants: [rb("shop", "b", "r", [getSecrets])],
    uncovered: [],
  },
  {
    name: "scope listing several namespaces",
    scopes: [scope(["dev", "shop"], getSecrets)],
    grants: [rb("shop", "b", "r", [getSecrets])],
    uncovered: [],
  },
  {
    name: "cluster-wide grant not covered by namespaced scopes, even listing every namespace",
    scopes: [scope(["shop", "dev", "kube-system"], getSecrets)],
    grants: [crb("b", "r", [getSecrets])],
    uncovered: [["*", "get  secrets"]],
  },
  {
    name: "cluster-wide grant covered by a cluster-wide scope",
    scopes: [scope(["shop", "*"], getSecrets)],
    grants: [crb("b", "r", [getSecrets])],
    uncovered: [],
  },
  {
    name: "RoleBinding to a ClusterRole is checked in the binding's namespace",
    scopes: [scope(["shop"], { apiGroups: ["*"], resources: ["*"], verbs: ["*"] })],
    grants: [
      rb(
        "shop",
        "b",
        "admin",
        [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["create"] }],
        "ClusterRole",
      ),
    ],
    uncovered: [],
  },
  {
    name: "split coverage across scopes of different namespaces",
    scopes: [
      scope(["shop"], { apiGroups: [""], resources: ["secrets"], verbs: ["get"] }),
      scope(["*"], { apiGroups: [""], resources: ["secrets"], verbs: ["list"] }),
    ],
    grants: [
      rb("shop", "b", "r", [
        { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] },
      ]),
    ],
    uncovered: [["shop", "watch  secrets"]],
  },
  {
    name: "nonResourceURLs through a ClusterRoleBinding need a cluster-wide scope",
    scopes: [scope(["shop"], { nonResourceURLs: ["/metrics"], verbs: ["get"] })],
    grants: [crb("b", "r", [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }])],
    uncovered: [["*", "get /metrics"]],
  },
  {
    name: "nonResourceURLs covered by a cluster-wide URL prefix scope",
    scopes: [scope(["*"], { nonResourceURLs: ["/metrics*"], verbs: ["get"] })],
    grants: [crb("b", "r", [{ nonResourceURLs: ["/metrics", "/metrics/slis"], verbs: ["get"] }])],
    uncovered: [],
  },
  {
    name: "nonResourceURLs through a RoleBinding grant nothing",
    scopes: [],
    grants: [
      rb(
        "shop",
        "b",
        "system:discovery",
        [{ nonResourceURLs: ["/api"], verbs: ["get"] }],
        "ClusterRole",
      ),
    ],
    uncovered: [],
  },
  {
    name: "resourceNames: a named scope covers only that name",
    scopes: [
      scope(["shop"], {
        apiGroups: [""],
        resources: ["secrets"],
        verbs: ["get"],
        resourceNames: ["db"],
      }),
    ],
    grants: [
      rb("shop", "b", "r", [
        { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["db", "tls"] },
        getSecrets,
      ]),
    ],
    uncovered: [
      ["shop", "get  secrets tls"],
      ["shop", "get  secrets"],
    ],
  },
  {
    name: "empty scopes cover nothing; duplicates within a grant reported once",
    scopes: [],
    grants: [rb("shop", "b", "r", [getSecrets, getSecrets])],
    uncovered: [["shop", "get  secrets"]],
  },
  {
    name: "the same permission through two grants is reported for each",
    scopes: [],
    grants: [rb("shop", "b1", "r", [getSecrets]), rb("shop", "b2", "r", [getSecrets])],
    uncovered: [
      ["shop", "get  secrets"],
      ["shop", "get  secrets"],
    ],
  },
];

describe("rbac/scoped: uncoveredGrants (table)", () => {
  for (const row of table) {
    it(row.name, () => {
      const got = uncoveredGrants(row.scopes, row.grants);
      expect(got.map((x): [string, string] => [x.namespace, atom(x.rule)])).to.deep.equal(
        row.uncovered,
      );
      for (const x of got) expect(row.grants).to.include(x.grant);
    });
  }
});

describe("rbac/scoped: helpers and messages", () => {
  it("scopeRulesFor picks namespace-listed and cluster-wide scopes for a namespace, cluster-wide only for *", () => {
    const a = scope(["shop"], getSecrets);
    const b = scope(["*"], getSecrets);
    expect(scopeRulesFor([a, b], "shop")).to.deep.equal([a, b]);
    expect(scopeRulesFor([a, b], "*")).to.deep.equal([b]);
    expect(scopeRulesFor([a, b], "dev")).to.deep.equal([b]);
  });
  it("builds the Permission tuple", () => {
    const [x] = uncoveredGrants(
      [],
      [
        rb("shop", "b", "r", [
          {
            apiGroups: ["apps"],
            resources: ["deployments/scale"],
            verbs: ["patch"],
            resourceNames: ["web"],
          },
        ]),
      ],
    );
    expect(x?.permission).to.deep.equal({
      kind: "resource",
      namespace: "shop",
      apiGroup: "apps",
      resource: "deployments/scale",
      verb: "patch",
      resourceName: "web",
    });
    const [y] = uncoveredGrants(
      [],
      [crb("b", "r", [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }])],
    );
    expect(y?.permission).to.deep.equal({
      kind: "url",
      namespace: "*",
      url: "/metrics",
      verb: "get",
    });
  });
  it("describes permissions and grants for messages", () => {
    const [x] = uncoveredGrants([], [rb("shop", "x", "y", [getSecrets])]);
    expect(x && describeUncovered(x)).to.equal(
      "get secrets in namespace shop via RoleBinding shop/x → Role shop/y",
    );
    const [y] = uncoveredGrants(
      [],
      [
        crb("all-sa", "edit", [
          {
            apiGroups: ["apps"],
            resources: ["deployments/scale"],
            verbs: ["patch"],
            resourceNames: ["web"],
          },
        ]),
      ],
    );
    expect(y && describeUncovered(y)).to.equal(
      'patch deployments.apps/scale named "web" cluster-wide via ClusterRoleBinding all-sa → ClusterRole edit (as member of system:serviceaccounts)',
    );
    expect(
      describePermission({ kind: "url", namespace: "*", url: "/healthz", verb: "get" }),
    ).to.equal("get /healthz (non-resource URL)");
    expect(describeGrant(rb("shop", "b", "view", [], "ClusterRole"))).to.equal(
      "RoleBinding shop/b → ClusterRole view",
    );
  });
  it("puts wildcards into words", () => {
    const table: Array<[Parameters<typeof describePermission>[0], string]> = [
      [
        { kind: "resource", namespace: "*", apiGroup: "*", resource: "*", verb: "*" },
        "every verb on every resource in every API group cluster-wide",
      ],
      [
        { kind: "resource", namespace: "shop", apiGroup: "apps", resource: "*", verb: "get" },
        'get every resource in API group "apps" in namespace shop',
      ],
      [
        {
          kind: "resource",
          namespace: "shop",
          apiGroup: "*",
          resource: "deployments",
          verb: "list",
        },
        "list deployments in every API group in namespace shop",
      ],
      [
        { kind: "url", namespace: "*", url: "*", verb: "*" },
        "every verb on every non-resource URL",
      ],
    ];
    for (const [p, text] of table) expect(describePermission(p)).to.equal(text);
  });
});
