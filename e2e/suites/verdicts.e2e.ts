// Verdict parity (test/fixtures/verdicts/README.md): every shared fixture goes through `nhictl check`
// (the compiled CLI, as a process) and through the real admission webhook behind the real
// kube-apiserver, and the two must agree on the verdict and on the rule ids.
//
// Webhook half, honestly: the fixture's NHIPolicy and every object but the last are written through
// the webhook as the admin (system:masters), in order, and each must be allowed — the README's
// "prefix passes" on the cluster side, not a bypass. The webhook's cache must have seen each one
// before the next write is judged. Then the last object is written and the API server's answer
// recorded: allowed or denied, and the rule ids of the denial message ("[rule] …").
//
// CLI half: the same objects (same namespace, same labels) on stdin with the same policy
// (`--policy cli-defaults.policy.yaml`), prefix alone (exit 0) and whole (exit 0 or 1).
//
// What must agree: the verdict; and the set of rules — the webhook's denial rules are exactly the
// rules of the CLI's violations (the prefix alone has none, so every CLI violation is caused by
// the written object, wherever the CLI attributes it). Where the webhook truncates its message
// ("…and N more violations") its rules must be among the CLI's. Warnings: every rule the webhook
// warns about on the written object, the CLI reports too (as a warning or a violation); the CLI
// warns about more (unclaimed ServiceAccounts in the prefix, which the webhook does not judge).
// Requester-dependent checks (borrowed-identity, nhi-self-widening, nhi-change-request,
// nhipolicy-self-exemption, token-ttl) cannot be compared: the CLI has no requester; every write
// here is the admin's, for whom they do not fire. The webhook suite covers them.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import winston from "winston";
import { parseAllDocuments } from "yaml";
import { ADMISSION_RULE_IDS } from "../../core/policy/nhi-write.js";
import type { RunningOperator } from "../../operator/main.js";
import type { Log as Logger } from "../../edge/log.js";
import { REPO_ROOT } from "../harness/binaries.js";
import type { Cluster } from "../harness/cluster.js";
import type { KubeObject, Verdict } from "../harness/kube.js";
import { sharedCluster, skipUnlessLocalApiServer } from "../harness/mocha.js";
import { runNhictl } from "../harness/nhictl.js";
import { waitFor } from "../harness/wait.js";
import { startRegisteredWebhook, type RegisteredWebhook } from "./webhook-helpers.js";

const LABEL = "nhi.io/verdicts-e2e";
const CONFIG_NAME = "nhi-operator-verdicts-e2e";
const FIXTURES = join(REPO_ROOT, "test/fixtures/verdicts");
const POLICY_FILE = "test/fixtures/verdicts/cli-defaults.policy.yaml";
const SHARED_POLICY = "verdicts-cli-defaults";
/** The namespace every fixture is written in; each run gets its own, so namespace deletion never blocks the next. */
const FIXTURE_NS = "verdicts";

/** Every rule id a finding can carry, so "[rule]" is told apart from "[shop]" in a fix's scope. */
const RULE_IDS = new Set([
  ...ADMISSION_RULE_IDS,
  "nhi-invalid",
  "nhipolicy-invalid",
  "nhipolicy-self-exemption",
  "internal-error",
]);

let op: RunningOperator;
let webhook: RegisteredWebhook | undefined;
const cluster = (): Cluster => sharedCluster();

interface JsonFinding {
  rule: string;
  message: string;
}

interface CliRun {
  code: number;
  violations: JsonFinding[];
  warnings: JsonFinding[];
  stderr: string;
}

/** The compiled nhictl as a process, its JSON report required. */
async function nhictl(args: string[], input: string): Promise<CliRun> {
  const run = await runNhictl(args, { input });
  try {
    const report = JSON.parse(run.stdout) as { violations: JsonFinding[]; warnings: JsonFinding[] };
    return {
      code: run.code,
      violations: report.violations,
      warnings: report.warnings,
      stderr: run.stderr,
    };
  } catch {
    throw new Error(
      `nhictl ${args.join(" ")} exited ${String(run.code)} without a JSON report: ${run.stderr}`,
    );
  }
}

/** The rule a warning names: each one reads "[rule] message". */
const warningRule = (w: string): string | undefined => {
  const r = /^\[([a-z0-9-]+)\] /.exec(w)?.[1];
  return r !== undefined && RULE_IDS.has(r) ? r : undefined;
};

