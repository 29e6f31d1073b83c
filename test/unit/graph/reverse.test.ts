// The reverse direction of transitive escalation: a write that makes an account powerful opens paths
// for every identity that already reaches the account (it may create pods in its namespace, patch a
// workload running as it, read its token Secret, mint or impersonate it), not only for the account.
import { expect } from "chai";
import { MAX_REACHING, transitiveEscalationFindings } from "../../../core/graph/escalation.js";
import { IdentityGraph } from "../../../core/graph/index.js";
import { identityChanges } from "../../../core/policy/rbac-write.js";
import type { RbacObject } from "../../../core/rbac/types.js";
import {
  clusterRoleBinding,
  deployment,
  role,
  roleBinding,
  rule,
  sa,
  snapshotOf,
  tokenSecret,
} from "./fixtures.js";

type Obj = Parameters<typeof snapshotOf>[0][number];

const ADMIN_PERMISSION = "every verb on every resource in every API group, cluster-wide";
/** The write under judgement: vault/target becomes cluster-admin. */
const promote = clusterRoleBinding("promote", "cluster-admin", "vault/target") as RbacObject;

function judge(objects: Obj[], write: RbacObject = promote, budgetEdges?: number) {
  const graph = IdentityGraph.fromSnapshot(
    snapshotOf([sa("vault", "target"), sa("ci", "x"), sa("ci", "y"), ...objects]),
  );
  return transitiveEscalationFindings({
    graph,
    changes: identityChanges(graph.index, { upsert: write }),
    governing: () => undefined,
    object: { kind: write.kind, name: write.metadata.name },
    mode: "Enforce",
    ...(budgetEdges !== undefined ? { budgetEdges } : {}),
  });
}
const texts = (findings: ReturnType<typeof judge>): string[] =>
  findings.map((f) => f.message).sort();

