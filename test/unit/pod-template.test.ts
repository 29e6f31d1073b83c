import { expect } from "chai";
import {
  automountsToken,
  podTemplateOf,
  secretReferences,
  serviceAccountOf,
} from "../../core/workloads/pod-template.js";
import type { WorkloadObject } from "../../core/snapshot.js";

const pod = {
  metadata: { labels: { app: "orders" } },
  spec: { serviceAccountName: "orders-api", containers: [{ name: "app", image: "r/x:1" }] },
};

describe("podTemplateOf", () => {
  const table: Array<[string, WorkloadObject]> = [
    ["Pod", { kind: "Pod", metadata: { name: "p", labels: { app: "orders" } }, spec: pod.spec }],
    ["Deployment", { kind: "Deployment", metadata: { name: "d" }, spec: { template: pod } }],
    ["StatefulSet", { kind: "StatefulSet", metadata: { name: "s" }, spec: { template: pod } }],
    ["DaemonSet", { kind: "DaemonSet", metadata: { name: "ds" }, spec: { template: pod } }],
    ["ReplicaSet", { kind: "ReplicaSet", metadata: { name: "rs" }, spec: { template: pod } }],
    [
      "ReplicationController",
      { kind: "ReplicationController", metadata: { name: "rc" }, spec: { template: pod } },
    ],
    ["Job", { kind: "Job", metadata: { name: "j" }, spec: { template: pod } }],
    [
      "CronJob",
      {
        kind: "CronJob",
        metadata: { name: "cj" },
        spec: { jobTemplate: { spec: { template: pod } } },
      },
    ],
  ];
  for (const [kind, obj] of table) {
    it(`finds the pod of a ${kind}`, () => {
      const t = podTemplateOf(obj);
      expect(t?.labels).to.deep.equal({ app: "orders" });
      expect(t && serviceAccountOf(t.spec)).to.equal("orders-api");
    });
  }
  it("returns nothing for kinds that run no pods, and for a workload without a template", () => {
    expect(podTemplateOf({ kind: "ConfigMap", metadata: { name: "c" } })).to.equal(undefined);
    expect(podTemplateOf({ kind: "Deployment", metadata: { name: "d" }, spec: {} })).to.equal(
      undefined,
    );
    expect(
      podTemplateOf({
        kind: "Deployment",
        metadata: { name: "d" },
        spec: { template: "nonsense" },
      }),
    ).to.equal(undefined);
  });
});

describe("pod spec references", () => {
  it("defaults the ServiceAccount to default and honours the deprecated alias", () => {
    expect(serviceAccountOf({})).to.equal("default");
    expect(serviceAccountOf({ serviceAccount: "legacy" })).to.equal("legacy");
  });
  it("lists secrets from volumes, projected sources, env and envFrom", () => {
    const refs = secretReferences({
      volumes: [
        { name: "t", secret: { secretName: "tok" } },
        {
          name: "p",
          projected: {
            sources: [{ secret: { name: "proj" } }, { serviceAccountToken: { path: "x" } }],
          },
        },
      ],
      initContainers: [{ name: "init", envFrom: [{ secretRef: { name: "all" } }] }],
      containers: [
        {
          name: "app",
          env: [
            { name: "KEY", valueFrom: { secretKeyRef: { name: "api", key: "k" } } },
            { name: "PLAIN" },
          ],
        },
      ],
    });
    expect(refs.map((r) => r.secretName)).to.deep.equal(["tok", "proj", "all", "api"]);
    expect(refs[3]?.via).to.equal("env KEY of container app");
  });
  it("lets the pod's automount setting win over the ServiceAccount's", () => {
    expect(automountsToken({}, undefined)).to.equal(true);
    expect(automountsToken({}, false)).to.equal(false);
    expect(automountsToken({ automountServiceAccountToken: true }, false)).to.equal(true);
  });
});
