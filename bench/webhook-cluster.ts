// The webhook benchmark's cluster and requests: the synthetic cluster of
// bench/effective-permissions.ts with every ServiceAccount governed by an NHI, and realistic
// AdmissionReviews — Pod CREATEs by the ReplicaSet controller and by a user, Deployment CREATEs by a
// ServiceAccount deployer, RoleBinding CREATEs (what-if over the index).
import type { NonHumanIdentity } from "../core/nhi/types.js";
import type { ClusterSnapshot } from "../core/snapshot.js";
import { syntheticCluster } from "./effective-permissions.js";
import { rng } from "./harness.js";

const DISTINCT_REVIEWS = 2_000;

export function snapshot(): ClusterSnapshot {
  const c = syntheticCluster();
  const nhis: NonHumanIdentity[] = c.serviceAccounts.map(
    (sa) =>
      ({
        apiVersion: "nhi.io/v1alpha1",
        kind: "NonHumanIdentity",
        metadata: { name: sa.name, namespace: sa.namespace },
        spec: {
          owner: { team: `team-${sa.namespace}`, contact: `team@example.com` },
          purpose: `synthetic ${sa.name}`,
          serviceAccountName: sa.name,
          scopes: [
            {
              namespaces: [sa.namespace],
              apiGroups: ["", "apps", "batch"],
              resources: ["*"],
              verbs: ["*"],
            },
            {
              namespaces: ["*"],
              apiGroups: ["*"],
              resources: ["*"],
              verbs: ["get", "list", "watch"],
            },
          ],
          workloads: {
            podSelector: { matchLabels: { app: sa.name } },
            images: [`registry.example.com/${sa.namespace}/*`],
          },
        },
      }) as NonHumanIdentity,
  );
  return {
    namespaces: c.namespaces.map((n) => ({
      kind: "Namespace",
      metadata: { name: n, labels: { "kubernetes.io/metadata.name": n } },
    })),
    serviceAccounts: c.serviceAccounts.map((sa) => ({
      kind: "ServiceAccount",
      metadata: { name: sa.name, namespace: sa.namespace },
    })),
    rbac: c.objects,
    nhis,
    policies: [],
    workloads: [],
    secrets: [],
  };
}

export function reviews(namespaces: number, sasPerNs: number): string[] {
  const rand = rng(7);
  const int = (n: number): number => Math.floor(rand() * n);
  const out: string[] = [];
  for (let i = 0; i < DISTINCT_REVIEWS; i++) {
    const ns = `ns-${int(namespaces)}`;
    const sa = `sa-${int(sasPerNs)}`;
    const x = rand();
    const podSpec = {
      serviceAccountName: sa,
      automountServiceAccountToken: false,
      containers: [
        {
          name: "app",
          image: `registry.example.com/${ns}/${sa}:1.${i % 17}`,
          ports: [{ containerPort: 8080 }],
          resources: { requests: { cpu: "100m", memory: "128Mi" } },
          env: [
            { name: "MODE", value: "prod" },
            { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
          ],
        },
      ],
      volumes: [{ name: "config", configMap: { name: `${sa}-config` } }],
    };
    let request: Record<string, unknown>;
    if (x < 0.6) {
      request = {
        kind: { group: "", version: "v1", kind: "Pod" },
        resource: { group: "", version: "v1", resource: "pods" },
        operation: "CREATE",
        namespace: ns,
        name: `${sa}-${i}`,
        userInfo: {
          username: "system:serviceaccount:kube-system:replicaset-controller",
          groups: [
            "system:serviceaccounts",
            "system:serviceaccounts:kube-system",
            "system:authenticated",
          ],
        },
        object: {
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            name: `${sa}-${i}`,
            namespace: ns,
            labels: { app: sa, "pod-template-hash": "5d8f7c9b6" },
            ownerReferences: [
              {
                apiVersion: "apps/v1",
                kind: "ReplicaSet",
                name: `${sa}-5d8f7c9b6`,
                uid: `u-${i}`,
                controller: true,
              },
            ],
          },
          spec: podSpec,
        },
      };
    } else if (x < 0.7) {
      request = {
        kind: { group: "", version: "v1", kind: "Pod" },
        resource: { group: "", version: "v1", resource: "pods" },
        operation: "CREATE",
        namespace: ns,
        name: `debug-${i}`,
        userInfo: {
          username: `dev-${i % 50}@example.com`,
          groups: ["developers", "system:authenticated"],
        },
        object: {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: `debug-${i}`, namespace: ns, labels: { app: sa } },
          spec: podSpec,
        },
      };
    } else if (x < 0.85) {
      const deployer = `sa-${int(sasPerNs)}`;
      request = {
        kind: { group: "apps", version: "v1", kind: "Deployment" },
        resource: { group: "apps", version: "v1", resource: "deployments" },
        operation: "CREATE",
        namespace: ns,
        name: sa,
        userInfo: {
          username: `system:serviceaccount:${ns}:${deployer}`,
          groups: [
            "system:serviceaccounts",
            `system:serviceaccounts:${ns}`,
            "system:authenticated",
          ],
        },
        object: {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: sa, namespace: ns, labels: { app: sa } },
          spec: {
            replicas: 3,
            selector: { matchLabels: { app: sa } },
            template: { metadata: { labels: { app: sa } }, spec: podSpec },
          },
        },
      };
    } else {
      const toRole = rand() < 0.7;
      request = {
        kind: { group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding" },
        resource: { group: "rbac.authorization.k8s.io", version: "v1", resource: "rolebindings" },
        operation: "CREATE",
        namespace: ns,
        name: `bench-rb-${i}`,
        userInfo: { username: "ci@example.com", groups: ["ci", "system:authenticated"] },
        object: {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "RoleBinding",
          metadata: { name: `bench-rb-${i}`, namespace: ns },
          roleRef: {
            apiGroup: "rbac.authorization.k8s.io",
            kind: toRole ? "Role" : "ClusterRole",
            name: toRole ? `role-${int(30)}` : "view",
          },
          subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }],
        },
      };
    }
    out.push(
      JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: {
          uid: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
          dryRun: false,
          ...request,
        },
      }),
    );
  }
  return out;
}
