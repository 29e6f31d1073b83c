// The transitive-escalation finding on the webhook's path: a write that opens a new attack path to
// cluster-admin (or from a governed identity beyond its scopes) warns, and denies under Enforce.
import { expect } from "chai";
import type { NHIPolicy } from "../../../core/nhi/types.js";
import type { RbacObject } from "../../../core/rbac/types.js";
import { transitiveEscalationFindings } from "../../../core/graph/escalation.js";
import type { IdentityGraph } from "../../../core/graph/graph.js";
import { identityChanges } from "../../../core/policy/rbac-write.js";
import { snapshotView } from "../../../operator/k8s/cache/static.js";
import type { AdmissionReviewResponse } from "../../../webhooks/admission/review.js";
import { testHandler } from "./helpers.js";
import { POLICY, nhi, snapshot } from "./world.js";

const RESOURCES: Record<string, string> = {
  Role: "roles",
  ClusterRole: "clusterroles",
  RoleBinding: "rolebindings",
  ClusterRoleBinding: "clusterrolebindings",
};

function review(
  object: RbacObject,
  userInfo = { username: "alice", groups: ["system:authenticated"] },
): unknown {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "u-transitive",
      kind: { group: "rbac.authorization.k8s.io", version: "v1", kind: object.kind },
      resource: {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        resource: RESOURCES[object.kind],
      },
      operation: "CREATE",
      ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
      name: object.metadata.name,
      userInfo,
      object: { apiVersion: "rbac.authorization.k8s.io/v1", ...object },
      dryRun: false,
    },
  };
}

// vault/powerful is cluster-admin; granting ci/builder "create pods" in vault opens a 2-hop path.
const POWERFUL: RbacObject[] = [
  {
    kind: "ClusterRoleBinding",
    metadata: { name: "powerful-admin" },
    roleRef: { kind: "ClusterRole", name: "cluster-admin" },
    subjects: [{ kind: "ServiceAccount", name: "powerful", namespace: "vault" }],
  },
  {
    kind: "Role",
    metadata: { name: "pod-maker", namespace: "vault" },
    rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["create"] }],
  },
  {
    kind: "Role",
    metadata: { name: "cm-reader", namespace: "vault" },
    rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
  },
];
const accounts = [
  { kind: "ServiceAccount" as const, metadata: { name: "powerful", namespace: "vault" } },
  { kind: "ServiceAccount" as const, metadata: { name: "builder", namespace: "ci" } },
];
const binding = (role: string): RbacObject => ({
  kind: "RoleBinding",
  metadata: { name: `builder-${role}`, namespace: "vault" },
  roleRef: { kind: "Role", name: role },
  subjects: [{ kind: "ServiceAccount", name: "builder", namespace: "ci" }],
});

function viewWith(policy: Partial<NHIPolicy["spec"]> = {}, nhis = snapshot().nhis) {
  const base = snapshot();
  return snapshotView({
    ...base,
    serviceAccounts: [...base.serviceAccounts, ...accounts],
    rbac: [...base.rbac, ...POWERFUL],
    nhis,
    policies: [{ ...POLICY, spec: { ...POLICY.spec, ...policy } }],
  });
}

const answer = (view: ReturnType<typeof viewWith>, body: unknown): AdmissionReviewResponse =>
  testHandler(view).handle(body).body as AdmissionReviewResponse;

