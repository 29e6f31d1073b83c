// One table row per edge kind: the objects, the path the blast radius finds from the attacker, and
// the explanation of each hop (permission and technique).
import { expect } from "chai";
import {
  CLUSTER_ADMIN,
  EDGE_KINDS,
  IdentityGraph,
  NODES,
  blastRadius,
  describePath,
  pathTo,
  type EdgeKindId,
} from "../../../core/graph/index.js";
import {
  clusterRole,
  clusterRoleBinding,
  deployment,
  pod,
  role,
  roleBinding,
  rule,
  sa,
  snapshotOf,
  tokenSecret,
} from "./fixtures.js";

const ATTACKER = "sa:ci/deployer";
// A powerful account: kube-system/admin is bound to cluster-admin.
const POWERFUL = [
  sa("kube-system", "admin"),
  clusterRoleBinding("admin", "cluster-admin", "kube-system/admin"),
];

interface Row {
  name: string;
  objects: Parameters<typeof snapshotOf>[0];
  to: string;
  kinds: EdgeKindId[];
  text: string;
  from?: string;
}

const attacker = (...rules: Parameters<typeof rule>[]): Parameters<typeof snapshotOf>[0] => [
  sa("ci", "deployer"),
  clusterRole(
    "attack",
    rules.map((r) => rule(...r)),
  ),
  clusterRoleBinding("attack", "attack", "ci/deployer"),
];
const inNamespace = (
  ns: string,
  ...rules: Parameters<typeof rule>[]
): Parameters<typeof snapshotOf>[0] => [
  sa("ci", "deployer"),
  role(
    ns,
    "attack",
    rules.map((r) => rule(...r)),
  ),
  roleBinding(ns, "attack", "attack", "ci/deployer"),
];