describe("transitive escalation: identities that already reach the account a write changes", () => {
  const cases: { name: string; objects: Obj[]; path: string }[] = [
    {
      name: "create pods in its namespace",
      objects: [
        role("vault", "launch", [rule([""], ["pods"], ["create"])]),
        roleBinding("vault", "x-launch", "launch", "ci/x"),
      ],
      path: `ci/x —create pods in namespace vault→ vault/target —${ADMIN_PERMISSION}→ cluster-admin (2 hops)`,
    },
    {
      name: "mint its token (TokenRequest, named)",
      objects: [
        role("vault", "mint", [rule([""], ["serviceaccounts/token"], ["create"], ["target"])]),
        roleBinding("vault", "x-mint", "mint", "ci/x"),
      ],
      path: `ci/x —create serviceaccounts/token named "target" in namespace vault→ vault/target —${ADMIN_PERMISSION}→ cluster-admin (2 hops)`,
    },
    {
      name: "impersonate it as a user",
      objects: [
        {
          ...role("", "", []),
          kind: "ClusterRole",
          metadata: { name: "imp" },
          rules: [rule([""], ["users"], ["impersonate"], ["system:serviceaccount:vault:target"])],
        },
        clusterRoleBinding("x-imp", "imp", "ci/x"),
      ],
      path: `ci/x —impersonate users named "system:serviceaccount:vault:target", cluster-wide→ vault/target —${ADMIN_PERMISSION}→ cluster-admin (2 hops)`,
    },
    {
      name: "read its legacy token Secret",
      objects: [
        tokenSecret("vault", "target-token", "target"),
        role("vault", "read", [rule([""], ["secrets"], ["get"])]),
        roleBinding("vault", "x-read", "read", "ci/x"),
      ],
      path: `ci/x —get secrets in namespace vault→ Secret vault/target-token —legacy token of ServiceAccount target→ vault/target —${ADMIN_PERMISSION}→ cluster-admin (3 hops)`,
    },
    {
      name: "patch a Deployment running as it",
      objects: [
        deployment("vault", "app", "target"),
        role("vault", "patch", [rule(["apps"], ["deployments"], ["patch"])]),
        roleBinding("vault", "x-patch", "patch", "ci/x"),
      ],
      path: `ci/x —patch deployments.apps in namespace vault→ Deployment vault/app —runs as ServiceAccount target→ vault/target —${ADMIN_PERMISSION}→ cluster-admin (3 hops)`,
    },
    {
      name: "create pods where an account that reaches it lives (two hops back)",
      objects: [
        role("vault", "launch", [rule([""], ["pods"], ["create"])]),
        roleBinding("vault", "y-launch", "launch", "ci/y"),
        role("ci", "launch", [rule([""], ["pods"], ["create"])]),
        roleBinding("ci", "x-launch", "launch", "ci/x"),
      ],
      path: `ci/x —create pods in namespace ci→ ci/y —create pods in namespace vault→ vault/target —${ADMIN_PERMISSION}→ cluster-admin (3 hops)`,
    },
  ];
  for (const c of cases) {
    it(`names the path of an identity that may ${c.name}`, () => {
      const messages = texts(judge(c.objects));
      expect(
        messages.some((m) => m.includes(`opens a path from ci/x to cluster-admin: ${c.path}.`)),
        messages.join("\n"),
      ).to.equal(true);
    });
  }

  it("through a member group: binding every account of vault reaches whoever creates pods there", () => {
    const messages = texts(
      judge(
        [
          role("vault", "launch", [rule([""], ["pods"], ["create"])]),
          roleBinding("vault", "x-launch", "launch", "ci/x"),
        ],
        clusterRoleBinding(
          "promote-all",
          "cluster-admin",
          "system:serviceaccounts:vault",
        ) as RbacObject,
      ),
    );
    expect(messages.join("\n")).to.contain(
      "opens a path from ci/x to cluster-admin: ci/x —create pods in namespace vault→ vault/target",
    );
  });

  it("names nothing for an identity that reached cluster-admin already, or reaches nothing", () => {
    const findings = judge([
      role("vault", "launch", [rule([""], ["pods"], ["create"])]),
      roleBinding("vault", "x-launch", "launch", "ci/x"),
      clusterRoleBinding("y-admin", "cluster-admin", "ci/y"),
      roleBinding("vault", "y-launch", "launch", "ci/y"),
    ]);
    expect(findings.map((f) => f.identity)).to.deep.equal(["system:serviceaccount:ci:x"]);
  });

  it(`judges the nearest ${MAX_REACHING} identities that reach it, and says it did not judge the rest`, () => {
    const many: Obj[] = [role("vault", "launch", [rule([""], ["pods"], ["create"])])];
    for (let i = 0; i < MAX_REACHING + 4; i++) {
      many.push(sa("ci", `r${String(i).padStart(2, "0")}`));
      many.push(roleBinding("vault", `r${i}`, "launch", `ci/r${String(i).padStart(2, "0")}`));
    }
    const findings = judge(many);
    expect(findings[0]?.severity).to.equal("medium");
    expect(findings[0]?.message).to.contain(`judged for the nearest ${MAX_REACHING} only`);
    expect(findings.filter((f) => f.paths?.[0]?.to === "cluster-admin")).to.have.length(
      MAX_REACHING,
    );
  });

  it("spends the write's edge budget walking backwards too", () => {
    const objects = [
      role("vault", "launch", [rule([""], ["pods"], ["create"])]),
      roleBinding("vault", "x-launch", "launch", "ci/x"),
    ];
    expect(judge(objects).some((f) => f.outcome === "deny")).to.equal(true);
    // The smallest budget that judges the holder itself: the walk backwards finds none left.
    let budget = 1;
    while (judge(objects, promote, budget)[0]?.message.includes("were not judged: their closure"))
      budget++;
    const starved = judge(objects, promote, budget);
    expect(starved.map((f) => f.outcome)).to.deep.equal(["warn"]);
    expect(starved[0]?.message).to.contain("identities others already reach");
    expect(starved[0]?.message).to.contain("were not judged");
  });
});
