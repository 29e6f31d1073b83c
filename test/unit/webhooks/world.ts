// A small cluster for the policy and webhook tests: identities with and without NHIs, RBAC that
// makes some of them powerful, token Secrets (metadata only) and a policy.
import type { NHIPolicy, NonHumanIdentity, NonHumanIdentitySpec } from "../../../core/nhi/types.js";
import type { RbacObject } from "../../../core/rbac/types.js";
import type {
  ClusterSnapshot,
  SecretMetadata,
  ServiceAccountObject,
} from "../../../core/snapshot.js";
import { snapshotView } from "../../../operator/k8s/cache/static.js";
import type { ClusterView } from "../../../operator/k8s/cache/view.js";

export const NOW = new Date("2026-06-01T00:00:00Z");

export function nhi(
  namespace: string,
  name: string,
  spec: Partial<NonHumanIdentitySpec> = {},
): NonHumanIdentity {
  return {
    apiVersion: "nhi.io/v1alpha1",
    kind: "NonHumanIdentity",
    metadata: { name, namespace },
    spec: {
      owner: { team: "shop-backend", contact: "shop-oncall@example.com" },
      purpose: `Runs ${name}`,
      serviceAccountName: name,
      scopes: [],
      legacyTokens: "Forbid",
      enforcement: "Enforce",
      suspended: false,
      rollout: false,
      ...spec,
    },
  };
}

const sa = (namespace: string, name: string, automount?: boolean): ServiceAccountObject => ({
  kind: "ServiceAccount",
  metadata: { name, namespace },
  ...(automount === undefined ? {} : { automountServiceAccountToken: automount }),
});
const secret = (
  namespace: string,
  name: string,
  type: string,
  account?: string,
): SecretMetadata => ({
  kind: "Secret",
  type,
  metadata: {
    name,
    namespace,
    ...(account ? { annotations: { "kubernetes.io/service-account.name": account } } : {}),
  },
});

export const ORDERS_NHI = nhi("shop", "orders-api", {
  scopes: [
    {
      namespaces: ["shop"],
      apiGroups: [""],
      resources: ["configmaps"],
      verbs: ["get", "list", "watch"],
    },
  ],
  workloads: {
    podSelector: { matchLabels: { app: "orders-api" } },
    images: ["registry.example.com/shop/orders-api:*"],
    automountToken: false,
  },
  credentials: [
    {
      name: "ci",
      type: "ServiceAccountToken",
      secretName: "orders-ci-token",
      ttl: "1h",
      renewBefore: "20m",
    },
  ],
});
export const DEPLOYER_NHI = nhi("ci", "deployer", {
  scopes: [
    {
      namespaces: ["shop"],
      apiGroups: ["apps"],
      resources: ["deployments"],
      verbs: ["get", "create", "update", "patch"],
    },
    { namespaces: ["shop"], apiGroups: [""], resources: ["pods"], verbs: ["create"] },
    {
      namespaces: ["shop"],
      apiGroups: [""],
      resources: ["configmaps"],
      verbs: ["get", "list", "watch"],
    },
  ],
});

export const RBAC: RbacObject[] = [
  {
    kind: "Role",
    metadata: { name: "cm-reader", namespace: "shop" },
    rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
  },
  {
    kind: "RoleBinding",
    metadata: { name: "cm-readers", namespace: "shop" },
    roleRef: { kind: "Role", name: "cm-reader" },
    subjects: [
      { kind: "ServiceAccount", name: "orders-api" },
      { kind: "ServiceAccount", name: "reader" },
    ],
  },
  {
    kind: "ClusterRoleBinding",
    metadata: { name: "admin-bot" },
    roleRef: { kind: "ClusterRole", name: "cluster-admin" },
    subjects: [{ kind: "ServiceAccount", name: "admin-bot", namespace: "shop" }],
  },
  {
    kind: "Role",
    metadata: { name: "deployer", namespace: "shop" },
    rules: [
      {
        apiGroups: ["apps"],
        resources: ["deployments"],
        verbs: ["get", "create", "update", "patch"],
      },
      { apiGroups: [""], resources: ["pods"], verbs: ["create"] },
    ],
  },
  {
    kind: "RoleBinding",
    metadata: { name: "deployer", namespace: "shop" },
    roleRef: { kind: "Role", name: "deployer" },
    subjects: [
      { kind: "ServiceAccount", name: "deployer", namespace: "ci" },
      { kind: "ServiceAccount", name: "loose-deployer", namespace: "ci" },
    ],
  },
];

export const POLICY: NHIPolicy = {
  apiVersion: "nhi.io/v1alpha1",
  kind: "NHIPolicy",
  metadata: { name: "default" },
  spec: {
    requireClaim: "Audit",
    unclaimedHighPermissions: "Audit",
    maxTokenTTL: "24h",
    requireChangeRequest: {
      enabled: true,
      annotation: "nhi.io/change-request",
      valuePattern: "^CHG-[0-9]+$",
    },
    exemptNamespaces: ["sandbox"],
    exemptions: [
      {
        serviceAccounts: ["monitoring/prometheus"],
        rules: ["nodes-proxy", "nhi-critical-scope"],
        reason: "scrapes kubelets (OPS-1)",
      },
    ],
    breakGlass: {
      annotation: "nhi.io/break-glass",
      reasonAnnotation: "nhi.io/break-glass-reason",
      allowedGroups: ["sre"],
    },
    overrides: [
      {
        namespaceSelector: { matchLabels: { "nhi.io/tier": "production" } },
        requireClaim: "Enforce",
        unclaimedHighPermissions: "Enforce",
      },
    ],
  },
};

export function snapshot(extra: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  return {
    namespaces: [
      {
        kind: "Namespace",
        metadata: { name: "shop", labels: { "kubernetes.io/metadata.name": "shop" } },
      },
      { kind: "Namespace", metadata: { name: "ci" } },
      { kind: "Namespace", metadata: { name: "prod", labels: { "nhi.io/tier": "production" } } },
      { kind: "Namespace", metadata: { name: "sandbox" } },
    ],
    serviceAccounts: [
      sa("shop", "orders-api"),
      sa("shop", "reader"),
      sa("shop", "admin-bot"),
      sa("shop", "default"),
      sa("shop", "quiet", false),
      sa("ci", "deployer"),
      sa("ci", "loose-deployer"),
      sa("prod", "stray"),
      sa("shop", "expired"),
      sa("shop", "quarantined"),
    ],
    rbac: RBAC,
    nhis: [
      ORDERS_NHI,
      DEPLOYER_NHI,
      nhi("shop", "expired", {
        lifetime: { expiresAt: "2026-01-01T00:00:00Z", onExpiry: "Disable" },
      }),
      nhi("shop", "quarantined", { suspended: true }),
      nhi("shop", "audited", {
        enforcement: "Audit",
        workloads: { podSelector: { matchLabels: { app: "audited" } } },
      }),
    ],
    policies: [POLICY],
    workloads: [],
    secrets: [
      secret("shop", "orders-token", "kubernetes.io/service-account-token", "orders-api"),
      secret("shop", "admin-bot-token", "kubernetes.io/service-account-token", "admin-bot"),
      secret("shop", "db", "Opaque"),
    ],
    ...extra,
  };
}

export function world(extra: Partial<ClusterSnapshot> = {}): ClusterView {
  return snapshotView(snapshot(extra));
}