const ROWS: Row[] = [
  {
    name: "create pods in a namespace → every ServiceAccount of it",
    objects: [...inNamespace("kube-system", [[""], ["pods"], ["create"]]), ...POWERFUL],
    to: CLUSTER_ADMIN,
    kinds: ["pod-create", "cluster-admin"],
    text: "ci/deployer —create pods in namespace kube-system→ kube-system/admin —every verb on every resource in every API group, cluster-wide→ cluster-admin (2 hops)",
  },
  {
    name: "create any workload kind (CronJob) counts as creating pods",
    objects: [...inNamespace("kube-system", [["batch"], ["cronjobs"], ["create"]]), ...POWERFUL],
    to: "sa:kube-system/admin",
    kinds: ["pod-create"],
    text: "ci/deployer —create cronjobs.batch in namespace kube-system→ kube-system/admin (1 hop)",
  },
  {
    name: "patch a workload → the ServiceAccount it runs as",
    objects: [
      ...inNamespace("shop", [["apps"], ["deployments"], ["patch"]]),
      sa("shop", "api"),
      deployment("shop", "api", "api"),
    ],
    to: "sa:shop/api",
    kinds: ["workload-patch", "runs-as"],
    text: "ci/deployer —patch deployments.apps in namespace shop→ Deployment shop/api —runs as ServiceAccount api→ shop/api (2 hops)",
  },
  {
    name: "pods/exec → the ServiceAccount of a pod that mounts its token",
    objects: [
      ...inNamespace("shop", [[""], ["pods/exec"], ["create"]]),
      sa("shop", "db"),
      pod("shop", "db-0", "db"),
    ],
    to: "sa:shop/db",
    kinds: ["pod-exec", "runs-as"],
    text: "ci/deployer —create pods/exec in namespace shop→ Pod shop/db-0 —runs as ServiceAccount db→ shop/db (2 hops)",
  },
  {
    name: "pods/ephemeralcontainers → the pod's ServiceAccount",
    objects: [
      ...inNamespace("shop", [[""], ["pods/ephemeralcontainers"], ["patch"]]),
      sa("shop", "db"),
      pod("shop", "db-0", "db"),
    ],
    to: "sa:shop/db",
    kinds: ["pod-exec", "runs-as"],
    text: "ci/deployer —patch pods/ephemeralcontainers in namespace shop→ Pod shop/db-0 —runs as ServiceAccount db→ shop/db (2 hops)",
  },
  {
    name: "read Secrets → a legacy token's ServiceAccount",
    objects: [
      ...inNamespace("shop", [[""], ["secrets"], ["list"]]),
      sa("shop", "db"),
      tokenSecret("shop", "db-token", "db"),
    ],
    to: "sa:shop/db",
    kinds: ["secret-read", "token-of"],
    text: "ci/deployer —list secrets in namespace shop→ Secret shop/db-token —legacy token of ServiceAccount db→ shop/db (2 hops)",
  },
  {
    name: "create Secrets and read them → every ServiceAccount of the namespace (a minted legacy token)",
    objects: [...inNamespace("kube-system", [[""], ["secrets"], ["create", "get"]]), ...POWERFUL],
    to: CLUSTER_ADMIN,
    kinds: ["secret-mint", "cluster-admin"],
    text: "ci/deployer —create secrets and get secrets in namespace kube-system→ kube-system/admin —every verb on every resource in every API group, cluster-wide→ cluster-admin (2 hops)",
  },
  {
    name: "create Secrets named X and get Secrets named X: mint into X",
    objects: [
      ...inNamespace("kube-system", [[""], ["secrets"], ["create", "get"], ["mint"]]),
      ...POWERFUL,
    ],
    to: "sa:kube-system/admin",
    kinds: ["secret-mint"],
    text: 'ci/deployer —create secrets named "mint" and get secrets named "mint" in namespace kube-system→ kube-system/admin (1 hop)',
  },
  {
    name: "read Secrets → a credential an NHI declares (its value)",
    objects: [
      ...inNamespace("shop", [[""], ["secrets"], ["get"], ["stripe-key"]]),
      {
        kind: "NonHumanIdentity",
        metadata: { namespace: "shop", name: "payments" },
        spec: {
          owner: { team: "t", contact: "c" },
          purpose: "p",
          serviceAccountName: "payments",
          credentials: [{ name: "stripe", type: "External", secretName: "stripe-key" }],
        },
      },
      { kind: "Secret", metadata: { namespace: "shop", name: "stripe-key" }, type: "Opaque" },
    ],
    to: "secret:shop/stripe-key",
    kinds: ["secret-read"],
    text: 'ci/deployer —get secrets named "stripe-key" in namespace shop→ Secret shop/stripe-key (1 hop)',
  },
  {
    name: "serviceaccounts/token create → that ServiceAccount",
    objects: [
      ...inNamespace("shop", [[""], ["serviceaccounts/token"], ["create"], ["db"]]),
      sa("shop", "db"),
    ],
    to: "sa:shop/db",
    kinds: ["token-request"],
    text: 'ci/deployer —create serviceaccounts/token named "db" in namespace shop→ shop/db (1 hop)',
  },
  {
    name: "impersonate serviceaccounts → those ServiceAccounts",
    objects: [
      ...inNamespace("kube-system", [[""], ["serviceaccounts"], ["impersonate"]]),
      ...POWERFUL,
    ],
    to: CLUSTER_ADMIN,
    kinds: ["impersonate", "cluster-admin"],
    text: "ci/deployer —impersonate serviceaccounts in namespace kube-system→ kube-system/admin —every verb on every resource in every API group, cluster-wide→ cluster-admin (2 hops)",
  },
  {
    name: "impersonate users → every ServiceAccount (a ServiceAccount is the user system:serviceaccount:NS:NAME)",
    objects: [
      ...attacker([[""], ["users"], ["impersonate"], ["system:serviceaccount:shop:db"]]),
      sa("shop", "db"),
      sa("shop", "web"),
    ],
    to: "sa:shop/db",
    kinds: ["impersonate"],
    text: 'ci/deployer —impersonate users named "system:serviceaccount:shop:db", cluster-wide→ shop/db (1 hop)',
  },
  {
    name: "impersonate groups → system:masters, i.e. cluster-admin",
    objects: attacker([[""], ["groups"], ["impersonate"]]),
    to: CLUSTER_ADMIN,
    kinds: ["impersonate"],
    text: "ci/deployer —impersonate groups, cluster-wide (system:masters)→ cluster-admin (1 hop)",
  },
  {
    name: "bind + create clusterrolebindings → cluster-admin",
    objects: attacker(
      [["rbac.authorization.k8s.io"], ["clusterroles"], ["bind"]],
      [["rbac.authorization.k8s.io"], ["clusterrolebindings"], ["create"]],
    ),
    to: CLUSTER_ADMIN,
    kinds: ["rbac-bind"],
    text: "ci/deployer —bind clusterroles and create clusterrolebindings, cluster-wide→ cluster-admin (1 hop)",
  },
  {
    name: "bind + create rolebindings in a namespace → its ServiceAccounts (admin there)",
    objects: [
      ...inNamespace(
        "shop",
        [["rbac.authorization.k8s.io"], ["clusterroles", "roles"], ["bind"]],
        [["rbac.authorization.k8s.io"], ["rolebindings"], ["create"]],
      ),
      sa("shop", "db"),
    ],
    to: "sa:shop/db",
    kinds: ["rbac-bind"],
    text: "ci/deployer —bind roles and create rolebindings in namespace shop→ shop/db (1 hop)",
  },
  {
    name: "escalate + update clusterroles → cluster-admin",
    objects: attacker([["rbac.authorization.k8s.io"], ["clusterroles"], ["escalate", "update"]]),
    to: CLUSTER_ADMIN,
    kinds: ["rbac-escalate"],
    text: "ci/deployer —escalate and update clusterroles, cluster-wide→ cluster-admin (1 hop)",
  },
  {
    name: "nodes/proxy → every pod on the nodes",
    objects: [
      ...attacker([[""], ["nodes/proxy"], ["get"]]),
      sa("shop", "db"),
      pod("shop", "db-0", "db"),
    ],
    to: "sa:shop/db",
    kinds: ["nodes-proxy", "kubelet", "runs-as"],
    text: "ci/deployer —get nodes/proxy, cluster-wide→ every node (kubelet) —runs the pod→ Pod shop/db-0 —runs as ServiceAccount db→ shop/db (3 hops)",
  },
  {
    name: "CSR create + approve → any client identity (system:masters)",
    objects: attacker(
      [["certificates.k8s.io"], ["certificatesigningrequests"], ["create"]],
      [["certificates.k8s.io"], ["certificatesigningrequests/approval"], ["update"]],
      [["certificates.k8s.io"], ["signers"], ["approve"], ["kubernetes.io/kube-apiserver-client"]],
    ),
    to: CLUSTER_ADMIN,
    kinds: ["csr-approve"],
    text: "ci/deployer —create certificatesigningrequests, update certificatesigningrequests/approval and approve signers, cluster-wide→ cluster-admin (1 hop)",
  },
  {
    name: "webhook configuration writes → every object admitted",
    objects: attacker([
      ["admissionregistration.k8s.io"],
      ["mutatingwebhookconfigurations"],
      ["create"],
    ]),
    to: CLUSTER_ADMIN,
    kinds: ["admission-write"],
    text: "ci/deployer —create mutatingwebhookconfigurations.admissionregistration.k8s.io, cluster-wide→ cluster-admin (1 hop)",
  },
  {
    name: "group subjects count as members",
    objects: [
      sa("ci", "deployer"),
      role("kube-system", "pods", [rule([""], ["pods"], ["create"])]),
      roleBinding("kube-system", "ci-pods", "pods", "system:serviceaccounts:ci"),
      ...POWERFUL,
    ],
    to: CLUSTER_ADMIN,
    kinds: ["member-of", "pod-create", "cluster-admin"],
    text: "ci/deployer —member of system:serviceaccounts:ci→ group:system:serviceaccounts:ci —create pods in namespace kube-system→ kube-system/admin —every verb on every resource in every API group, cluster-wide→ cluster-admin (2 hops)",
  },
];

