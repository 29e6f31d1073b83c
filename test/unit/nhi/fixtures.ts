// Typed samples of both kinds. `*_SHAPE` set every field the TypeScript types declare (DeepRequired makes
// the compiler insist), so comparing their key paths with the CRD schema's property paths keeps types and
// schema in step. The other samples are valid objects for the validator tables.
import type { ObjectMeta } from "../../../core/rbac/types.js";
import type { NHIPolicy, NonHumanIdentity } from "../../../core/nhi/types.js";

type DeepRequired<T> = T extends (infer U)[]
  ? DeepRequired<U>[]
  : T extends object
    ? { [K in keyof T]-?: DeepRequired<T[K]> }
    : T;

/** Every field required, except metadata (the CRD does not describe it). */
export type Shape<T extends { metadata: ObjectMeta }> = DeepRequired<Omit<T, "metadata">> & {
  metadata: ObjectMeta;
};

export const NHI_SHAPE: Shape<NonHumanIdentity> = {
  apiVersion: "nhi.io/v1alpha1",
  kind: "NonHumanIdentity",
  metadata: { name: "shape", namespace: "shop" },
  spec: {
    owner: { team: "shop-backend", contact: "shop-oncall@example.com" },
    purpose: "Every field, for the types-vs-schema test",
    serviceAccountName: "shape",
    scopes: [
      {
        namespaces: ["shop"],
        verbs: ["get"],
        apiGroups: [""],
        resources: ["configmaps"],
        resourceNames: ["settings"],
        nonResourceURLs: ["/healthz"],
      },
    ],
    workloads: {
      podSelector: {
        matchLabels: { app: "shape" },
        matchExpressions: [{ key: "tier", operator: "In", values: ["web"] }],
      },
      images: ["registry.example.com/shop/shape:*"],
      automountToken: true,
    },
    credentials: [
      {
        name: "all",
        type: "ServiceAccountToken",
        secretName: "all",
        ttl: "1h",
        renewBefore: "20m",
        audiences: ["https://ci.example.com"],
        key: "value",
        length: 32,
        encoding: "base64",
        maxAge: "720h",
        gracePeriod: "24h",
        expiryJSONPath: "$.metadata.annotations['example.com/expires-at']",
      },
    ],
    legacyTokens: "Forbid",
    rollout: false,
    lifetime: { expiresAt: "2027-06-30T00:00:00Z", unusedAfter: "720h", onExpiry: "Disable" },
    enforcement: "Enforce",
    suspended: false,
    onAnomaly: { low: "Notify", medium: "Rotate", high: "Suspend", critical: "Suspend" },
  },
  status: {
    phase: "Active",
    observedGeneration: 3,
    conditions: [
      {
        type: "Ready",
        status: "True",
        observedGeneration: 3,
        lastTransitionTime: "2026-01-01T00:00:00Z",
        reason: "Reconciled",
        message: "ok",
      },
    ],
    excessPermissions: [
      {
        verb: "list",
        apiGroup: "",
        resource: "secrets",
        resourceName: "x",
        nonResourceURL: "/metrics",
        namespace: "shop",
        binding: { kind: "RoleBinding", name: "shape-extra", namespace: "shop" },
        role: { kind: "ClusterRole", name: "view" },
      },
    ],
    credentials: [
      {
        name: "all",
        secretName: "all",
        issuedAt: "2026-01-01T00:00:00Z",
        expiresAt: "2026-01-01T01:00:00Z",
        nextRotationAt: "2026-01-01T00:40:00Z",
        rotations: 4,
        lastError: "",
      },
    ],
    nextRotationAt: "2026-01-01T00:40:00Z",
    blastRadius: { identities: 2, clusterAdminHops: 2 },
    risk: {
      score: 42,
      level: "medium",
      factors: [{ name: "secret-read", points: 20, detail: "reads one Secret" }],
    },
    lastUsed: "2026-01-01T00:30:00Z",
    anomalies: [
      {
        id: "token-off-pod@2026-01-01T00:20:00.000Z",
        rule: "token-off-pod",
        category: "token-replay",
        severity: "high",
        message: "the token of pod shop/api-0 was used from 10.0.0.9 by kubectl",
        firstSeen: "2026-01-01T00:20:00Z",
        lastSeen: "2026-01-01T00:21:00Z",
        count: 3,
        evidence: {
          sourceIPs: ["10.0.0.9"],
          userAgents: ["kubectl/v1.35.4"],
          verbs: ["get"],
          resources: ["configmaps"],
          namespaces: ["shop"],
          credentials: ["pod-bound token (pod shop/api-0)"],
          grantedBy: ['RoleBinding "api" of Role "api" to ServiceAccount "api"'],
          codes: [200],
        },
        response: { action: "Suspend", at: "2026-01-01T00:20:02Z", message: "suspended" },
      },
    ],
    rightsize: {
      observedSince: "2026-01-01T00:00:00.000Z",
      evaluatedAt: "2026-01-02T00:00:00.000Z",
      events: 420,
      unusedPermissions: ["list secrets in namespace shop (RoleBinding shop/api → Role shop/api)"],
      unusedCount: 1,
      proposedScopes: [
        {
          namespaces: ["shop"],
          verbs: ["get"],
          apiGroups: [""],
          resources: ["configmaps"],
          resourceNames: ["settings"],
          nonResourceURLs: ["/healthz"],
        },
      ],
      saturated: false,
    },
  },
};

