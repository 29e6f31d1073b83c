// Effective-permission index at cluster scale (issue 2): 10,000 ServiceAccounts, 20,000
// Roles/ClusterRoles (some aggregated) and 50,000 bindings with direct and group subjects.
// Targets: full build < 2 s, one incremental binding update < 1 ms, heap < 200 MB.

import { EffectivePermissionIndex } from "../core/rbac/effective.js";
import { uncoveredGrants } from "../core/rbac/scoped.js";
import type {
  ClusterRole,
  ClusterRoleBinding,
  PolicyRule,
  RbacObject,
  Role,
  RoleBinding,
  ScopedRule,
  ServiceAccountRef,
  Subject,
} from "../core/rbac/types.js";
import {
  type Benchmark,
  type Figure,
  heapUsedMB,
  percentile,
  rng,
  sample,
  timeOnce,
} from "./harness.js";

export const SIZES = {
  namespaces: 500,
  serviceAccountsPerNamespace: 20, // 10,000 SAs
  rolesPerNamespace: 30, // 15,000 Roles
  clusterRoles: 5_000, // + 15,000 Roles = 20,000
  aggregators: 100, // ClusterRoles with an aggregationRule
  aggregatedPieces: 1_900, // ClusterRoles labelled to feed one of them
  viewPieces: 50, // ClusterRoles labelled aggregate-to-view/edit (CRD roles)
  roleBindingsPerNamespace: 80, // 40,000 RoleBindings
  clusterRoleBindings: 10_000, // + 40,000 = 50,000 bindings
  clusterWideGroupBindings: 10, // bound to system:serviceaccounts / system:authenticated
};

