// Tests of the harness itself: the webhook helpers round-trip through a real API server, and a
// process that owns a control plane leaves nothing behind however it dies.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveBinaries } from "../harness/binaries.js";
import { ControlPlane } from "../harness/controlplane.js";
import { sharedCluster, skipUnlessLocalApiServer, useNamespace } from "../harness/mocha.js";
import { waitFor } from "../harness/wait.js";
import { startWebhookServer } from "../harness/webhook-server.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Alive = exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

describe("harness: validating webhook helpers", function () {
  const ns = useNamespace("webhook");

  it("registers a local HTTPS webhook whose denial reaches applyAs", async function () {
    const c = sharedCluster();
    skipUnlessLocalApiServer(this, c);
    const server = await startWebhookServer((req) => {
      const labels =
        (req.object as { metadata?: { labels?: Record<string, string> } } | undefined)?.metadata
          ?.labels ?? {};
      return labels.deny === "true"
        ? {
            allowed: false,
            code: 403,
            message: `e2e webhook denies ${req.kind.kind} ${req.name} for ${req.userInfo.username}`,
          }
        : { allowed: true, warnings: ["e2e webhook saw it"] };
    });
    const unregister = await c.registerValidatingWebhook(`deny-labelled-${ns()}`, {
      url: `${server.url}/validate`,
      caBundlePem: server.caBundlePem,
      rules: [
        {
          operations: ["CREATE", "UPDATE"],
          apiGroups: [""],
          apiVersions: ["v1"],
          resources: ["configmaps"],
        },
      ],
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns() } },
    });
    try {
      const cm = (name: string, deny: boolean): string =>
        `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name}, namespace: ${ns()}, labels: { deny: "${deny}" } }\n`;
      // The API server loads webhook configurations asynchronously: wait until ours is called.
      await waitFor(
        "the webhook to be called",
        async () => {
          await c.applyAs(cm("probe", false), undefined, { dryRun: true });
          return server.received.length > 0;
        },
        { timeoutMs: 15_000 },
      );
      const ok = await c.applyAs(cm("fine", false), { user: "carol", groups: ["system:masters"] });
      assert.equal(ok.allowed, true, ok.message);
      assert.deepEqual(ok.warnings, ["e2e webhook saw it"]);
      const denied = await c.applyAs(cm("bad", true), {
        user: "carol",
        groups: ["system:masters"],
      });
      assert.equal(denied.allowed, false);
      assert.equal(denied.code, 403);
      assert.match(
        denied.message,
        /admission webhook "deny-labelled-.*" denied the request: e2e webhook denies ConfigMap bad for carol/,
      );
      assert.ok(server.received.some((r) => r.name === "bad" && r.userInfo.username === "carol"));
    } finally {
      await unregister();
      await server.close();
    }
  });
});

