// `make demo` (e2e/scripts/demo.ts) as a newcomer runs it, then Ctrl-C: it starts its own control plane,
// runs the operator as the chart would and prints the three parts a newcomer reads — the inventory
// (owners, phases, risk with its top factor, next rotation), a credential rotated, and a real denial
// of a cluster-admin binding — and on Ctrl-C stops everything it started.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "../harness/binaries.js";
import { waitFor } from "../harness/wait.js";

describe("make demo", function () {
  this.timeout(420_000);

  it("prints the inventory, a credential rotation and a denied escalation, and leaves nothing running", async function () {
    if (process.env.E2E_KUBECONFIG) this.skip(); // the demo starts a plane of its own
    // As a newcomer runs it: no --once; it prints, keeps the cluster, and Ctrl-C (SIGINT) stops it.
    const proc = spawn(process.execPath, [join(REPO_ROOT, "dist/e2e/scripts/demo.js")], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    proc.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (c) => resolve(c)));
    const ready = await Promise.race([
      waitFor("the demo to print its screen", () => out.includes("Ctrl-C stops"), {
        timeoutMs: 360_000,
        describe: () => `demo output so far:\n${err.slice(-3000)}\n${out}`,
      }).then(() => true),
      exited.then(() => false),
    ]);
    assert.ok(ready, `demo exited before it was ready:\n${err.slice(-4000)}\n${out}`);

    // What it started: the plane (its data dir holds the kubeconfig it prints) and the operator.
    const planeDir = dirname(/export KUBECONFIG=(\S+);/.exec(out)?.[1] ?? "");
    assert.match(planeDir, /nhi-e2e-/, "the demo prints the plane's kubeconfig");
    const operators = childrenOf(proc.pid ?? -1).filter((c) =>
      c.cmd.includes("dist/operator/main.js"),
    );
    assert.equal(operators.length, 1, "the demo runs one operator process");
    const operator = operators[0]!;
    const operatorDir = dirname(/--kubeconfig\s(\S+)/.exec(operator.cmd)?.[1] ?? "");
    assert.ok(existsSync(planeDir) && existsSync(operatorDir));

    proc.kill("SIGINT");
    const code = await Promise.race([
      exited,
      new Promise<string>((resolve) => setTimeout(() => resolve("still running"), 60_000)),
    ]);
    assert.equal(
      code,
      130,
      `Ctrl-C: the demo exits 130 after stopping what it started (got ${code}):\n${err.slice(-3000)}`,
    );
    assert.equal(alive(operator.pid), false, "the operator is gone");
    assert.deepEqual(
      processesMentioning(planeDir),
      [],
      "no etcd, kube-apiserver or controller-manager of the demo's plane is left",
    );
    assert.equal(existsSync(planeDir), false, "the plane's data dir is removed");
    assert.equal(existsSync(operatorDir), false, "the operator's folder is removed");

    const inventory = out.slice(out.indexOf("Inventory"), out.indexOf("Credential rotation"));
    assert.match(
      inventory,
      /SERVICEACCOUNT\s+NHI\s+OWNER\s+PHASE\s+RISK\s+TOP FACTOR\s+NEXT ROTATION/,
    );
    assert.match(
      inventory,
      /^ci\/deployer\s+deployer\s+platform\s+\w+\s+\d+\s+.*\d{4}-\d\d-\d\dT/m,
      "the CI deployer with its owner, phase, risk and next rotation",
    );
    assert.match(
      inventory,
      /^legacy\/jenkins\s+— \(shadow\)\s+nobody\s+\w+\s+\d+\s+\S+ \(\+\d+\)/m,
      "an unowned legacy identity with its top risk factor",
    );
    assert.match(inventory, /^shop\/orders-api\s+orders-api\s+shop-backend/m);
    assert.match(
      inventory,
      /^nhi-system\/nhi-operator\s+nhi-operator\s+platform-security\s+Active\s/m,
      "the operator itself is Active, not Violating (the chart's exemption of secrets-read-cluster)",
    );
    const rotation = out.slice(
      out.indexOf("Credential rotation"),
      out.indexOf("Escalation denied"),
    );
    assert.match(rotation, /generation [2-9]/);
    assert.match(rotation, /CredentialRotated/);
    const denial = out.slice(out.indexOf("Escalation denied"));
    assert.match(
      denial,
      /kubectl create clusterrolebinding ci-deployer-admin --clusterrole=cluster-admin --serviceaccount=ci:deployer/,
    );
    assert.match(denial, /exit 1: .*admission webhook "validate\.nhi\.io" denied the request/);
    assert.match(denial, /system:serviceaccount:ci:deployer/);
    assert.match(err, /stopping|demo:/);
  });
});

/** Live processes (pid, command line) whose parent is `ppid`, from /proc. */
function childrenOf(ppid: number): { pid: number; cmd: string }[] {
  return procs().filter((p) => p.ppid === ppid);
}

function processesMentioning(text: string): string[] {
  return procs()
    .filter((p) => p.cmd.includes(text))
    .map((p) => `${p.pid} ${p.cmd}`);
}

function procs(): { pid: number; ppid: number; cmd: string }[] {
  const out: { pid: number; ppid: number; cmd: string }[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
      if (state === "Z") continue; // exited, not yet reaped: not running
      const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").join(" ").trim();
      out.push({ pid: Number(e), ppid, cmd });
    } catch {
      // gone while reading
    }
  }
  return out;
}

function alive(pid: number): boolean {
  return procs().some((p) => p.pid === pid);
}
