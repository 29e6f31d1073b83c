// legacyTokens: Rotate against a real control plane: a legacy token Secret consumed by a Deployment
// (real replicas, pods made by the replicaset controller) through env is replaced by a successor the
// token controller fills; the Deployment is switched to it, its pods are recreated on it through the
// project's webhook, and only then is the old Secret deleted; the new token authenticates, the old
// one no longer does.
import assert from "node:assert/strict";
import { sharedCluster, skipUnlessLocalApiServer, useNamespace } from "../harness/mocha.js";
import type { KubeObject, Token } from "../harness/kube.js";
import { waitFor } from "../harness/wait.js";
import { WEBHOOK_CONFIGURATION_NAME } from "../../webhooks/config.js";
import {
  OWNER,
  authenticates,
  describeSecret,
  eventsOf,
  filledLegacyToken,
  getNhi,
  getSecret,
  nhiYaml,
  startKilledAfter,
  useOperator,
  tokenOf,
  type OperatorProcess,
} from "./reconcilers-helpers.js";

interface DeploymentObject extends KubeObject {
  metadata: { name: string; namespace: string };
  spec: {
    template: {
      spec: {
        containers: {
          env?: { name: string; valueFrom?: { secretKeyRef?: { name?: string; key?: string } } }[];
        }[];
      };
    };
  };
}

interface PodObject extends KubeObject {
  metadata: KubeObject["metadata"] & {
    uid?: string;
    ownerReferences?: { kind?: string; name?: string; controller?: boolean }[];
    managedFields?: { manager?: string }[];
  };
  spec?: {
    containers?: {
      env?: { valueFrom?: { secretKeyRef?: { name?: string } } }[];
      envFrom?: { secretRef?: { name?: string } }[];
    }[];
  };
}

/** The Secret a reporter pod's first container reads (env or envFrom). */
const consumedSecret = (p: PodObject): string | undefined =>
  p.spec?.containers?.[0]?.env?.[0]?.valueFrom?.secretKeyRef?.name ??
  p.spec?.containers?.[0]?.envFrom?.[0]?.secretRef?.name;

