// legacyTokens: Rotate against a real control plane: a legacy token Secret consumed by a Deployment
// through env is replaced by a successor the token controller fills; the Deployment is switched to
// it before the old Secret is deleted; the new token authenticates, the old one no longer does.
import assert from "node:assert/strict";
import { sharedCluster, useNamespace } from "../harness/mocha.js";
import type { KubeObject } from "../harness/kube.js";
import { waitFor } from "../harness/wait.js";
import {
  OWNER, authenticates, eventsOf, getNhi, getSecret, nhiYaml, useOperator, tokenOf, type OperatorProcess, type SecretObject,
} from "./reconcilers-helpers.js";

interface DeploymentObject extends KubeObject {
  metadata: { name: string; namespace: string };
  spec: { template: { spec: { containers: { env?: { name: string; valueFrom?: { secretKeyRef?: { name?: string; key?: string } } }[] }[] } } };
}

const describeSecret = (s: unknown): string => {
  const x = s as SecretObject | undefined;
  return JSON.stringify({ name: x?.metadata.name, annotations: x?.metadata.annotations, keys: Object.keys(x?.data ?? {}) });
};

describe("legacy token rotation (legacyTokens: Rotate) on a real control plane", function () {
  const ns = useNamespace("legacy");
  const operator = useOperator();
  let op: OperatorProcess | undefined;

  it("switches the consuming Deployment to a new token Secret, then deletes the old one: new token valid, old revoked, nothing leaks", async function () {
    this.timeout(150_000);
    const c = sharedCluster();
    await c.applyAs(`apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: reporter, namespace: ${ns()} }\n`);
    await c.applyAs(`apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata: { name: reporter-token, namespace: ${ns()}, annotations: { kubernetes.io/service-account.name: reporter } }
`);
    const old = await waitFor("the token controller to fill the legacy Secret", async () => {
      const s = await getSecret(ns(), "reporter-token");
      return s?.data?.token ? s : undefined;
    }, { timeoutMs: 30_000, describe: describeSecret });
    const oldToken = tokenOf(old);
    assert.ok(oldToken);
    assert.equal(await authenticates(oldToken), true, "the legacy token does not authenticate before the rotation");
    await c.applyAs(`apiVersion: apps/v1
kind: Deployment
metadata: { name: reporter, namespace: ${ns()} }
spec:
  replicas: 0
  selector: { matchLabels: { app: reporter } }
  template:
    metadata: { labels: { app: reporter } }
    spec:
      serviceAccountName: reporter
      automountServiceAccountToken: false
      containers:
        - name: reporter
          image: registry.example.com/reporter:1
          env: [{ name: KUBE_TOKEN, valueFrom: { secretKeyRef: { name: reporter-token, key: token } } }]
`);

    op = await operator.start();
    const v = await c.applyAs(nhiYaml(ns(), "reporter", `${OWNER}\nserviceAccountName: reporter\nlegacyTokens: Rotate`));
    assert.ok(v.allowed, v.message);

    const deploymentRef = async (): Promise<string | undefined> => {
      const d = await c.kube.get<DeploymentObject>("apps/v1", "Deployment", "reporter", ns());
      return d?.spec.template.spec.containers[0]?.env?.[0]?.valueFrom?.secretKeyRef?.name;
    };
    const successorName = await waitFor("the Deployment to be switched to a successor Secret", async () => {
      const ref = await deploymentRef();
      return ref !== undefined && ref !== "reporter-token" ? ref : undefined;
    }, { timeoutMs: 45_000, describe: () => op?.logs().slice(-1500) ?? "" });
    assert.equal(successorName, "reporter-token-nhi-r1");

    // The consumer was switched first: the new Secret holds a token at the moment of the switch.
    const successor = await getSecret(ns(), successorName);
    assert.ok(successor?.data?.token, `the successor is not filled: ${describeSecret(successor)}`);
    assert.equal(successor.metadata.annotations?.["kubernetes.io/service-account.name"], "reporter");
    assert.equal(successor.metadata.annotations?.["nhi.io/legacy-successor-of"], "reporter-token");

    await waitFor("the old legacy Secret to be deleted", async () => (await getSecret(ns(), "reporter-token")) === undefined, { timeoutMs: 30_000 });
    const newToken = tokenOf(successor);
    assert.ok(newToken);
    assert.notEqual(newToken.reveal(), oldToken.reveal());
    assert.equal(await authenticates(newToken), true, "the new token does not authenticate");
    await waitFor("the old token to stop authenticating", async () => !(await authenticates(oldToken)), { timeoutMs: 20_000 });

    // The successor is the operator's own: kept, not rotated again before its maximum age.
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok((await getSecret(ns(), successorName))?.data?.token, "the successor was rotated or deleted again");
    assert.equal(await deploymentRef(), successorName);

    const evs = await eventsOf(ns(), "reporter");
    const reasons = evs.map((e) => e.reason);
    for (const r of ["LegacyRotationStarted", "LegacySuccessorCreated", "LegacyConsumersSwitched", "LegacyTokenRevoked"]) {
      assert.ok(reasons.includes(r), `no ${r} event in ${reasons.join(",")}`);
    }
    const status = JSON.stringify((await getNhi(ns(), "reporter"))?.status ?? {});
    const eventText = JSON.stringify(evs);
    for (const t of [oldToken.reveal(), newToken.reveal()]) {
      assert.ok(!eventText.includes(t.slice(0, 24)), "a token appears in an Event");
      assert.ok(!status.includes(t.slice(0, 24)), "a token appears in the NHI status");
      assert.ok(!op.logs().includes(t.slice(0, 24)), "a token appears in the operator's logs");
    }
    const metrics = await fetch(`http://127.0.0.1:${op.port}/metrics`).then((r) => r.text());
    assert.match(metrics, /nhi_rotation_steps_total\{[^}]*type="LegacyToken"[^}]*step="Revoke"[^}]*result="ok"/);
  });
  it("finishes the replacement after the operator is killed right after switching the consumers", async function () {
    this.timeout(150_000);
    const c = sharedCluster();
    await c.applyAs(`apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: exporter, namespace: ${ns()} }\n`);
    await c.applyAs(`apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata: { name: exporter-token, namespace: ${ns()}, annotations: { kubernetes.io/service-account.name: exporter } }
`);
    const old = await waitFor("the legacy Secret to be filled", async () => {
      const s = await getSecret(ns(), "exporter-token");
      return s?.data?.token ? s : undefined;
    }, { timeoutMs: 30_000, describe: describeSecret });
    const oldToken = tokenOf(old);
    assert.ok(oldToken);
    await c.applyAs(`apiVersion: apps/v1
kind: Deployment
metadata: { name: exporter, namespace: ${ns()} }
spec:
  replicas: 0
  selector: { matchLabels: { app: exporter } }
  template:
    metadata: { labels: { app: exporter } }
    spec:
      serviceAccountName: exporter
      containers: [{ name: exporter, image: registry.example.com/exporter:1, envFrom: [{ secretRef: { name: exporter-token } }] }]
`);
    await c.applyAs(nhiYaml(ns(), "exporter", `${OWNER}\nserviceAccountName: exporter\nlegacyTokens: Rotate`));
    // SIGKILL right after Switch: the Deployment uses the successor, the old Secret is not yet deleted.
    op = await operator.start({ env: { NHI_TEST_KILL_AFTER_STEP: `Switch@${ns()}/exporter/` }, waitReady: false });
    const code = await Promise.race([op.exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 60_000))]);
    assert.notEqual(code, "timeout", `the operator was not killed after Switch: ${op.logs().slice(-2000)}`);
    const mid = await getSecret(ns(), "exporter-token");
    assert.ok(mid, "the old Secret was deleted before the restart");
    assert.equal(mid.metadata.annotations?.["nhi.io/legacy-rotation-state"], "Overlap", describeSecret(mid));
    assert.equal(await authenticates(oldToken), true, "the old token stopped authenticating before the rotation finished");
    const d = await c.kube.get<KubeObject & { spec: { template: { spec: { containers: { envFrom?: { secretRef?: { name?: string } }[] }[] } } } }>("apps/v1", "Deployment", "exporter", ns());
    assert.equal(d?.spec.template.spec.containers[0]?.envFrom?.[0]?.secretRef?.name, "exporter-token-nhi-r1");
    const successor = await getSecret(ns(), "exporter-token-nhi-r1");
    const newToken = tokenOf(successor);
    assert.ok(newToken, "the successor holds no token");
    assert.equal(await authenticates(newToken), true);

    op = await operator.start();
    await waitFor("the old Secret to be deleted after the restart", async () => (await getSecret(ns(), "exporter-token")) === undefined, { timeoutMs: 60_000 });
    await waitFor("the old token to stop authenticating", async () => !(await authenticates(oldToken)), { timeoutMs: 20_000 });
    assert.equal(await authenticates(newToken), true, "the new token stopped authenticating");
    assert.ok(await getSecret(ns(), "exporter-token-nhi-r1"), "the successor is gone");
  });
});