/** What the webhook logged about its decisions ("admission decision": result and every rule, untruncated). */
interface DecisionLog {
  namespace?: string;
  name?: string;
  operation?: string;
  dryRun?: boolean;
  result?: string;
  rules?: string[];
}
const decisions: DecisionLog[] = [];

function capturingLogger(): Logger {
  const sink = new Writable({
    objectMode: true,
    write(entry: Record<string, unknown>, _enc, done) {
      if (entry.message === "admission decision") decisions.push(entry as DecisionLog);
      done();
    },
  });
  return winston.createLogger({
    level: "debug",
    transports: [new winston.transports.Stream({ stream: sink })],
  });
}

/** The fixture's objects moved to namespace `ns` (every string "verdicts", and SA usernames in it). */
function relocate(value: unknown, ns: string): unknown {
  if (typeof value === "string") {
    if (value === FIXTURE_NS) return ns;
    return value
      .replace(`system:serviceaccount:${FIXTURE_NS}:`, `system:serviceaccount:${ns}:`)
      .replace(`system:serviceaccounts:${FIXTURE_NS}`, `system:serviceaccounts:${ns}`);
  }
  if (Array.isArray(value)) return value.map((v) => relocate(v, ns));
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, relocate(v, ns)]));
  return value;
}

interface Fixture {
  file: string;
  deny: boolean;
  rules: string[];
  objects: KubeObject[];
}

function readFixture(file: string, ns: string): Fixture {
  const text = readFileSync(join(FIXTURES, file), "utf8");
  const header = /^# expect: (allow|deny)((?: [a-z0-9-]+)*)\s*$/m.exec(text);
  assert.ok(header, `${file}: first line must be '# expect: allow' or '# expect: deny <rule>...'`);
  // YAML 1.1, as kubectl (and nhictl) read manifests.
  const objects = parseAllDocuments(text, { version: "1.1" })
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null)
    .map((o) => relocate(o, ns) as KubeObject);
  const nsObject = objects.find((o) => o.kind === "Namespace");
  assert.ok(nsObject, `${file}: the fixture must create its namespace`);
  const labels = (nsObject.metadata.labels ?? {}) as Record<string, string>;
  nsObject.metadata.labels = { ...labels, [LABEL]: "true", "nhi.io/e2e": "true" };
  return {
    file,
    deny: header[1] === "deny",
    rules: (header[2] ?? "")
      .trim()
      .split(/\s+/)
      .filter((x) => x !== ""),
    objects,
  };
}

const stream = (objects: KubeObject[]): string =>
  objects.map((o) => JSON.stringify(o)).join("\n---\n");
const isClusterScoped = (o: KubeObject): boolean => o.metadata.namespace === undefined;

