import { expect } from "chai";
import { CONTROLLER_MANAGER_USER, controllerOwnerOf } from "../../core/workloads/owner.js";
import { WORKLOAD_KINDS } from "../../core/workloads/pod-template.js";

const ctrl = (name: string): string => `system:serviceaccount:kube-system:${name}`;
const ref = (
  apiVersion: string,
  kind: string,
  name = "owner",
  controller: boolean | "absent" = true,
): Record<string, unknown> => ({
  apiVersion,
  kind,
  name,
  uid: "u-1",
  ...(controller === "absent" ? {} : { controller }),
});
const obj = (
  kind: string,
  ownerReferences?: unknown,
): { kind: string; metadata: { ownerReferences?: unknown } } => ({
  kind,
  metadata: ownerReferences === undefined ? {} : { ownerReferences },
});

describe("controllerOwnerOf", () => {
  it("names the owner for every controller the workload-kinds table lists, as a ServiceAccount and as kube-controller-manager", () => {
    const made = Object.entries(WORKLOAD_KINDS).filter(([, k]) => k.makes);
    expect(made.map(([kind]) => kind).sort()).to.deep.equal([
      "CronJob",
      "DaemonSet",
      "Deployment",
      "Job",
      "ReplicaSet",
      "ReplicationController",
      "StatefulSet",
    ]);
    for (const [kind, k] of made) {
      const o = obj(k.makes?.kind ?? "", [ref(k.apiVersion, kind, "web")]);
      expect(controllerOwnerOf(o, ctrl(k.makes?.controller ?? "")), kind).to.deep.equal({
        apiVersion: k.apiVersion,
        kind,
        name: "web",
        madeBy: ctrl(k.makes?.controller ?? ""),
      });
      expect(controllerOwnerOf(o, CONTROLLER_MANAGER_USER)?.kind, kind).to.equal(kind);
    }
  });

  const notMade: Array<
    [string, { kind: string; metadata: { ownerReferences?: unknown } }, string]
  > = [
    [
      "a person adding a controller ownerReference",
      obj("Pod", [ref("apps/v1", "ReplicaSet")]),
      "alice",
    ],
    [
      "a ServiceAccount outside kube-system adding one",
      obj("Pod", [ref("apps/v1", "ReplicaSet")]),
      "system:serviceaccount:ci:replicaset-controller",
    ],
    [
      "another kube-system ServiceAccount",
      obj("Pod", [ref("apps/v1", "ReplicaSet")]),
      ctrl("generic-garbage-collector"),
    ],
    [
      "a controller making a kind its owner kind does not make (deployment-controller creating a Pod)",
      obj("Pod", [ref("apps/v1", "Deployment")]),
      ctrl("deployment-controller"),
    ],
    [
      "the right controller for another owner kind (job-controller, ReplicaSet owner)",
      obj("Pod", [ref("apps/v1", "ReplicaSet")]),
      ctrl("job-controller"),
    ],
    ["no ownerReference", obj("Pod"), ctrl("replicaset-controller")],
    [
      "an ownerReference that is not the controller",
      obj("Pod", [ref("apps/v1", "ReplicaSet", "owner", false)]),
      ctrl("replicaset-controller"),
    ],
    [
      "an ownerReference without controller",
      obj("Pod", [ref("apps/v1", "ReplicaSet", "owner", "absent")]),
      ctrl("replicaset-controller"),
    ],
    [
      "the owner kind in another API group",
      obj("Pod", [ref("example.com/v1", "ReplicaSet")]),
      ctrl("replicaset-controller"),
    ],
    [
      "two controller references",
      obj("Pod", [ref("apps/v1", "ReplicaSet", "a"), ref("apps/v1", "ReplicaSet", "b")]),
      ctrl("replicaset-controller"),
    ],
    [
      "an owner without a name",
      obj("Pod", [ref("apps/v1", "ReplicaSet", "")]),
      ctrl("replicaset-controller"),
    ],
    [
      "ownerReferences that are not a list",
      obj("Pod", { kind: "ReplicaSet" }),
      CONTROLLER_MANAGER_USER,
    ],
    [
      "an owner kind named like an Object.prototype key",
      obj("Pod", [ref("v1", "constructor")]),
      CONTROLLER_MANAGER_USER,
    ],
  ];
  for (const [name, o, user] of notMade) {
    it(`is undefined for ${name}`, () => expect(controllerOwnerOf(o, user)).to.equal(undefined));
  }
});