describe("legacy token rotation (legacyTokens: Rotate) on a real control plane", function () {
  const ns = useNamespace("legacy");
  const operator = useOperator();
  let op: OperatorProcess | undefined;
  before(function () {
    skipUnlessLocalApiServer(this); // the operator registers its webhook at 127.0.0.1
  });

  /** The live (not terminating) pods of the reporter Deployment. */
  const reporterPods = async (): Promise<PodObject[]> => {
    const r = await sharedCluster().kube.must<{
      items: (PodObject & { metadata: { deletionTimestamp?: string } })[];
    }>("GET", `/api/v1/namespaces/${ns()}/pods`, { query: { labelSelector: "app=reporter" } });
    return r.items.filter((p) => !p.metadata.deletionTimestamp);
  };
  /** Why a ReplicaSet could not create pods (FailedCreate names the webhook's denial). */
  const replicaSetEvents = async (): Promise<string> => {
    const r = await sharedCluster().kube.must<{
      items: { reason: string; message: string; involvedObject: { kind: string } }[];
    }>("GET", `/api/v1/namespaces/${ns()}/events`);
    return JSON.stringify(
      r.items
        .filter(
          (e) => e.involvedObject.kind === "ReplicaSet" || e.involvedObject.kind === "Deployment",
        )
        .map((e) => `${e.reason}: ${e.message}`)
        .slice(-6),
    );
  };

  /**
   * A consumer from before the webhook: legacy token Secret `<app>-token` of ServiceAccount `app`,
   * filled by the token controller, read through envFrom by Deployment `app` (1 replica, Recreate).
   * Returns the Secret's token.
   */
  const legacyConsumer = async (app: string): Promise<Token> => {
    const token = tokenOf(await filledLegacyToken(ns(), app, `${app}-token`));
    assert.ok(token, `the legacy token Secret ${app}-token holds no token`);
    await sharedCluster().applyAs(`apiVersion: apps/v1
kind: Deployment
metadata: { name: ${app}, namespace: ${ns()} }
spec:
  replicas: 1
  strategy: { type: Recreate }
  selector: { matchLabels: { app: ${app} } }
  template:
    metadata: { labels: { app: ${app} } }
    spec:
      serviceAccountName: ${app}
      containers: [{ name: ${app}, image: registry.example.com/${app}:1, envFrom: [{ secretRef: { name: ${app}-token } }] }]
`);
    return token;
  };
  /** Waits until the registered webhook judges writes: a dry run of `yaml` is denied, naming `says`. */
  const webhookDenies = (yaml: string, says: string, what: string): Promise<boolean> =>
    waitFor(
      `the API server to call the registered webhook (${what})`,
      async () => {
        const v = await sharedCluster().applyAs(yaml, undefined, { dryRun: true });
        return !v.allowed && v.message.includes(says);
      },
      { timeoutMs: 30_000 },
    );
  /** The Secret Deployment `app`'s first container reads through envFrom. */
  const envFromSecret = async (app: string): Promise<string | undefined> => {
    const d = await sharedCluster().kube.get<
      KubeObject & {
        spec: {
          template: { spec: { containers: { envFrom?: { secretRef?: { name?: string } }[] }[] } };
        };
      }
    >("apps/v1", "Deployment", app, ns());
    return d?.spec.template.spec.containers[0]?.envFrom?.[0]?.secretRef?.name;
  };

  after(async function () {
    // The first test's operator removes its webhook registration on SIGTERM; make sure nothing is left.
    await sharedCluster().kube.delete(
      "admissionregistration.k8s.io/v1",
      "ValidatingWebhookConfiguration",
      WEBHOOK_CONFIGURATION_NAME,
    );
  });

  it("rotates a Deployment with real replicas: its existing token consumer rolls out and scales through the webhook, the replicaset controller recreates the pods on the successor, a person's new consumer is denied; new token valid, old revoked, nothing leaks", async function () {
    this.timeout(240_000);
    const c = sharedCluster();
    const old = await filledLegacyToken(ns(), "reporter", "reporter-token");
    const oldToken = tokenOf(old);
    assert.ok(oldToken);
    assert.equal(
      await authenticates(oldToken),
      true,
      "the legacy token does not authenticate before the rotation",
    );
    // An existing consumer, from before the webhook was installed. Recreate: without a kubelet no pod
    // becomes Ready, so a surge rollout would never remove the old pods.
    await c.applyAs(`apiVersion: apps/v1
kind: Deployment
metadata: { name: reporter, namespace: ${ns()} }
spec:
  replicas: 2
  strategy: { type: Recreate }
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
    const original = await waitFor(
      "the replicaset controller to create 2 pods consuming reporter-token",
      async () => {
        const ps = await reporterPods();
        return ps.length === 2 && ps.every((p) => consumedSecret(p) === "reporter-token")
          ? ps
          : undefined;
      },
      { timeoutMs: 60_000, describe: () => "" },
    );

    // The operator registers the project's real webhook configuration at itself (as `make run` does).
    op = await operator.start({ args: ["--register-webhook", "auto"] });
    const newcomer = (name: string): string => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${ns()} }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      serviceAccountName: reporter
      containers: [{ name: c, image: registry.example.com/reporter:1, envFrom: [{ secretRef: { name: reporter-token } }] }]
`;
    await webhookDenies(newcomer("newcomer"), "nhi-operator", "a dry-run new consumer denied");
    // A person writing a new consumer of the token Secret is still denied.
    const denied = await c.applyAs(newcomer("newcomer"));
    assert.equal(
      denied.allowed,
      false,
      "a new consumer of a token Secret written by a person was allowed",
    );
    assert.match(denied.message, /\[token-secret-mount\].*reporter-token/);

    // Scaling the existing consumer: the replicaset controller's new pod is judged by its ReplicaSet.
    await c.kubectlOk(["scale", "-n", ns(), "deployment/reporter", "--replicas=3"]);
    await waitFor(
      "the replicaset controller to create a third pod through the webhook",
      async () => (await reporterPods()).length === 3,
      { timeoutMs: 30_000, describe: () => "" },
    ).catch(async (e: unknown) => {
      throw new Error(
        `${e instanceof Error ? e.message : String(e)}; ReplicaSet events: ${await replicaSetEvents()}`,
      );
    });

    const v = await c.applyAs(
      nhiYaml(ns(), "reporter", `${OWNER}\nserviceAccountName: reporter\nlegacyTokens: Rotate`),
    );
    assert.ok(v.allowed, v.message);

    const deploymentRef = async (): Promise<string | undefined> => {
      const d = await c.kube.get<DeploymentObject>("apps/v1", "Deployment", "reporter", ns());
      return d?.spec.template.spec.containers[0]?.env?.[0]?.valueFrom?.secretKeyRef?.name;
    };
    const successorName = await waitFor(
      "the Deployment to be switched to a successor Secret",
      async () => {
        const ref = await deploymentRef();
        return ref !== undefined && ref !== "reporter-token" ? ref : undefined;
      },
      { timeoutMs: 45_000, describe: () => op?.logs().slice(-1500) ?? "" },
    );
    assert.equal(successorName, "reporter-token-nhi-r1");

    // The consumer was switched first: the new Secret holds a token at the moment of the switch.
    const successor = await getSecret(ns(), successorName);
    assert.ok(successor?.data?.token, `the successor is not filled: ${describeSecret(successor)}`);
    assert.equal(
      successor.metadata.annotations?.["kubernetes.io/service-account.name"],
      "reporter",
    );
    assert.equal(successor.metadata.annotations?.["nhi.io/legacy-successor-of"], "reporter-token");

    // The rollout: the deployment controller's new ReplicaSet and the replicaset controller's pods pass the webhook.
    const recreated = await waitFor(
      "the replicaset controller to recreate all 3 pods on the successor",
      async () => {
        const ps = await reporterPods();
        return ps.length === 3 && ps.every((p) => consumedSecret(p) === successorName)
          ? ps
          : undefined;
      },
      { timeoutMs: 60_000, describe: () => "" },
    ).catch(async (e: unknown) => {
      throw new Error(
        `${e instanceof Error ? e.message : String(e)}; ReplicaSet events: ${await replicaSetEvents()}`,
      );
    });
    const originalUids = new Set(original.map((p) => p.metadata.uid));
    for (const p of recreated) {
      assert.ok(!originalUids.has(p.metadata.uid), `pod ${p.metadata.name} was not recreated`);
      const owner = p.metadata.ownerReferences?.find((r) => r.controller === true);
      assert.equal(
        owner?.kind,
        "ReplicaSet",
        `pod ${p.metadata.name} is not owned by a ReplicaSet`,
      );
      assert.equal(
        p.metadata.managedFields?.[0]?.manager,
        "kube-controller-manager",
        `pod ${p.metadata.name} was not written by the controller manager`,
      );
      const rs = await c.kube.get<PodObject>("apps/v1", "ReplicaSet", owner.name ?? "", ns());
      assert.equal(
        rs?.metadata.ownerReferences?.find((r) => r.controller === true)?.name,
        "reporter",
      );
    }

    await waitFor(
      "the old legacy Secret to be deleted",
      async () => (await getSecret(ns(), "reporter-token")) === undefined,
      { timeoutMs: 60_000, describe: () => op?.logs().slice(-1500) ?? "" },
    );
    const newToken = tokenOf(successor);
    assert.ok(newToken);
    assert.notEqual(newToken.reveal(), oldToken.reveal());
    assert.equal(await authenticates(newToken), true, "the new token does not authenticate");
    await waitFor(
      "the old token to stop authenticating",
      async () => !(await authenticates(oldToken)),
      { timeoutMs: 20_000 },
    );

    // The successor is the operator's own: kept, not rotated again before its maximum age.
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(
      (await getSecret(ns(), successorName))?.data?.token,
      "the successor was rotated or deleted again",
    );
    assert.equal(await deploymentRef(), successorName);

    const evs = await eventsOf(ns(), "reporter");
    const reasons = evs.map((e) => e.reason);
    for (const r of [
      "LegacyRotationStarted",
      "LegacySuccessorCreated",
      "LegacyConsumersSwitched",
      "LegacyTokenRevoked",
    ]) {
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
    assert.match(
      metrics,
      /nhi_rotation_steps_total\{[^}]*type="LegacyToken"[^}]*step="Revoke"[^}]*result="ok"/,
    );
    assert.match(
      metrics,
      /nhi_webhook_decisions_total\{resource="pods",operation="CREATE",result="allowed"/,
    );
  });
  it("StatefulSet, DaemonSet, Job and CronJob consumers of a token Secret from before the webhook still get pods from their controllers through it (statefulset-, daemon-set-, job-controller; cronjob-controller → Job → Pod); a person's new consumer and a Pod with a forged ownerReference are denied", async function () {
    this.timeout(240_000);
    const c = sharedCluster();
    const node = `nhi-e2e-${ns()}`;
    await filledLegacyToken(ns(), "batch", "batch-token");
    /** The consumer's pod spec, its lines indented by `indent` spaces. */
    const podSpec = (indent: number, restartPolicy = "OnFailure"): string =>
      [
        "serviceAccountName: batch",
        "automountServiceAccountToken: false",
        `restartPolicy: ${restartPolicy}`,
        "containers: [{ name: c, image: registry.example.com/batch:1, env: [{ name: T, valueFrom: { secretKeyRef: { name: batch-token, key: token } } }] }]",
      ].join(`\n${" ".repeat(indent)}`);
    // Existing consumers, written before the webhook, that have made no pod yet: each controller
    // makes its first pod once the webhook is registered.
    await c.applyAs(`apiVersion: apps/v1
kind: StatefulSet
metadata: { name: sts, namespace: ${ns()} }
spec:
  replicas: 0
  serviceName: sts
  selector: { matchLabels: { app: sts } }
  template:
    metadata: { labels: { app: sts } }
    spec:
      ${podSpec(6, "Always")}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: ds, namespace: ${ns()} }
spec:
  selector: { matchLabels: { app: ds } }
  template:
    metadata: { labels: { app: ds } }
    spec:
      nodeSelector: { nhi-e2e/node: ${node} }
      tolerations: [{ operator: Exists }]
      ${podSpec(6, "Always")}
---
apiVersion: batch/v1
kind: Job
metadata: { name: job, namespace: ${ns()} }
spec:
  suspend: true
  template:
    metadata: { labels: { app: job } }
    spec:
      ${podSpec(6)}
---
apiVersion: batch/v1
kind: CronJob
metadata: { name: cron, namespace: ${ns()} }
spec:
  schedule: "* * * * *"
  suspend: true
  jobTemplate:
    spec:
      template:
        metadata: { labels: { app: cron } }
        spec:
          ${podSpec(10)}
`);
    op = await operator.start({ args: ["--register-webhook", "auto"] });
    const newcomer = `apiVersion: batch/v1
kind: Job
metadata: { name: newcomer, namespace: ${ns()} }
spec:
  template:
    spec:
      ${podSpec(6)}
`;
    await webhookDenies(newcomer, "nhi-operator", "a dry-run new consumer denied");

    type Made = PodObject & { metadata: { deletionTimestamp?: string } };
    const podsOf = async (app: string): Promise<Made[]> =>
      (
        await c.kube.must<{ items: Made[] }>("GET", `/api/v1/namespaces/${ns()}/pods`, {
          query: { labelSelector: `app=${app}` },
        })
      ).items;
    const events = async (): Promise<string> => {
      const r = await c.kube.must<{ items: { reason: string; message: string }[] }>(
        "GET",
        `/api/v1/namespaces/${ns()}/events`,
      );
      return JSON.stringify(
        r.items.filter((e) => e.reason.startsWith("Failed")).map((e) => e.message),
      );
    };
    const ownerKind = (p: Made): string | undefined =>
      p.metadata.ownerReferences?.find((o) => o.controller)?.kind;
    const madeBy = async (app: string, kind: string, what: string): Promise<void> => {
      await waitFor(
        what,
        async () => ((await podsOf(app)).some((p) => ownerKind(p) === kind) ? true : undefined),
        { timeoutMs: 90_000, describe: () => "" },
      ).catch(async (e: unknown) => {
        throw new Error(
          `${e instanceof Error ? e.message : String(e)}; Failed* events: ${await events()}`,
        );
      });
    };

    try {
      // The people's changes keep an existing consumer (allowed, with a warning) …
      await c.kubectlOk(["scale", "-n", ns(), "statefulset/sts", "--replicas=1"]);
      await c.kubectlOk(["patch", "-n", ns(), "job/job", "-p", '{"spec":{"suspend":false}}']);
      await c.kubectlOk(["patch", "-n", ns(), "cronjob/cron", "-p", '{"spec":{"suspend":false}}']);
      // A Node (no kubelet) that only the DaemonSet tolerates: the daemon-set controller makes a pod for it.
      await c.applyAs(`apiVersion: v1
kind: Node
metadata: { name: ${node}, labels: { nhi-e2e/node: ${node} } }
spec:
  taints: [{ key: nhi-e2e/daemonset-only, effect: NoSchedule }]
`);
      // … and the controllers' new pods are judged by their owners.
      await madeBy("sts", "StatefulSet", "the statefulset controller to create sts-0");
      await madeBy("ds", "DaemonSet", "the daemon-set controller to create a pod for the Node");
      await madeBy("job", "Job", "the job controller to create the Job's pod");
      await madeBy("cron", "Job", "the cronjob controller's Job to get its pod (up to a minute)");
      const cronJobs = await c.kube.must<{
        items: { metadata: { ownerReferences?: { kind?: string; controller?: boolean }[] } }[];
      }>("GET", `/apis/batch/v1/namespaces/${ns()}/jobs`);
      assert.ok(
        cronJobs.items.some((j) =>
          j.metadata.ownerReferences?.some((o) => o.controller && o.kind === "CronJob"),
        ),
        "no Job made by the cronjob controller",
      );

      // A person is judged as the writer, whatever the object claims to be made from.
      const denied = await c.applyAs(newcomer);
      assert.equal(denied.allowed, false, "a person's new Job consuming the token was allowed");
      assert.match(denied.message, /\[token-secret-mount\].*batch-token/);
      const job = await c.kube.get<KubeObject & { metadata: { uid?: string } }>(
        "batch/v1",
        "Job",
        "job",
        ns(),
      );
      const forged = await c.applyAs(`apiVersion: v1
kind: Pod
metadata:
  name: forged
  namespace: ${ns()}
  ownerReferences: [{ apiVersion: batch/v1, kind: Job, name: job, uid: ${job?.metadata.uid ?? ""}, controller: true }]
spec:
  ${podSpec(2)}
`);
      assert.equal(
        forged.allowed,
        false,
        "a person's Pod with a forged Job ownerReference was allowed",
      );
      assert.match(forged.message, /\[token-secret-mount\].*batch-token/);
    } finally {
      await c.kube.delete("v1", "Node", node);
    }
  });

  it("finishes the replacement after the operator is killed right after switching the consumers", async function () {
    this.timeout(150_000);
    const c = sharedCluster();
    const oldToken = await legacyConsumer("exporter");
    await c.applyAs(
      nhiYaml(ns(), "exporter", `${OWNER}\nserviceAccountName: exporter\nlegacyTokens: Rotate`),
    );
    // SIGKILL right after Switch: the Deployment uses the successor, the old Secret is not yet deleted.
    op = await startKilledAfter(operator, "Switch", `${ns()}/exporter`);
    const mid = await getSecret(ns(), "exporter-token");
    assert.ok(mid, "the old Secret was deleted before the restart");
    assert.equal(
      mid.metadata.annotations?.["nhi.io/legacy-rotation-state"],
      "Overlap",
      describeSecret(mid),
    );
    assert.equal(
      await authenticates(oldToken),
      true,
      "the old token stopped authenticating before the rotation finished",
    );
    assert.equal(await envFromSecret("exporter"), "exporter-token-nhi-r1");
    const successor = await getSecret(ns(), "exporter-token-nhi-r1");
    const newToken = tokenOf(successor);
    assert.ok(newToken, "the successor holds no token");
    assert.equal(await authenticates(newToken), true);

    op = await operator.start();
    await waitFor(
      "the old Secret to be deleted after the restart",
      async () => (await getSecret(ns(), "exporter-token")) === undefined,
      { timeoutMs: 60_000 },
    );
    await waitFor(
      "the old token to stop authenticating",
      async () => !(await authenticates(oldToken)),
      { timeoutMs: 20_000 },
    );
    assert.equal(await authenticates(newToken), true, "the new token stopped authenticating");
    assert.ok(await getSecret(ns(), "exporter-token-nhi-r1"), "the successor is gone");
  });
  it("a requested replacement of a replayed legacy token (onAnomaly: Rotate) finishes through the webhook under the default legacyTokens: Forbid: the successor is admitted as a replacement, the consumer switched, the old token revoked", async function () {
    this.timeout(180_000);
    const c = sharedCluster();
    const oldToken = await legacyConsumer("courier");
    // No legacyTokens: Forbid, the default. The NHI is written before the webhook judges writes.
    const v = await c.applyAs(nhiYaml(ns(), "courier", `${OWNER}\nserviceAccountName: courier`));
    assert.ok(v.allowed, v.message);
    op = await operator.start({ args: ["--register-webhook", "auto"] });
    const anotherToken = `apiVersion: v1
kind: Secret
metadata:
  name: courier-token-2
  namespace: ${ns()}
  annotations: { kubernetes.io/service-account.name: courier }
type: kubernetes.io/service-account-token
`;
    await webhookDenies(
      anotherToken,
      "legacy-token-forbidden",
      "a dry-run new legacy token for courier denied",
    );
    // What the response controller writes on a replayed legacy token (operator/controllers/response).
    await c.kubectlOk([
      "annotate",
      "-n",
      ns(),
      "secret/courier-token",
      `nhi.io/rotate-requested-at=${new Date().toISOString()}`,
    ]);
    await waitFor(
      "the old legacy Secret to be deleted",
      async () => (await getSecret(ns(), "courier-token")) === undefined,
      { timeoutMs: 90_000, describe: () => op?.logs().slice(-2000) ?? "" },
    );
    assert.equal(await envFromSecret("courier"), "courier-token-nhi-r1");
    const newToken = tokenOf(await getSecret(ns(), "courier-token-nhi-r1"));
    assert.ok(newToken, "the successor holds no token");
    assert.equal(await authenticates(newToken), true, "the new token does not authenticate");
    await waitFor(
      "the old token to stop authenticating",
      async () => !(await authenticates(oldToken)),
      { timeoutMs: 20_000 },
    );
    // A person still cannot add a legacy token for the account: only a replacement passes.
    const person = await c.applyAs(anotherToken);
    assert.equal(person.allowed, false, "a new legacy token for courier was admitted");
  });
});
