// The webhook requiring the API server's client certificate (--client-ca-file, the chart's
// webhook.clientAuth), against a real kube-apiserver that presents one: a control plane of its own
// started with --admission-control-config-file, whose ValidatingAdmissionWebhook kubeconfig holds a
// client certificate (of a CA the harness makes) for the webhook's host "127.0.0.1:PORT". The
// operator, with the chart's default self-managed serving certificate, trusts that CA: the API
// server's admission calls are accepted (a denied escalation is
// still denied with our message, an allowed write is allowed) while a caller without a certificate,
// or the same API server calling the same webhook under a host its kubeconfig has no entry for, is
// refused at the TLS handshake.
import assert from "node:assert/strict";
import { request } from "node:https";
import { DEFAULTS, startOperator, type RunningOperator } from "../../operator/main.js";
import { webhookConfiguration } from "../../webhooks/config.js";
import { silentLogger } from "../../edge/log.js";
import { ControlPlane } from "../harness/controlplane.js";
import type { KubeObject } from "../harness/kube.js";
import { freePort } from "../harness/ports.js";
import { waitFor } from "../harness/wait.js";

const CONFIG_NAME = "nhi-operator-client-auth-e2e";

/** A POST to the webhook with no client certificate: the TLS outcome, never an admission answer. */
function postWithoutClientCert(
  url: string,
  caPem: string,
): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: "POST",
        ca: caPem,
        headers: { "Content-Type": "application/json" },
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }));
  });
}

describe("webhook client authentication: kube-apiserver presents a client certificate (admission configuration)", function () {
  this.timeout(180_000);
  let plane: ControlPlane | undefined;
  let op: RunningOperator | undefined;
  let port = 0;
  let ns = "";

  const p = (): ControlPlane => plane as ControlPlane;
  const register = async (host: string): Promise<void> => {
    const config = webhookConfiguration({
      url: `https://${host}:${port}/validate`,
      caBundlePem: op?.caBundlePem ?? "",
      ownNamespace: "nhi-system",
      failurePolicy: "Fail",
      timeoutSeconds: 5,
    });
    const r = await p().kube.apply({
      ...(config as unknown as KubeObject),
      metadata: { name: CONFIG_NAME },
    });
    assert.ok(r.allowed, `registering the webhook at ${host}: ${r.code} ${r.message}`);
  };
  /** A RoleBinding of cluster-admin to a ServiceAccount: the webhook denies it (dry run). */
  const escalation = (name: string): KubeObject => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name, namespace: ns },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
    subjects: [{ kind: "ServiceAccount", name: "worker", namespace: ns }],
  });

  before(async function () {
    if (process.env.E2E_KUBECONFIG) this.skip(); // another cluster's API server flags are not ours to set
    port = await freePort();
    plane = await ControlPlane.start({
      scheduler: false,
      controllerManager: false,
      // Keyed by the exact host the webhook URL names (a URL webhook's key is its "host:port").
      webhookClientCert: { hosts: [`127.0.0.1:${port}`] },
    });
    const clientCa = plane.webhookClientCa;
    assert.ok(clientCa, "the harness made the webhook client CA");
    // The chart's default serving certificate: self-managed (its source swaps the TLS context right
    // at start, which once dropped the client CA: the API server was refused).
    const ownNs = await plane.createNamespace("nhi-client-auth");
    op = await startOperator(
      {
        ...DEFAULTS,
        kubeconfig: plane.kubeconfigPath,
        host: "127.0.0.1",
        port,
        metricsHost: "127.0.0.1",
        metricsPort: 0,
        ownNamespace: ownNs,
        selfManagedCerts: {
          secretName: "nhi-operator-webhook-certs",
          serviceName: "nhi-operator-webhook",
          extraNames: ["localhost", "127.0.0.1"],
          webhookConfigurationName: CONFIG_NAME,
        },
        installCrds: true,
        stallAfterMs: 60_000,
        clientCaFile: clientCa.certFile,
      },
      silentLogger(),
    );
    await plane.kubectlOk([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/nonhumanidentities.nhi.io",
      "crd/nhipolicies.nhi.io",
    ]);
    await op.cache.waitForSync(60_000);
    ns = await plane.createNamespace("client-auth");
    await register("127.0.0.1");
  });

  after(async function () {
    await plane?.kube
      .delete("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", CONFIG_NAME)
      .catch(() => undefined);
    await op?.close();
    await plane?.stop();
  });

  it("the API server's admission calls are accepted: an escalation is denied with the operator's message, an allowed write is allowed", async function () {
    // failurePolicy Fail: had the handshake failed, both writes would be refused "failed calling webhook".
    const denied = await waitFor(
      "the API server to call the webhook",
      async () => {
        const v = await p().kube.apply(escalation("escalate"), { dryRun: true });
        return v.allowed || v.message.includes("failed calling webhook") ? undefined : v;
      },
      { timeoutMs: 30_000 },
    );
    assert.equal(denied.allowed, false);
    assert.match(denied.message, /nhi-operator denied/, denied.message);
    assert.match(denied.message, /cluster-admin/, denied.message);

    const allowed = await p().kube.apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "config-reader", namespace: ns },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
    });
    assert.ok(allowed.allowed, `${allowed.code} ${allowed.message}`);
    const decisions = await (await fetch(`${op?.server.metricsUrl}/metrics`)).text();
    assert.match(
      decisions,
      /nhi_webhook_decisions_total\{[^}]*result="allowed"[^}]*\} [1-9]/,
      "the allowed write was judged by the webhook",
    );
  });

  it("a caller without a client certificate is refused at the TLS handshake", async function () {
    const r = await postWithoutClientCert(
      `https://127.0.0.1:${port}/validate`,
      op?.caBundlePem ?? "",
    );
    assert.equal(
      r.status,
      undefined,
      `answered HTTP ${r.status}: the webhook took a caller without a certificate`,
    );
    assert.ok(r.error, "the connection failed");
  });

  it("the same API server calling the same webhook under a host its kubeconfig does not list presents no certificate and is refused", async function () {
    // localhost:PORT is the same server and certificate (it covers localhost), but no kubeconfig user is keyed by it.
    await register("localhost");
    try {
      const v = await waitFor(
        "the API server to use the re-registered URL",
        async () => {
          const r = await p().kube.apply(escalation("escalate-unauthenticated"), { dryRun: true });
          return r.message.includes("failed calling webhook") ? r : undefined;
        },
        { timeoutMs: 30_000 },
      );
      assert.equal(v.allowed, false);
      assert.doesNotMatch(v.message, /nhi-operator denied/);
    } finally {
      await register("127.0.0.1");
    }
  });
});