describe("identity graph: every edge kind", () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const g = IdentityGraph.fromSnapshot(snapshotOf(row.objects));
      const r = blastRadius(g, row.from ?? ATTACKER);
      const path = pathTo(r, row.to);
      expect(
        path,
        `no path to ${row.to}; reached ${[...r.reached.keys()].join(", ")}`,
      ).to.not.equal(undefined);
      expect(path?.map((h) => h.kind)).to.deep.equal(row.kinds);
      expect(describePath(g, path ?? [])).to.equal(row.text);
      for (const hop of path ?? []) expect(hop.technique).to.equal(EDGE_KINDS[hop.kind].technique);
      // The RBAC hop names the grant that enables it.
      const first = path?.[0];
      if (first && first.kind !== "member-of")
        expect(first.through.join(" ")).to.match(/Binding .*attack|Binding .*ci-pods/);
    });
  }

  it("every edge kind has a row", () => {
    const covered = new Set(ROWS.flatMap((r) => r.kinds));
    expect(Object.keys(EDGE_KINDS).filter((k) => !covered.has(k as EdgeKindId))).to.deep.equal([]);
  });
});

describe("identity graph: what is not an edge", () => {
  const reaches = (objects: Parameters<typeof snapshotOf>[0], to: string): boolean =>
    blastRadius(IdentityGraph.fromSnapshot(snapshotOf(objects)), ATTACKER).reached.has(to);

  it("a binding write without bind or escalate grants nothing more (the API server's escalation check)", () => {
    expect(
      reaches(
        attacker([
          ["rbac.authorization.k8s.io"],
          ["clusterrolebindings", "rolebindings"],
          ["create"],
        ]),
        CLUSTER_ADMIN,
      ),
    ).to.equal(false);
  });
  it("exec reaches no account from a pod that does not mount a token", () => {
    const objects = [
      ...inNamespace("shop", [[""], ["pods/exec"], ["create"]]),
      sa("shop", "db"),
      pod("shop", "db-0", "db", { automountServiceAccountToken: false }),
    ];
    expect(reaches(objects, "sa:shop/db")).to.equal(false);
    expect(
      reaches(
        [
          ...objects.slice(0, -2),
          sa("shop", "db", { automountServiceAccountToken: false }),
          pod("shop", "db-0", "db"),
        ],
        "sa:shop/db",
      ),
    ).to.equal(false);
  });
  it("creating Secrets without reading them back mints nothing the attacker holds", () => {
    expect(
      reaches(
        [...inNamespace("kube-system", [[""], ["secrets"], ["create"]]), ...POWERFUL],
        "sa:kube-system/admin",
      ),
    ).to.equal(false);
    // Create one name, read another: no Secret both allow.
    expect(
      reaches(
        [
          ...inNamespace(
            "kube-system",
            [[""], ["secrets"], ["create"], ["a"]],
            [[""], ["secrets"], ["get"], ["b"]],
          ),
          ...POWERFUL,
        ],
        "sa:kube-system/admin",
      ),
    ).to.equal(false);
  });
  it("token minting limited by resourceNames reaches only the named account", () => {
    const objects = [
      ...inNamespace("shop", [[""], ["serviceaccounts/token"], ["create"], ["db"]]),
      sa("shop", "db"),
      sa("shop", "web"),
    ];
    expect(reaches(objects, "sa:shop/db")).to.equal(true);
    expect(reaches(objects, "sa:shop/web")).to.equal(false);
  });
  it("a namespaced grant of impersonate users does nothing (users are cluster-scoped)", () => {
    expect(
      reaches(
        [...inNamespace("shop", [[""], ["users"], ["impersonate"]]), sa("shop", "db")],
        "sa:shop/db",
      ),
    ).to.equal(false);
  });
  it("reading secrets reaches nothing through an Opaque Secret no NHI declares", () => {
    const objects = [
      ...inNamespace("shop", [[""], ["secrets"], ["get"]]),
      { kind: "Secret", metadata: { namespace: "shop", name: "x" }, type: "Opaque" },
    ];
    expect(reaches(objects, "secret:shop/x")).to.equal(false);
  });
  it("the nodes sink is only reached through nodes/proxy", () => {
    expect(reaches(inNamespace("shop", [[""], ["pods"], ["get"]]), NODES)).to.equal(false);
  });
});
