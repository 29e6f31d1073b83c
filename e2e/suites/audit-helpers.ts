// What the audit suites (audit-sink, audit-response) share: the operator in this process with the
// plane's audit sink, one claimed identity (ServiceAccount, Role, RoleBinding, NHI, a ConfigMap to
// read), and a pod's bound token with the pod's IP known to the operator's cache.
import assert from "node:assert/strict";
import { DEFAULTS, startOperator, type RunningOperator } from "../../operator/main.js";
import type { ControllerOptions } from "../../operator/reconcilers.js";
import type { OperatorOptions } from "../../operator/flags.js";
import { nullLog } from "../../edge/log.js";
import { sharedCluster } from "../harness/mocha.js";
import { Token } from "../harness/kube.js";
import { waitFor } from "../harness/wait.js";

/** The operator with the plane's audit sink; `controllers` adds the leader's reconcilers. */
export async function startAuditOperator(o: {
  certDir: string;
  controllers?: ControllerOptions;
  baseline?: NonNullable<OperatorOptions["auditSink"]>["baseline"];
  ownNamespace?: string;
}): Promise<RunningOperator> {
  const c = sharedCluster();
  const sink = c.auditSink;
  const op = await startOperator(
    {
      ...DEFAULTS,
      kubeconfig: c.kubeconfigPath,
      host: "127.0.0.1",
      port: 0,
      metricsHost: "127.0.0.1",
      metricsPort: 0,
      devCertDir: o.certDir,
      installCrds: true,
      stallAfterMs: 60_000,
      ...(o.controllers ? { controllers: o.controllers } : {}),
      auditSink: {
        host: "127.0.0.1",
        port: sink?.port ?? 0,
        certFile: sink?.certFile ?? "",
        keyFile: sink?.keyFile ?? "",
        trustedMinters: [],
        ...(o.baseline ? { baseline: o.baseline } : {}),
      },
      ...(o.ownNamespace ? { ownNamespace: o.ownNamespace } : {}),
    },
    nullLog,
  );
  await c.kubectlOk([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/nonhumanidentities.nhi.io",
  ]);
  await op.cache.waitForSync(60_000);
  return op;
}

/**
 * The identity `name` in `namespace`: its ServiceAccount, a Role granting `granted` on the core
 * group and its RoleBinding, its NHI (scopes: get and list ConfigMaps there; plus `spec`), and the
 * ConfigMap `settings` it reads.
 */
export async function declareIdentity(
  namespace: string,
  name: string,
  o: { granted: string[]; purpose: string; spec?: Record<string, unknown> },
): Promise<void> {
  const c = sharedCluster();
  for (const obj of [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name, namespace },
      rules: [{ apiGroups: [""], resources: o.granted, verbs: ["get", "list"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name, namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name, namespace }],
    },
    {
      apiVersion: "nhi.io/v1alpha1",
      kind: "NonHumanIdentity",
      metadata: { name, namespace },
      spec: {
        owner: { team: name, contact: `${name}@example.com` },
        purpose: o.purpose,
        serviceAccountName: name,
        scopes: [
          {
            namespaces: [namespace],
            apiGroups: [""],
            resources: ["configmaps"],
            verbs: ["get", "list"],
          },
        ],
        ...o.spec,
      },
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "settings", namespace },
      data: { a: "b" },
    },
  ]) {
    const v = await c.kube.create(obj as Parameters<typeof c.kube.create>[0]);
    assert.ok(v.allowed, `${obj.kind}: ${v.message}`);
  }
}

/**
 * Gives pod `pod` of ServiceAccount `sa` the IP `podIP` (no kubelet on the plane) and mints a token
 * bound to it; returns once the operator's cache holds the NHI and the pod's IP.
 */
export async function podBoundToken(
  op: RunningOperator,
  namespace: string,
  sa: string,
  pod: { name: string; uid: string },
  podIP: string,
): Promise<Token> {
  const c = sharedCluster();
  await c.kube.must("PATCH", `/api/v1/namespaces/${namespace}/pods/${pod.name}/status`, {
    contentType: "application/merge-patch+json",
    body: { status: { podIP, podIPs: [{ ip: podIP }] } },
  });
  const r = await c.kube.request<{ status?: { token?: string } }>(
    "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts/${sa}/token`,
    {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          expirationSeconds: 3600,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.name, uid: pod.uid },
        },
      },
    },
  );
  const token = new Token(r.body.status?.token ?? "");
  await waitFor(
    "the operator's cache to hold the NHI and the pod's IP",
    () =>
      op.cache.directory.nhiFor({ namespace, name: sa }) !== undefined &&
      op.cache
        .snapshot()
        .workloads.some(
          (w) =>
            w.metadata.name === pod.name &&
            JSON.stringify((w as { status?: unknown }).status ?? {}).includes(podIP),
        ),
    { timeoutMs: 30_000 },
  );
  return token;
}