describe("webhook: transitive escalation", () => {
  it("warns, naming the path, when a binding opens a path to cluster-admin (Audit, the default)", () => {
    const { response } = answer(viewWith(), review(binding("pod-maker")));
    const text = JSON.stringify(response);
    expect(response.allowed, text).to.equal(true);
    const warning = (response.warnings ?? []).find((w) => w.includes("[transitive-escalation]"));
    expect(warning, text).to.be.a("string");
    expect(warning).to.contain(
      "ci/builder —create pods in namespace vault→ vault/powerful —every verb on every resource in every API group, cluster-wide→ cluster-admin (2 hops)",
    );
    expect(response.auditAnnotations?.warnings).to.contain("transitive-escalation");
  });

  it("denies it when the NHIPolicy says transitiveEscalation: Enforce", () => {
    const { response } = answer(
      viewWith({ transitiveEscalation: "Enforce" }),
      review(binding("pod-maker")),
    );
    expect(response.allowed).to.equal(false);
    expect(response.status?.code).to.equal(403);
    expect(response.status?.message).to.contain("[transitive-escalation]");
    expect(response.status?.message).to.contain("vault/powerful");
    expect(response.status?.message).to.contain("cluster-admin (2 hops)");
  });

  it("follows a per-namespace override of transitiveEscalation for paths that start in its namespaces", () => {
    const withCiLabelled = (policy: Partial<NHIPolicy["spec"]>) => {
      const base = snapshot();
      return snapshotView({
        ...base,
        namespaces: base.namespaces.map((n) =>
          n.metadata.name === "ci"
            ? { ...n, metadata: { ...n.metadata, labels: { team: "ci" } } }
            : n,
        ),
        serviceAccounts: [...base.serviceAccounts, ...accounts],
        rbac: [...base.rbac, ...POWERFUL],
        policies: [{ ...POLICY, spec: { ...POLICY.spec, ...policy } }],
      });
    };
    const ci = { namespaceSelector: { matchLabels: { team: "ci" } } };
    const enforcedInCi = answer(
      withCiLabelled({
        transitiveEscalation: "Audit",
        overrides: [{ ...ci, transitiveEscalation: "Enforce" }],
      }),
      review(binding("pod-maker")),
    ).response;
    expect(enforcedInCi.allowed, JSON.stringify(enforcedInCi)).to.equal(false);
    expect(enforcedInCi.status?.message).to.contain("[transitive-escalation]");
    const auditedInCi = answer(
      withCiLabelled({
        transitiveEscalation: "Enforce",
        overrides: [{ ...ci, transitiveEscalation: "Audit" }],
      }),
      review(binding("pod-maker")),
    ).response;
    expect(auditedInCi.allowed, JSON.stringify(auditedInCi)).to.equal(true);
    expect((auditedInCi.warnings ?? []).join(" ")).to.contain("[transitive-escalation]");
  });

  it("says nothing of a write that adds no capability", () => {
    const { response } = answer(
      viewWith({ transitiveEscalation: "Enforce" }),
      review(binding("cm-reader")),
    );
    expect(response.allowed, JSON.stringify(response)).to.equal(true);
    expect(JSON.stringify(response)).not.to.contain("transitive-escalation");
  });

  it("says nothing when the path was already open", () => {
    // ci/deployer may already create pods in shop, where shop/admin-bot is cluster-admin.
    const again: RbacObject = {
      kind: "RoleBinding",
      metadata: { name: "deployer-again", namespace: "shop" },
      roleRef: { kind: "Role", name: "deployer" },
      subjects: [{ kind: "ServiceAccount", name: "deployer", namespace: "ci" }],
    };
    const { response } = answer(viewWith({ transitiveEscalation: "Enforce" }), review(again));
    expect(JSON.stringify(response)).not.to.contain("transitive-escalation");
  });

  it("does not judge writes the control plane makes", () => {
    const { response } = answer(
      viewWith({ transitiveEscalation: "Enforce" }),
      review(binding("pod-maker"), {
        username: "system:kube-controller-manager",
        groups: ["system:authenticated"],
      }),
    );
    expect(JSON.stringify(response)).not.to.contain("transitive-escalation");
  });

  it("walks at most MAX_WALKED_HOLDERS holders of one write, and says how many it did not", () => {
    const many: RbacObject = {
      kind: "RoleBinding",
      metadata: { name: "many-launchers", namespace: "vault" },
      roleRef: { kind: "Role", name: "pod-maker" },
      subjects: Array.from({ length: 20 }, (_, i) => ({
        kind: "ServiceAccount",
        name: `runner-${String(i).padStart(2, "0")}`,
        namespace: "ci",
      })),
    };
    // Judged as the webhook judges it, in the core: the handler keeps only the first warnings.
    const view = viewWith();
    const findings = transitiveEscalationFindings({
      graph: view.identityGraph?.() as IdentityGraph,
      changes: identityChanges(view.index, { upsert: many }),
      governing: () => undefined,
      object: { kind: "RoleBinding", namespace: "vault", name: "many-launchers" },
      mode: "Audit",
    });
    expect(findings[0]?.message).to.contain(
      "adds capabilities to 20 identities; the attack paths it opens were judged for the first 16 only",
    );
    // The 16 walked: each opens a path to cluster-admin through vault/powerful.
    expect(findings.filter((f) => f.paths?.[0]?.to === "cluster-admin")).to.have.length(16);
  });

  it("walks no further than its edge budget, and says what it did not judge", () => {
    const view = viewWith();
    const judge = (budgetEdges?: number): ReturnType<typeof transitiveEscalationFindings> =>
      transitiveEscalationFindings({
        graph: view.identityGraph?.() as IdentityGraph,
        changes: identityChanges(view.index, { upsert: binding("pod-maker") }),
        governing: () => undefined,
        object: { kind: "RoleBinding", namespace: "vault", name: "builder-pod-maker" },
        mode: "Enforce",
        ...(budgetEdges !== undefined ? { budgetEdges } : {}),
      });
    expect(judge().some((f) => f.outcome === "deny")).to.equal(true);
    const starved = judge(1);
    expect(starved.map((f) => f.outcome)).to.deep.equal(["warn"]);
    expect(starved[0]?.message).to.contain("the attack paths it opens were not judged");
  });

  it("names a path from a governed identity to an identity holding more than its scopes", () => {
    // ci/builder's NHI declares pods create in vault: the pod-create itself is in scope, but the
    // accounts of vault it can run as hold more (vault/reader reads Secrets).
    const extra: RbacObject[] = [
      {
        kind: "ClusterRoleBinding",
        metadata: { name: "powerful-admin" },
        roleRef: { kind: "ClusterRole", name: "view" },
        subjects: [{ kind: "ServiceAccount", name: "powerful", namespace: "vault" }],
      },
    ];
    const base = snapshot();
    const view = snapshotView({
      ...base,
      serviceAccounts: [...base.serviceAccounts, ...accounts],
      rbac: [...base.rbac, ...extra, ...POWERFUL.slice(1)],
      nhis: [
        ...base.nhis,
        nhi("ci", "builder", {
          scopes: [
            { namespaces: ["vault"], apiGroups: [""], resources: ["pods"], verbs: ["create"] },
          ],
        }),
      ],
      policies: [{ ...POLICY, spec: { ...POLICY.spec, transitiveEscalation: "Enforce" } }],
    });
    const { response } = answer(view, review(binding("pod-maker")));
    expect(response.allowed, JSON.stringify(response)).to.equal(false);
    expect(response.status?.message).to.contain("[transitive-escalation]");
    expect(response.status?.message).to.contain(
      "ci/builder —create pods in namespace vault→ vault/powerful (1 hop)",
    );
    expect(response.status?.message).to.contain("NonHumanIdentity ci/builder declares");
  });
});