export const POLICY_SHAPE: Shape<NHIPolicy> = {
  apiVersion: "nhi.io/v1alpha1",
  kind: "NHIPolicy",
  metadata: { name: "shape" },
  spec: {
    requireClaim: "Audit",
    unclaimedHighPermissions: "Audit",
    transitiveEscalation: "Enforce",
    forbidden: ["pods-exec"],
    maxTokenTTL: "24h",
    maxCredentialAge: "2160h",
    requireChangeRequest: {
      enabled: true,
      annotation: "nhi.io/change-request",
      valuePattern: "^CHG-[0-9]+$",
    },
    exemptNamespaces: ["sandbox"],
    exemptions: [
      {
        namespaces: ["monitoring"],
        serviceAccounts: ["monitoring/prometheus"],
        rules: ["nodes-proxy"],
        reason: "scrapes kubelets",
        expiresAt: "2027-01-01T00:00:00Z",
      },
    ],
    breakGlass: {
      annotation: "nhi.io/break-glass",
      reasonAnnotation: "nhi.io/break-glass-reason",
      allowedGroups: ["sre"],
    },
    overrides: [
      {
        namespaceSelector: {
          matchLabels: { "nhi.io/tier": "production" },
          matchExpressions: [{ key: "team", operator: "In", values: ["payments"] }],
        },
        requireClaim: "Enforce",
        unclaimedHighPermissions: "Enforce",
        transitiveEscalation: "Enforce",
      },
    ],
  },
  status: {
    observedGeneration: 1,
    conditions: [
      {
        type: "Ready",
        status: "True",
        observedGeneration: 1,
        lastTransitionTime: "2026-01-01T00:00:00Z",
        reason: "Loaded",
        message: "ok",
      },
    ],
  },
};

/** A valid identity using every credential type (the DESIGN.md example). */
export const ORDERS_API: NonHumanIdentity = {
  apiVersion: "nhi.io/v1alpha1",
  kind: "NonHumanIdentity",
  metadata: { name: "orders-api", namespace: "shop" },
  spec: {
    owner: { team: "shop-backend", contact: "shop-oncall@example.com" },
    purpose: "Serves the orders API",
    serviceAccountName: "orders-api",
    scopes: [
      {
        namespaces: ["shop"],
        apiGroups: [""],
        resources: ["configmaps"],
        verbs: ["get", "list", "watch"],
      },
      { namespaces: ["*"], nonResourceURLs: ["/healthz", "/metrics/*"], verbs: ["get"] },
    ],
    workloads: {
      podSelector: {
        matchLabels: { app: "orders-api" },
        matchExpressions: [{ key: "app.kubernetes.io/component", operator: "Exists" }],
      },
      images: ["registry.example.com/shop/orders-api:*", "localhost:5000/orders-api@sha256:*"],
      automountToken: true,
    },
    credentials: [
      {
        name: "ci",
        type: "ServiceAccountToken",
        secretName: "orders-ci-token",
        ttl: "1h",
        renewBefore: "20m",
        audiences: ["https://ci.example.com"],
      },
      {
        name: "signing",
        type: "Generated",
        secretName: "orders-signing",
        key: "key",
        length: 32,
        encoding: "hex",
        maxAge: "720h",
        gracePeriod: "24h",
      },
      {
        name: "gateway",
        type: "External",
        secretName: "payment-gateway",
        maxAge: "2160h",
        renewBefore: "336h",
        expiryJSONPath: "$.data['expires-at']",
      },
      {
        name: "tls",
        type: "Certificate",
        secretName: "orders-tls",
        key: "tls.crt",
        renewBefore: "720h",
      },
    ],
    legacyTokens: "Rotate",
    rollout: true,
    lifetime: { expiresAt: "2027-06-30T00:00:00Z", unusedAfter: "720h", onExpiry: "Disable" },
    enforcement: "Enforce",
    suspended: false,
  },
};

/** Only the required fields. */
export const MINIMAL_NHI: NonHumanIdentity = {
  apiVersion: "nhi.io/v1alpha1",
  kind: "NonHumanIdentity",
  metadata: { name: "minimal", namespace: "shop" },
  spec: { owner: { team: "t", contact: "c" }, purpose: "p", serviceAccountName: "minimal" },
};

export const MINIMAL_POLICY: NHIPolicy = {
  apiVersion: "nhi.io/v1alpha1",
  kind: "NHIPolicy",
  metadata: { name: "default" },
  spec: {},
};
