// Self-managed serving certificate against a real kube-apiserver: operator/main with
// --self-managed-certs keeps a CA + serving certificate in a Secret, patches the caBundle of its
// ValidatingWebhookConfiguration, and rotates both (the CA with an overlap) while the API server
// keeps calling it: no admission request may fail during a rotation. Also: a ServiceAccount (with a
// TokenRequest-minted token) cannot mint a token for a more privileged ServiceAccount.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { Writable } from "node:stream";
import winston from "winston";
import type { CertPolicy } from "../../core/certs/plan.js";
import { SelfManagedCertificateSource } from "../../operator/certs/self-managed.js";
import { DEFAULTS, startOperator, type RunningOperator } from "../../operator/main.js";
import { webhookConfiguration } from "../../webhooks/config.js";
import type { Cluster } from "../harness/cluster.js";
import type { KubeObject } from "../harness/kube.js";
import { sharedCluster, skipUnlessLocalApiServer } from "../harness/mocha.js";
import { waitFor } from "../harness/wait.js";

const LABEL = "nhi.io/webhook-certs-e2e";
const CONFIG_NAME = "nhi-operator-certs-e2e";
const SECRET = "webhook-certs";

// Fast lifetimes: the CA lives 36 s and stages a successor at 1/3 (12 s), published 4 s before it
// signs; the serving certificate lives 12 s and is reissued at half its life.
const FAST: CertPolicy = {
  caValidityMs: 36_000,
  servingValidityMs: 12_000,
  caRenewAt: 1 / 3,
  servingRenewAt: 0.5,
  overlapMs: 4_000,
  backdateMs: 1_000,
};

const cluster = (): Cluster => sharedCluster();

function capturingLogger(): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString("utf8"));
      cb();
    },
  });
  return {
    logger: winston.createLogger({
      level: "debug",
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream })],
    }),
    lines,
  };
}

async function must(obj: KubeObject): Promise<void> {
  const v = await cluster().kube.apply(obj);
  assert.ok(v.allowed, `apply ${obj.kind} ${obj.metadata.name ?? ""}: ${v.code} ${v.message}`);
}

interface SecretBody {
  data?: Record<string, string>;
  metadata?: { resourceVersion?: string };
}
async function readSecret(ns: string): Promise<SecretBody> {
  const r = await cluster().kube.request<SecretBody>(
    "GET",
    `/api/v1/namespaces/${ns}/secrets/${SECRET}`,
  );
  assert.equal(r.status, 200);
  return r.body ?? {};
}
const pem = (s: SecretBody, key: string): string =>
  Buffer.from(s.data?.[key] ?? "", "base64").toString("utf8");
const fingerprint = (p: string): string => (p ? new X509Certificate(p).fingerprint256 : "");