const RULE_POOL: PolicyRule[] = [
  { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
  {
    apiGroups: [""],
    resources: ["secrets"],
    verbs: ["get"],
    resourceNames: ["db-credentials", "tls"],
  },
  { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] },
  { apiGroups: [""], resources: ["services", "endpoints"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
  {
    apiGroups: ["apps"],
    resources: ["deployments", "statefulsets", "deployments/scale"],
    verbs: ["get", "list", "watch", "patch", "update"],
  },
  {
    apiGroups: ["batch"],
    resources: ["jobs", "cronjobs"],
    verbs: ["create", "delete", "get", "list"],
  },
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
  {
    apiGroups: ["networking.k8s.io"],
    resources: ["ingresses", "networkpolicies"],
    verbs: ["get", "list"],
  },
  { apiGroups: ["example.com"], resources: ["widgets", "widgets/status"], verbs: ["*"] },
  {
    apiGroups: ["monitoring.coreos.com"],
    resources: ["servicemonitors", "prometheusrules"],
    verbs: ["get", "list", "watch", "create", "update"],
  },
  { apiGroups: ["*"], resources: ["*/scale"], verbs: ["get", "update"] },
  {
    apiGroups: ["rbac.authorization.k8s.io"],
    resources: ["roles", "rolebindings"],
    verbs: ["get", "list"],
  },
];
const CLUSTER_RULE_POOL: PolicyRule[] = [
  ...RULE_POOL,
  { apiGroups: [""], resources: ["nodes", "namespaces"], verbs: ["get", "list", "watch"] },
  { nonResourceURLs: ["/metrics", "/healthz*"], verbs: ["get"] },
  {
    apiGroups: ["apiextensions.k8s.io"],
    resources: ["customresourcedefinitions"],
    verbs: ["get", "list", "watch"],
  },
];

export interface SyntheticCluster {
  serviceAccounts: ServiceAccountRef[];
  roles: Role[];
  clusterRoles: ClusterRole[];
  roleBindings: RoleBinding[];
  clusterRoleBindings: ClusterRoleBinding[];
  objects: RbacObject[];
  namespaces: string[];
}

/** A deterministic synthetic cluster. Every object is a fresh copy, as an informer cache holds them. */
export function syntheticCluster(seed = 42, sizes = SIZES): SyntheticCluster {
  const rand = rng(seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const copyRule = (r: PolicyRule): PolicyRule => {
    const c: PolicyRule = { verbs: [...r.verbs] };
    if (r.apiGroups) c.apiGroups = [...r.apiGroups];
    if (r.resources) c.resources = [...r.resources];
    if (r.resourceNames) c.resourceNames = [...r.resourceNames];
    if (r.nonResourceURLs) c.nonResourceURLs = [...r.nonResourceURLs];
    return c;
  };
  const rulesFrom = (pool: PolicyRule[]): PolicyRule[] =>
    Array.from({ length: 1 + int(4) }, () => copyRule(pick(pool)));

  const namespaces = Array.from({ length: sizes.namespaces }, (_, i) => `ns-${i}`);
  const serviceAccounts: ServiceAccountRef[] = [];
  for (const ns of namespaces) {
    for (let i = 0; i < sizes.serviceAccountsPerNamespace; i++)
      serviceAccounts.push({ namespace: ns, name: `sa-${i}` });
  }

  const roles: Role[] = [];
  for (const ns of namespaces) {
    for (let i = 0; i < sizes.rolesPerNamespace; i++) {
      roles.push({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { namespace: ns, name: `role-${i}` },
        rules: rulesFrom(RULE_POOL),
      });
    }
  }

  const clusterRoles: ClusterRole[] = [];
  for (let i = 0; i < sizes.clusterRoles; i++) {
    const name = `cr-${i}`;
    const cr: ClusterRole = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name, labels: { "app.kubernetes.io/part-of": `app-${i % 97}` } },
      rules: [],
    };
    if (i < sizes.aggregators) {
      cr.aggregationRule = {
        clusterRoleSelectors: [{ matchLabels: { "bench.nhi.io/aggregate-to": `agg-${i}` } }],
      };
    } else if (i < sizes.aggregators + sizes.aggregatedPieces) {
      (cr.metadata.labels as Record<string, string>)["bench.nhi.io/aggregate-to"] =
        `agg-${i % sizes.aggregators}`;
      cr.rules = rulesFrom(CLUSTER_RULE_POOL);
    } else if (i < sizes.aggregators + sizes.aggregatedPieces + sizes.viewPieces) {
      (cr.metadata.labels as Record<string, string>)[
        `rbac.authorization.k8s.io/aggregate-to-${i % 2 === 0 ? "view" : "edit"}`
      ] = "true";
      cr.rules = [
        {
          apiGroups: [`crd-${i}.example.com`],
          resources: [`things-${i}`],
          verbs: ["get", "list", "watch"],
        },
      ];
    } else {
      cr.rules = rulesFrom(CLUSTER_RULE_POOL);
    }
    clusterRoles.push(cr);
  }
  const clusterRoleNames = [...clusterRoles.map((c) => c.metadata.name), "view", "edit", "admin"];

  const saSubject = (ns: string, i: number): Subject => ({
    kind: "ServiceAccount",
    name: `sa-${i}`,
    namespace: ns,
  });
  const groupSubject = (name: string): Subject => ({
    kind: "Group",
    name,
    apiGroup: "rbac.authorization.k8s.io",
  });

  const roleBindings: RoleBinding[] = [];
  for (const ns of namespaces) {
    for (let i = 0; i < sizes.roleBindingsPerNamespace; i++) {
      const subjects: Subject[] = [];
      for (let s = 1 + int(3); s > 0; s--) {
        const x = rand();
        if (x < 0.85) subjects.push(saSubject(ns, int(sizes.serviceAccountsPerNamespace)));
        else if (x < 0.9)
          subjects.push(saSubject(pick(namespaces), int(sizes.serviceAccountsPerNamespace)));
        else if (x < 0.99) subjects.push(groupSubject(`system:serviceaccounts:${ns}`));
        else subjects.push(groupSubject(`system:serviceaccounts:${pick(namespaces)}`));
      }
      const toRole = rand() < 0.7;
      roleBindings.push({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { namespace: ns, name: `rb-${i}` },
        roleRef: toRole
          ? {
              apiGroup: "rbac.authorization.k8s.io",
              kind: "Role",
              name: `role-${int(sizes.rolesPerNamespace)}`,
            }
          : {
              apiGroup: "rbac.authorization.k8s.io",
              kind: "ClusterRole",
              name: pick(clusterRoleNames),
            },
        subjects,
      });
    }
  }

  const clusterRoleBindings: ClusterRoleBinding[] = [];
  for (let i = 0; i < sizes.clusterRoleBindings; i++) {
    let subjects: Subject[];
    if (i < sizes.clusterWideGroupBindings) {
      subjects = [groupSubject(i % 2 === 0 ? "system:serviceaccounts" : "system:authenticated")];
    } else {
      subjects = [];
      for (let s = 1 + int(2); s > 0; s--) {
        subjects.push(
          rand() < 0.95
            ? saSubject(pick(namespaces), int(sizes.serviceAccountsPerNamespace))
            : groupSubject(`system:serviceaccounts:${pick(namespaces)}`),
        );
      }
    }
    clusterRoleBindings.push({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: `crb-${i}` },
      // The cluster-wide group bindings get a small discovery-like role, as in real clusters.
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name:
          i < sizes.clusterWideGroupBindings
            ? `cr-${sizes.clusterRoles - 1 - i}`
            : pick(clusterRoleNames),
      },
      subjects,
    });
  }

  const objects: RbacObject[] = [
    ...roles,
    ...clusterRoles,
    ...roleBindings,
    ...clusterRoleBindings,
  ];
  return {
    serviceAccounts,
    roles,
    clusterRoles,
    roleBindings,
    clusterRoleBindings,
    objects,
    namespaces,
  };
}