describe("harness: the plane behaves like a real cluster", function () {
  const ns = useNamespace("real");

  before(function () {
    // Nothing to prove about someone else's cluster; without the binaries the run already says so loudly.
    const c = sharedCluster();
    if (!(c instanceof ControlPlane) || !c.hasControllers || !c.hasScheduler) this.skip();
  });

  it("a Deployment's ReplicaSet and Pods are created by the cluster's controllers, under their own identities, and scheduled", async function () {
    this.timeout(90_000);
    const c = sharedCluster();
    const creators: { kind: string; owner: string; user: string }[] = [];
    const server = await startWebhookServer((req) => {
      const owners =
        (req.object as { metadata?: { ownerReferences?: { kind: string }[] } } | undefined)
          ?.metadata?.ownerReferences ?? [];
      if (req.operation === "CREATE")
        creators.push({
          kind: req.kind.kind,
          owner: owners.map((o) => o.kind).join(","),
          user: req.userInfo.username ?? "",
        });
      return { allowed: true };
    });
    const unregister = await c.registerValidatingWebhook(`observe-${ns()}`, {
      url: server.url,
      caBundlePem: server.caBundlePem,
      rules: [
        { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] },
        {
          operations: ["CREATE"],
          apiGroups: ["apps"],
          apiVersions: ["v1"],
          resources: ["replicasets"],
        },
      ],
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns() } },
    });
    try {
      await waitFor(
        "the observing webhook to be called",
        async () => {
          await c.applyAs(
            `apiVersion: v1\nkind: Pod\nmetadata: { name: probe, namespace: ${ns()} }\nspec: { containers: [{ name: c, image: example.com/c:1 }] }\n`,
            undefined,
            { dryRun: true },
          );
          return server.received.length > 0;
        },
        { timeoutMs: 15_000 },
      );
      const v = await c.applyAs(`apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${ns()} }
spec:
  replicas: 3
  selector: { matchLabels: { app: web } }
  template: { metadata: { labels: { app: web } }, spec: { containers: [{ name: web, image: example.com/web:1 }] } }
`);
      assert.ok(v.allowed, v.message);
      type PodLike = {
        metadata: { name: string };
        status?: { conditions?: { type: string; status: string; reason?: string }[] };
      };
      const pods = await waitFor(
        "3 pods, each marked Unschedulable by the scheduler (no nodes)",
        async () => {
          const items = (
            await c.kube.must<{ items: PodLike[] }>("GET", `/api/v1/namespaces/${ns()}/pods`)
          ).items;
          const unschedulable = items.filter((p) =>
            p.status?.conditions?.some(
              (x) =>
                x.type === "PodScheduled" && x.status === "False" && x.reason === "Unschedulable",
            ),
          );
          return unschedulable.length === 3 ? items : undefined;
        },
        { timeoutMs: 60_000 },
      );
      assert.equal(pods.length, 3);
      const made = creators.filter((x) => x.kind !== "Pod" || x.owner !== "");
      assert.deepEqual(
        made.filter((x) => x.kind === "ReplicaSet").map((x) => [x.owner, x.user]),
        [["Deployment", "system:serviceaccount:kube-system:deployment-controller"]],
      );
      assert.deepEqual(
        made.filter((x) => x.kind === "Pod").map((x) => [x.owner, x.user]),
        Array.from({ length: 3 }, () => [
          "ReplicaSet",
          "system:serviceaccount:kube-system:replicaset-controller",
        ]),
      );
    } finally {
      await unregister();
      await server.close();
    }
  });

  it("admin, edit and view are aggregated by the clusterrole-aggregation controller", async function () {
    const c = sharedCluster();
    type Role = { rules?: { resources?: string[]; verbs?: string[] }[] };
    const allows = (r: Role | undefined, resource: string, verb: string): boolean =>
      (r?.rules ?? []).some(
        (x) => (x.resources ?? []).includes(resource) && (x.verbs ?? []).includes(verb),
      );
    const roles = await waitFor(
      "aggregated admin/edit/view",
      async () => {
        const [admin, edit, view] = await Promise.all(
          ["admin", "edit", "view"].map((n) =>
            c.kube.get<Role & { apiVersion: string; kind: string; metadata: { name: string } }>(
              "rbac.authorization.k8s.io/v1",
              "ClusterRole",
              n,
            ),
          ),
        );
        return allows(admin, "rolebindings", "create") &&
          allows(edit, "deployments", "create") &&
          allows(view, "pods", "list")
          ? { admin, edit, view }
          : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.ok(!allows(roles.view, "secrets", "get"), "view must not read Secrets");
  });
});

describe("harness: no process outlives its owner", function () {
  const fixture = join(here, "fixtures", "own-plane.js");
  let components = 0;

  before(function () {
    try {
      const b = resolveBinaries();
      components = 2 + (b.kubeControllerManager ? 1 : 0) + (b.kubeScheduler ? 1 : 0);
    } catch {
      this.skip(); // no local binaries (E2E_KUBECONFIG runs)
    }
  });

  for (const signal of ["SIGINT", "SIGTERM", "SIGKILL"] as const) {
    it(`${signal} to the owning process stops etcd, kube-apiserver, kube-controller-manager and kube-scheduler and removes the data`, async function () {
      const child = spawn(process.execPath, [fixture], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      try {
        const info = await waitFor(
          "the fixture's control plane to start",
          () => {
            const line = out.split("\n").find((l) => l.startsWith("{"));
            return line
              ? (JSON.parse(line) as { pids: Record<string, number>; dataDir: string })
              : undefined;
          },
          { timeoutMs: 90_000, describe: () => `fixture stderr: ${err.slice(-500)}` },
        );
        const pids = Object.values(info.pids);
        assert.equal(pids.length, components, JSON.stringify(info.pids));
        assert.ok(pids.every(alive));

        child.kill(signal);
        await exited;
        await waitFor(
          `${Object.keys(info.pids).join(", ")} (pids ${pids.join(", ")}) to exit after ${signal}`,
          () => !pids.some(alive),
          { timeoutMs: 15_000, describe: () => `alive: ${pids.filter(alive).join(", ")}` },
        );
        await waitFor(`data dir ${info.dataDir} to be removed`, () => !existsSync(info.dataDir), {
          timeoutMs: 10_000,
        });
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM"); // a failed assertion must not leave the fixture
      }
    });
  }
});

describe("harness: waitFor", function () {
  it("waitFor's timeout names what it waited for and the last error", async function () {
    let n = 0;
    await assert.rejects(
      waitFor(
        "the moon to turn blue",
        () => {
          n++;
          throw new Error(`still grey (${n})`);
        },
        { timeoutMs: 300, intervalMs: 50 },
      ),
      /timed out after 300 ms \(\d+ attempts\) waiting for the moon to turn blue; last error: still grey/,
    );
  });
});