describe("self-managed webhook certificate on a real kube-apiserver", function () {
  let op: RunningOperator;
  let ownNs = "";
  let ns = "";
  let logs: string[] = [];

  /** A request the webhook judges (and denies): proves the API server reached us over TLS. */
  const probe = async (): Promise<{ judged: boolean; message: string }> => {
    const v = await cluster().kube.apply(
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "probe", namespace: ns },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "cluster-admin",
        },
        subjects: [{ kind: "ServiceAccount", name: "default", namespace: ns }],
      },
      { dryRun: true },
    );
    return { judged: !v.allowed && v.message.includes("nhi-operator denied"), message: v.message };
  };

  before(async function () {
    this.timeout(120_000);
    skipUnlessLocalApiServer(this); // the API server must reach the webhook on 127.0.0.1
    ownNs = await cluster().createNamespace("nhi-certs");
    ns = await cluster().createNamespace("certs", { [LABEL]: "true" });
    const { logger, lines } = capturingLogger();
    logs = lines;
    op = await startOperator(
      {
        ...DEFAULTS,
        kubeconfig: cluster().kubeconfigPath,
        host: "127.0.0.1",
        port: 0,
        metricsHost: "127.0.0.1",
        metricsPort: 0,
        installCrds: true,
        stallAfterMs: 60_000,
        ownNamespace: ownNs,
        selfManagedCerts: {
          secretName: SECRET,
          serviceName: "nhi-operator-webhook",
          extraNames: ["localhost", "127.0.0.1"],
          webhookConfigurationName: CONFIG_NAME,
          policy: FAST,
          resyncMs: 1_000,
        },
      },
      logger,
    );
    await cluster().kubectlOk([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/nonhumanidentities.nhi.io",
      "crd/nhipolicies.nhi.io",
    ]);
    await op.cache.waitForSync(60_000);
    // Registered without a caBundle: the certificate loop patches it in.
    const config = webhookConfiguration({
      url: op.server.url,
      ownNamespace: ownNs,
      failurePolicy: "Fail",
      timeoutSeconds: 5,
    });
    // The project's real configuration (rules and namespace exclusions), as shipped: controller-made
    // objects in every namespace but kube-system and its own go through the webhook, as in production.
    await must({ ...(config as unknown as KubeObject), metadata: { name: CONFIG_NAME } });
  });

  after(async function () {
    this.timeout(60_000);
    await cluster().kube.delete(
      "admissionregistration.k8s.io/v1",
      "ValidatingWebhookConfiguration",
      CONFIG_NAME,
    );
    await op?.close();
    if (ns) await cluster().deleteNamespace(ns);
    if (ownNs) await cluster().deleteNamespace(ownNs);
  });

  it("keeps CA and serving certificate in a Secret, patches the caBundle, and the API server trusts it", async function () {
    await op.certificates?.syncNow();
    const s = await readSecret(ownNs);
    for (const k of ["ca.crt", "ca.key", "tls.crt", "tls.key", "ca-bundle.crt"])
      assert.ok(s.data?.[k], `Secret key ${k}`);
    const leaf = new X509Certificate(pem(s, "tls.crt"));
    assert.ok(leaf.checkIssued(new X509Certificate(pem(s, "ca.crt"))));
    assert.equal(
      leaf.checkHost("nhi-operator-webhook." + ownNs + ".svc"),
      "nhi-operator-webhook." + ownNs + ".svc",
    );
    const cfg = await cluster().kube.request<{
      webhooks?: { clientConfig?: { caBundle?: string } }[];
    }>(
      "GET",
      `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${CONFIG_NAME}`,
    );
    const bundle = Buffer.from(
      cfg.body?.webhooks?.[0]?.clientConfig?.caBundle ?? "",
      "base64",
    ).toString("utf8");
    assert.ok(bundle.includes(pem(s, "ca.crt").trim()), "the caBundle holds the signing CA");
    await waitFor("the API server to call the webhook", async () => (await probe()).judged, {
      timeoutMs: 30_000,
    });
  });

  it("a second replica reuses the Secret instead of issuing its own", async function () {
    const before = await readSecret(ownNs);
    const { logger } = capturingLogger();
    const replica = new SelfManagedCertificateSource(cluster().kube.config, {
      namespace: ownNs,
      secretName: SECRET,
      names: [
        "nhi-operator-webhook",
        `nhi-operator-webhook.${ownNs}`,
        `nhi-operator-webhook.${ownNs}.svc`,
        `nhi-operator-webhook.${ownNs}.svc.cluster.local`,
        "localhost",
        "127.0.0.1",
      ],
      webhookConfigurationName: CONFIG_NAME,
      policy: FAST,
      logger,
    });
    try {
      const pair = await replica.load();
      const after = await readSecret(ownNs);
      // Unless a scheduled renewal fell in between, nothing was written and the same cert is served.
      if (after.metadata?.resourceVersion === before.metadata?.resourceVersion) {
        assert.equal(replica.writes, 0);
        assert.equal(pair.cert, pem(before, "tls.crt"));
      }
      assert.equal(pair.cert, pem(after, "tls.crt"));
    } finally {
      replica.stop();
    }
  });

  it("rotates the serving certificate and the CA (with overlap) while every admission request succeeds", async function () {
    this.timeout(90_000);
    const cas = new Set<string>();
    const servings = new Set<string>();
    let maxBundle = 0;
    let requests = 0;
    const failures: string[] = [];
    const deadline = Date.now() + 45_000;
    const first = fingerprint(pem(await readSecret(ownNs), "ca.crt"));
    while (
      Date.now() < deadline &&
      !(cas.size >= 2 && servings.size >= 3 && [...cas].some((c) => c !== first))
    ) {
      const r = await probe();
      requests++;
      if (!r.judged) failures.push(r.message);
      const s = await readSecret(ownNs);
      cas.add(fingerprint(pem(s, "ca.crt")));
      servings.add(fingerprint(pem(s, "tls.crt")));
      maxBundle = Math.max(
        maxBundle,
        (pem(s, "ca-bundle.crt").match(/BEGIN CERTIFICATE/g) ?? []).length,
      );
      await new Promise((res) => setTimeout(res, 150));
    }
    assert.deepEqual(
      failures,
      [],
      `${failures.length} of ${requests} admission requests failed during rotation`,
    );
    assert.ok(cas.size >= 2, `the CA was rotated (saw ${cas.size})`);
    assert.ok(servings.size >= 3, `the serving certificate was reissued (saw ${servings.size})`);
    assert.ok(maxBundle >= 2, "during the overlap the bundle held the old and the new CA");
    assert.ok(requests > 50, `enough requests crossed the rotation (${requests})`);
    // Nothing secret in the logs.
    const all = logs.join("\n");
    assert.doesNotMatch(all, /PRIVATE KEY|BEGIN CERTIFICATE|MII[A-Za-z0-9+/]{20}/);
    assert.match(all, /promote-ca/);
  });

  it("denies a ServiceAccount minting a token for a more privileged ServiceAccount (TokenRequest-minted token)", async function () {
    for (const name of ["minter", "powerful"])
      await must({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: ns } });
    await must({
      apiVersion: "nhi.io/v1alpha1",
      kind: "NonHumanIdentity",
      metadata: { name: "minter", namespace: ns },
      spec: {
        owner: { team: "ci", contact: "ci@example.com" },
        purpose: "mints tokens",
        serviceAccountName: "minter",
        scopes: [
          {
            namespaces: [ns],
            apiGroups: [""],
            resources: ["serviceaccounts/token"],
            verbs: ["create"],
          },
        ],
      },
    });
    await must({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "minter", namespace: ns },
      rules: [{ apiGroups: [""], resources: ["serviceaccounts/token"], verbs: ["create"] }],
    });
    await must({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "minter", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "minter" },
      subjects: [{ kind: "ServiceAccount", name: "minter", namespace: ns }],
    });
    await must({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "secrets", namespace: ns },
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"] }],
    });
    await must({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "powerful", namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "secrets" },
      subjects: [{ kind: "ServiceAccount", name: "powerful", namespace: ns }],
    });
    await waitFor(
      "the cache to see both identities",
      () =>
        op.cache.directory.nhiFor({ namespace: ns, name: "minter" }) !== undefined &&
        op.cache.index.grantsOf({ namespace: ns, name: "powerful" }).length > 0 &&
        op.cache.index.grantsOf({ namespace: ns, name: "minter" }).length > 0,
      { timeoutMs: 10_000, intervalMs: 50 },
    );

    const token = await cluster().kube.mintToken(`${ns}/minter`);
    const mint = (target: string): Promise<{ status: number; body: unknown }> =>
      cluster().kube.request("POST", `/api/v1/namespaces/${ns}/serviceaccounts/${target}/token`, {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 600 },
        },
        as: { token },
      });
    const denied = await mint("powerful");
    assert.equal(denied.status, 403, JSON.stringify(denied.body));
    const message = JSON.stringify(denied.body);
    assert.match(message, /nhi-operator denied/);
    assert.match(
      message,
      new RegExp(
        `\\[borrowed-identity\\].*system:serviceaccount:${ns}:minter.*system:serviceaccount:${ns}:powerful.*get secrets in namespace ${ns}`,
      ),
    );
    assert.doesNotMatch(message, /eyJ/); // no token in the answer
    // Its own token is fine (RBAC allows it, nothing is borrowed).
    assert.equal((await mint("minter")).status, 201);
  });
});