const fmtCount = (n: number): string => n.toLocaleString("en-US");

export const effectivePermissionsBenchmark: Benchmark = {
  name: "effective-permissions",
  description: `EffectivePermissionIndex: ${fmtCount(SIZES.namespaces * SIZES.serviceAccountsPerNamespace)} SAs, ${fmtCount(
    SIZES.namespaces * SIZES.rolesPerNamespace + SIZES.clusterRoles,
  )} Roles/ClusterRoles (${SIZES.aggregators} aggregating), ${fmtCount(SIZES.namespaces * SIZES.roleBindingsPerNamespace + SIZES.clusterRoleBindings)} bindings`,
  run(): Figure[] {
    const figures: Figure[] = [];
    const heapStart = heapUsedMB();
    const cluster = syntheticCluster();
    const heapObjects = heapUsedMB();
    figures.push({
      label: "synthetic objects (roles + bindings)",
      value: cluster.objects.length,
      unit: "count",
    });
    figures.push({
      label: "heap held by the synthetic objects themselves",
      value: heapObjects - heapStart,
      unit: "MB",
    });

    // Full build, three times: the first includes JIT warm-up, as a fresh process would see.
    let index = new EffectivePermissionIndex();
    const builds: number[] = [];
    for (let i = 0; i < 3; i++) {
      index = new EffectivePermissionIndex(); // drop the previous one before timing the next
      builds.push(
        timeOnce(() => {
          index = EffectivePermissionIndex.from(cluster.objects, cluster.serviceAccounts);
        }),
      );
    }
    figures.push({
      label: "full build, first (cold)",
      value: builds[0] as number,
      unit: "ms",
      target: "< 2000 ms",
    });
    figures.push({
      label: "full build, best of 3",
      value: Math.min(...builds),
      unit: "ms",
      target: "< 2000 ms",
    });
    const heapIndex = heapUsedMB();
    figures.push({
      label: "heap used by the index (above the objects)",
      value: heapIndex - heapObjects,
      unit: "MB",
    });
    figures.push({
      label: "heap used in total after build (objects + index)",
      value: heapIndex,
      unit: "MB",
      target: "< 200 MB",
    });
    const stats = index.stats();
    figures.push({ label: "known ServiceAccounts", value: stats.serviceAccounts, unit: "count" });

    // The incremental path alone, one object at a time (what a watch stream does), for comparison.
    let sequential = new EffectivePermissionIndex();
    const seqMs = timeOnce(() => {
      for (const s of cluster.serviceAccounts) sequential.addServiceAccount(s);
      for (const o of cluster.objects) sequential.upsert(o);
    });
    figures.push({
      label: "build by one-at-a-time upserts (watch replay)",
      value: seqMs,
      unit: "ms",
    });
    sequential = new EffectivePermissionIndex();

    const rand = rng(7);
    const int = (n: number): number => Math.floor(rand() * n);
    const sas = cluster.serviceAccounts;
    const rbs = cluster.roleBindings;
    const crbs = cluster.clusterRoleBindings;

    // One RoleBinding update: a different subject set, then the original back on the next touch.
    const rbUpdates = sample(2_000, (i) => {
      const rb = rbs[(i * 7919) % rbs.length] as RoleBinding;
      const ns = rb.metadata.namespace as string;
      index.upsert({
        ...rb,
        subjects: [
          ...(rb.subjects ?? []),
          { kind: "ServiceAccount", name: `sa-${int(20)}`, namespace: ns },
        ],
      });
      index.upsert(rb);
    });
    figures.push({
      label: "incremental RoleBinding update, median (2 upserts)/2",
      value: (percentile(rbUpdates, 50) / 2) * 1000,
      unit: "µs",
      target: "< 1 ms",
    });
    figures.push({
      label: "incremental RoleBinding update, p99 (2 upserts)/2",
      value: (percentile(rbUpdates, 99) / 2) * 1000,
      unit: "µs",
      target: "< 1 ms",
    });

    const crbUpdates = sample(2_000, (i) => {
      const crb = crbs[
        SIZES.clusterWideGroupBindings +
          ((i * 104_729) % (crbs.length - SIZES.clusterWideGroupBindings))
      ] as ClusterRoleBinding;
      index.upsert({ ...crb, subjects: [] });
      index.upsert(crb);
    });
    figures.push({
      label: "incremental ClusterRoleBinding update, median",
      value: (percentile(crbUpdates, 50) / 2) * 1000,
      unit: "µs",
      target: "< 1 ms",
    });

    const addRemove = sample(2_000, (i) => {
      const ns = cluster.namespaces[i % cluster.namespaces.length] as string;
      index.upsert({
        kind: "RoleBinding",
        metadata: { namespace: ns, name: "bench-new" },
        roleRef: { kind: "ClusterRole", name: "edit" },
        subjects: [{ kind: "ServiceAccount", name: "sa-1" }],
      });
      index.remove({ kind: "RoleBinding", namespace: ns, name: "bench-new" });
    });
    figures.push({
      label: "create + delete a RoleBinding, median per op",
      value: (percentile(addRemove, 50) / 2) * 1000,
      unit: "µs",
    });

    const roleEdits = sample(2_000, (i) => {
      const r = cluster.roles[(i * 31) % cluster.roles.length] as Role;
      index.upsert({
        ...r,
        rules: [...(r.rules ?? []), { apiGroups: [""], resources: ["secrets"], verbs: ["list"] }],
      });
      index.upsert(r);
    });
    figures.push({
      label: "incremental Role rules edit, median",
      value: (percentile(roleEdits, 50) / 2) * 1000,
      unit: "µs",
    });

    const firstPiece = SIZES.aggregators;
    const pieceEdits = sample(500, (i) => {
      const cr = cluster.clusterRoles[firstPiece + (i % SIZES.aggregatedPieces)] as ClusterRole;
      index.upsert({
        ...cr,
        rules: [...(cr.rules ?? []), { apiGroups: [""], resources: ["secrets"], verbs: ["list"] }],
      });
      index.upsert(cr);
    });
    figures.push({
      label: "ClusterRole edit feeding an aggregator, median",
      value: (percentile(pieceEdits, 50) / 2) * 1000,
      unit: "µs",
    });

    const viewEdit = sample(100, (i) => {
      const cr: ClusterRole = {
        kind: "ClusterRole",
        metadata: {
          name: "bench-view-piece",
          labels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" },
        },
        rules: [{ apiGroups: ["x"], resources: [`r${i}`], verbs: ["get"] }],
      };
      index.upsert(cr);
      index.remove({ kind: "ClusterRole", name: "bench-view-piece" });
    });
    figures.push({
      label: "ClusterRole labelled aggregate-to-view (re-resolves view/edit/admin), median",
      value: (percentile(viewEdit, 50) / 2) * 1000,
      unit: "µs",
    });

    // Queries.
    const grantsOf = sample(5_000, () => {
      index.grantsOf(sas[int(sas.length)] as ServiceAccountRef);
    });
    figures.push({
      label: "grantsOf(one SA), median",
      value: percentile(grantsOf, 50) * 1000,
      unit: "µs",
    });
    let totalGrants = 0;
    const allGrants = timeOnce(() => {
      for (const s of sas) totalGrants += index.grantsOf(s).length;
    });
    figures.push({ label: "grantsOf(every SA)", value: allGrants, unit: "ms" });
    figures.push({ label: "grants per SA, mean", value: totalGrants / sas.length, unit: "count" });

    const scopes: ScopedRule[] = [
      {
        namespaces: ["*"],
        apiGroups: ["", "apps"],
        resources: ["configmaps", "pods", "pods/log", "services", "endpoints"],
        verbs: ["get", "list", "watch"],
      },
    ];
    const scopeCheck = sample(2_000, () => {
      const s = sas[int(sas.length)] as ServiceAccountRef;
      uncoveredGrants(
        [{ ...(scopes[0] as ScopedRule), namespaces: [s.namespace] }],
        index.grantsOf(s),
      );
    });
    figures.push({
      label: "grantsOf + uncoveredGrants(one SA), median",
      value: percentile(scopeCheck, 50) * 1000,
      unit: "µs",
    });

    let gained = 0;
    const whatIfBinding = sample(1_000, (i) => {
      const ns = cluster.namespaces[i % cluster.namespaces.length] as string;
      gained += index.whatIf({
        upsert: {
          kind: "RoleBinding",
          metadata: { namespace: ns, name: "bench-whatif" },
          roleRef: { kind: "ClusterRole", name: "edit" },
          subjects: [
            { kind: "ServiceAccount", name: "sa-3" },
            { kind: "Group", name: `system:serviceaccounts:${ns}` },
          ],
        },
      }).size;
    });
    figures.push({
      label: "whatIf(new RoleBinding to edit, SA + namespace group), median",
      value: percentile(whatIfBinding, 50) * 1000,
      unit: "µs",
    });
    figures.push({
      label: "  SAs gaining per call, mean",
      value: gained / (whatIfBinding.length + 50),
      unit: "count",
    });

    gained = 0;
    const whatIfRole = sample(1_000, (i) => {
      const r = cluster.roles[(i * 13) % cluster.roles.length] as Role;
      gained += index.whatIf({
        upsert: {
          ...r,
          rules: [
            ...(r.rules ?? []),
            { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"] },
          ],
        },
      }).size;
    });
    figures.push({
      label: "whatIf(widen a bound Role), median",
      value: percentile(whatIfRole, 50) * 1000,
      unit: "µs",
    });
    figures.push({
      label: "  SAs gaining per call, mean",
      value: gained / (whatIfRole.length + 50),
      unit: "count",
    });

    gained = 0;
    const whatIfView = sample(
      20,
      (i) => {
        gained += index.whatIf({
          upsert: {
            kind: "ClusterRole",
            metadata: {
              name: "bench-view-piece",
              labels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" },
            },
            rules: [{ apiGroups: ["x"], resources: [`r${i}`], verbs: ["get"] }],
          },
        }).size;
      },
      3,
    );
    figures.push({
      label: "whatIf(CRD role labelled aggregate-to-view: widens view/edit/admin holders), median",
      value: percentile(whatIfView, 50),
      unit: "ms",
    });
    figures.push({ label: "  SAs gaining per call, mean", value: gained / 23, unit: "count" });

    gained = 0;
    const whatIfGlobal = sample(
      20,
      (i) => {
        const crb = crbs[i % SIZES.clusterWideGroupBindings] as ClusterRoleBinding;
        gained += index.whatIf({
          upsert: { ...crb, roleRef: { kind: "ClusterRole", name: "view" } },
        }).size;
      },
      3,
    );
    figures.push({
      label: "whatIf(system:serviceaccounts binding → view: all SAs gain), median",
      value: percentile(whatIfGlobal, 50),
      unit: "ms",
    });
    figures.push({ label: "  SAs gaining per call, mean", value: gained / 23, unit: "count" });

    figures.push({ label: "heap in total at the end", value: heapUsedMB(), unit: "MB" });
    return figures;
  },
};