/** Until the webhook's cache reflects the object: its decisions read the cache, never the API server. */
async function cacheSees(o: KubeObject, present = true): Promise<void> {
  const c = op.cache;
  const ns = o.metadata.namespace ?? "";
  const name = o.metadata.name ?? "";
  let seen: (() => boolean) | undefined;
  switch (o.kind) {
    case "Namespace":
      seen = () => c.namespaceLabels(name) !== undefined;
      break;
    case "ServiceAccount":
      seen = () => c.serviceAccount(ns, name) !== undefined;
      break;
    case "Secret":
      seen = () => c.secretType(ns, name) !== undefined;
      break;
    case "Role":
      seen = () => c.index.rulesOf({ kind: "Role", namespace: ns, name }) !== undefined;
      break;
    case "ClusterRole":
      seen = () => c.index.clusterRole(name) !== undefined;
      break;
    case "RoleBinding":
    case "ClusterRoleBinding": {
      const ref = o.roleRef as { kind: "Role" | "ClusterRole"; name: string };
      const role = {
        kind: ref.kind,
        name: ref.name,
        ...(ref.kind === "Role" ? { namespace: ns } : {}),
      };
      seen = () =>
        c.index
          .bindingsOf(role)
          .some((b) => b.kind === o.kind && b.name === name && (b.namespace ?? "") === ns);
      break;
    }
    case "NonHumanIdentity": {
      const sa = (o.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName ?? "";
      seen = () => c.directory.nhiFor({ namespace: ns, name: sa })?.metadata.name === name;
      break;
    }
    case "NHIPolicy":
      seen = () => c.policyAt(new Date()).sources.includes(name);
      break;
    default:
      // Workloads: the webhook judges them from the accounts, NHIs and Secrets it caches, not from other workloads.
      return;
  }
  const check = seen;
  await waitFor(
    `the webhook's cache to ${present ? "see" : "drop"} ${o.kind} ${ns ? `${ns}/` : ""}${name}`,
    () => check() === present,
    { timeoutMs: 15_000, intervalMs: 50 },
  );
}

const identity = (o: KubeObject): string =>
  `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;

/** As a cluster would receive it: a create (POST, the webhook sees CREATE), or an update of an object written before (apply: UPDATE). */
async function write(o: KubeObject, before: readonly KubeObject[]): Promise<Verdict> {
  return before.some((b) => identity(b) === identity(o))
    ? cluster().kube.apply(o)
    : cluster().kube.create(o);
}

async function must(
  o: KubeObject,
  what: string,
  before: readonly KubeObject[] = [],
): Promise<Verdict> {
  const v = await write(o, before);
  assert.ok(
    v.allowed,
    `${what}: the webhook must allow ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name ?? ""}: ${v.code} ${v.message}`,
  );
  await cacheSees(o);
  return v;
}

async function remove(o: KubeObject): Promise<void> {
  const ns = o.metadata.namespace;
  await cluster().kube.delete(o.apiVersion, o.kind, o.metadata.name ?? "", ns);
}

const sorted = (xs: string[]): string[] => [...new Set(xs)].sort();

describe("verdict parity: nhictl check and the admission webhook on the shared fixtures", function () {
  const files = readdirSync(FIXTURES)
    .filter((f) => /\.(pass|fail)\.yaml$/.test(f))
    .sort();
  const policy = readFixtureObjects(POLICY_FILE);

  before(async function () {
    this.timeout(120_000);
    skipUnlessLocalApiServer(this); // the API server must reach the webhook on 127.0.0.1
    webhook = await startRegisteredWebhook(CONFIG_NAME, capturingLogger());
    op = webhook.op;
    // The shared policy, written through the webhook like any other NHIPolicy.
    for (const p of policy) await must(p, "cli-defaults.policy.yaml", policy); // apply: idempotent
  });

  after(async function () {
    this.timeout(60_000);
    for (const p of policy) await remove(p).catch(() => undefined);
    await webhook?.close();
  });

  it("has fixtures of both kinds", () => {
    assert.ok(files.some((f) => f.endsWith(".pass.yaml")));
    assert.ok(files.some((f) => f.endsWith(".fail.yaml")));
  });

  for (const file of files) {
    it(file, async function () {
      this.timeout(120_000);
      await onlyTheSharedPolicy();
      const ns = `verdicts-${randomBytes(3).toString("hex")}`;
      const fx = readFixture(file, ns);
      const prefix = fx.objects.slice(0, -1);
      const last = fx.objects[fx.objects.length - 1];
      assert.ok(last, `${file}: no objects`);
      const cliArgs = ["check", "-f", "-", "--policy", POLICY_FILE, "--format", "json"];

      // CLI half, on exactly the objects the cluster gets.
      const cliPrefix = await nhictl(cliArgs, stream(prefix));
      assert.equal(
        cliPrefix.code,
        0,
        `${file}: nhictl must pass the prefix: ${JSON.stringify(cliPrefix.violations)} ${cliPrefix.stderr}`,
      );
      const cli = await nhictl(cliArgs, stream(fx.objects));
      assert.ok(
        cli.code === 0 || cli.code === 1,
        `${file}: nhictl exited ${cli.code}: ${cli.stderr}`,
      );

      // Webhook half.
      let verdict: Verdict;
      let logged: DecisionLog | undefined;
      try {
        for (const [i, o] of prefix.entries())
          await must(o, `${file} (prefix)`, prefix.slice(0, i));
        const mark = decisions.length;
        verdict = await write(last, prefix);
        logged = decisions
          .slice(mark)
          .reverse()
          .find(
            (d) =>
              d.name === last.metadata.name &&
              (d.namespace ?? "") === (last.metadata.namespace ?? "") &&
              d.dryRun !== true,
          );
      } finally {
        await cleanUp(fx.objects);
      }
      const cliRules = sorted(cli.violations.map((v) => v.rule));
      const where = `${file}: nhictl ${JSON.stringify(cliRules)}; API server ${verdict.code} "${verdict.message}"`;

      // 1. The verdict: each side as the fixture expects.
      assert.equal(cli.code, fx.deny ? 1 : 0, where);
      assert.equal(verdict.allowed, !fx.deny, where);

      if (!logged) {
        // The API server answered without asking the webhook: only its own schema validation
        // (the CRD's OpenAPI schema and CEL rules) does that here. nhictl validates with the same
        // schema, so it must report the object invalid and name the same field.
        assert.equal(verdict.code, 422, `${where}: the webhook was not asked`);
        assert.ok(cliRules.length > 0 && cliRules.every((r) => r.endsWith("-invalid")), where);
        for (const v of cli.violations) {
          const field = / is invalid: (\S+?): /.exec(v.message)?.[1];
          assert.ok(
            field && verdict.message.includes(field),
            `${where}: the API server does not name ${field ?? "(no field)"} that nhictl names`,
          );
        }
        return;
      }
      const webhookRules = verdict.allowed ? [] : sorted(logged.rules ?? []);
      // 2. The rules: those the fixture lists are on both sides, and both sides name the same set.
      for (const r of fx.rules) {
        assert.ok(cliRules.includes(r), `${where}: nhictl does not report ${r}`);
        assert.ok(webhookRules.includes(r), `${where}: the webhook does not name ${r}`);
      }
      assert.deepEqual(cliRules, webhookRules, where);
      // ... and the denial message the user sees names them (up to the five it lists).
      if (!verdict.allowed) {
        assert.equal(
          verdict.code,
          webhookRules.every((r) => r.endsWith("-invalid")) ? 422 : 403,
          where,
        );
        const listed = [...verdict.message.matchAll(/(?:: |Fix: [^[]*?\. )\[([a-z0-9-]+)\] /g)].map(
          (m) => m[1] ?? "",
        );
        if (!/…and \d+ more violations/.test(verdict.message))
          for (const r of webhookRules)
            assert.ok(listed.includes(r), `${where}: the message does not name ${r}`);
      }
      // 3. What the webhook warns about on the written object, nhictl reports too.
      const cliAll = new Set([...cli.violations, ...cli.warnings].map((f) => f.rule));
      for (const r of verdict.warnings.map(warningRule)) {
        if (r !== undefined)
          assert.ok(
            cliAll.has(r),
            `${where}: the webhook warns ${r}, nhictl does not report it: ${JSON.stringify([...cliAll])}`,
          );
      }
    });
  }
});

/**
 * Each fixture is judged alone: no NonHumanIdentity left in the cluster (from a previous fixture
 * or another suite: a binding to system:authenticated would rightly exceed their scopes too) and
 * no NHIPolicy but the shared one.
 */
async function onlyTheSharedPolicy(): Promise<void> {
  await waitFor(
    "the cluster to hold no NonHumanIdentity and only the shared NHIPolicy",
    async () => {
      const nhis = await cluster().kube.request<{ items?: KubeObject[] }>(
        "GET",
        "/apis/nhi.io/v1alpha1/nonhumanidentities",
      );
      const policies = await cluster().kube.request<{ items?: KubeObject[] }>(
        "GET",
        "/apis/nhi.io/v1alpha1/nhipolicies",
      );
      const names = (policies.body?.items ?? []).map((p) => p.metadata.name);
      return (
        (nhis.body?.items ?? []).length === 0 &&
        names.length === 1 &&
        names[0] === SHARED_POLICY &&
        JSON.stringify(op.cache.policyAt(new Date()).sources) === JSON.stringify([SHARED_POLICY])
      );
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** Removes what a fixture created: NHIs first (until the cache forgets them), cluster-scoped objects, then the namespace. */
async function cleanUp(objects: KubeObject[]): Promise<void> {
  const reversed = [...objects].reverse();
  for (const o of reversed.filter((x) => x.kind === "NonHumanIdentity" || x.kind === "NHIPolicy")) {
    await remove(o);
    await cacheSees(o, false);
  }
  for (const o of reversed.filter(
    (x) => isClusterScoped(x) && x.kind !== "Namespace" && x.kind !== "NHIPolicy",
  )) {
    await remove(o);
    await cacheSees(o, false);
  }
  for (const o of reversed.filter((x) => x.kind === "Namespace")) await remove(o);
}

function readFixtureObjects(path: string): KubeObject[] {
  return parseAllDocuments(readFileSync(join(REPO_ROOT, path), "utf8"), { version: "1.1" })
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}
