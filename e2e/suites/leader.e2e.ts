// Two operator replicas on one Lease against a real kube-apiserver: exactly one reconciles; a
// follower's /inventory names the leader; SIGKILLing the leader in the middle of a rotation hands
// over within leaseDuration + retryPeriod, and across the hand-over no credential is rotated twice,
// lost, or left with an orphan token anchor. The Secrets are polled throughout the test.
import assert from "node:assert/strict";
import { sharedCluster, useNamespace } from "../harness/mocha.js";
import { runNhictl } from "../harness/nhictl.js";
import type { KubeObject, Token } from "../harness/kube.js";
import { waitFor } from "../harness/wait.js";
import {
  OWNER,
  authenticates,
  eventsOf,
  getSecret,
  nhiYaml,
  tokenOf,
  useOperator,
  type OperatorProcess,
  type SecretObject,
} from "./reconcilers-helpers.js";

// Short for test speed; the validation (renewDeadline < leaseDuration, > 1.2 × retryPeriod) holds.
const LEASE_S = 8;
const RENEW_S = 6;
const RETRY_S = 1;
const ELECTION = [
  "--lease-duration",
  `${LEASE_S}s`,
  "--renew-deadline",
  `${RENEW_S}s`,
  "--retry-period",
  `${RETRY_S}s`,
];
/** A loaded 2-core machine: API latency and event-loop delay on top of the protocol's bound. */
const SLACK_MS = 5_000;
const LEASE_NAME = "reconcilers";
/** Both credentials are due this long after each issue (the token: ttl 10m, renewBefore 9m40s). */
const INTERVAL_S = 20;

interface LeaseObject extends KubeObject {
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
  spec: {
    holderIdentity?: string;
    leaseTransitions?: number;
    renewTime?: string;
    acquireTime?: string;
  };
}
interface NotLeader {
  kind?: string;
  error?: string;
  lease?: { namespace: string; name: string };
  leader?: { identity: string; pod?: string; address?: string };
}

const ann = (s: SecretObject | undefined, k: string): string | undefined =>
  s?.metadata.annotations?.[k];
const generation = (s: SecretObject | undefined): number =>
  Number(ann(s, "nhi.io/generation") ?? "0");
const stateOf = (s: SecretObject | undefined): string => ann(s, "nhi.io/rotation-state") ?? "Idle";

async function inventoryAnswer(
  op: OperatorProcess,
): Promise<{ status: number; retryAfter: string | null; body: NotLeader & { kind?: string } }> {
  const r = await fetch(`http://127.0.0.1:${op.port}/inventory`);
  return {
    status: r.status,
    retryAfter: r.headers.get("retry-after"),
    body: (await r.json()) as NotLeader,
  };
}

/** Sum of a counter's samples in a Prometheus text exposition (0 when the family is absent). */
async function counterSum(op: OperatorProcess, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

interface Seen {
  generation: number;
  state: string;
  rotations: number;
  issuedAt?: string;
  anchors: number[];
}

/**
 * Polls one credential Secret (and, for a token, its anchors) until stopped. Records every distinct
 * observation and every problem: a value missing once one was issued, a token that does not
 * authenticate while it is the Secret's value, a generated value of the wrong shape, a generation
 * going backwards, more than two anchors or one of an unrelated generation. Values are kept only
 * to compare them; they are never printed.
 */
class CredentialWatch {
  readonly seen: Seen[] = [];
  readonly problems: string[] = [];
  /** Every token value the Secret held, by generation (token credentials). */
  readonly tokens = new Map<number, Token>();
  private stopped = false;
  private done: Promise<void> | undefined;
  private lastAuthAt = 0;

  constructor(
    private readonly ns: string,
    private readonly secret: string,
    private readonly kind: "token" | "generated",
  ) {}

  start(): void {
    this.done = (async () => {
      while (!this.stopped) {
        try {
          await this.once();
        } catch (e) {
          // The API server under load is not what this test judges; a gap in polling is only a gap.
          if (!(e instanceof Error) || !/fetch failed|ECONNRESET|timeout/i.test(e.message))
            this.problems.push(`poll error: ${String(e)}`);
        }
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  last(): Seen | undefined {
    return this.seen.at(-1);
  }

  /** The distinct generations seen, in order, each with the issuedAt it was first seen with. */
  generations(): { generation: number; issuedAt?: string }[] {
    const out: { generation: number; issuedAt?: string }[] = [];
    for (const s of this.seen) {
      if (s.generation === 0 || out.at(-1)?.generation === s.generation) continue;
      out.push({ generation: s.generation, ...(s.issuedAt ? { issuedAt: s.issuedAt } : {}) });
    }
    return out;
  }

  private async once(): Promise<void> {
    const s = await getSecret(this.ns, this.secret);
    const anchors = this.kind === "token" ? await anchorGenerations(this.ns, this.secret) : [];
    const g = generation(s);
    const prev = this.last();
    const seen: Seen = {
      generation: g,
      state: stateOf(s),
      rotations: Number(ann(s, "nhi.io/rotations") ?? "0"),
      anchors,
      ...(ann(s, "nhi.io/issued-at") ? { issuedAt: ann(s, "nhi.io/issued-at") } : {}),
    };
    if (!prev || JSON.stringify(prev) !== JSON.stringify(seen)) this.seen.push(seen);
    const at = new Date().toISOString();
    if (prev && g < prev.generation)
      this.problems.push(`${at}: generation went back from ${prev.generation} to ${g}`);
    if (
      this.kind === "token" &&
      (anchors.length > 2 || anchors.some((a) => a < g - 1 || a > g + 1))
    ) {
      this.problems.push(
        `${at}: anchors of generations [${anchors.join(",")}] next to generation ${g} (${seen.state})`,
      );
    }
    const everIssued = this.seen.some((x) => x.generation > 0);
    if (!everIssued) return;
    if (this.kind === "generated") {
      const v = s?.data?.key ? Buffer.from(s.data.key, "base64").toString("utf8") : "";
      if (!/^[0-9a-f]{48}$/.test(v))
        this.problems.push(
          `${at}: the generated value is missing or malformed at generation ${g} (${seen.state})`,
        );
      return;
    }
    const token = tokenOf(s);
    if (!token) {
      this.problems.push(`${at}: the token is missing at generation ${g} (${seen.state})`);
      return;
    }
    const known = this.tokens.get(g);
    if (known && known.reveal() !== token.reveal())
      this.problems.push(`${at}: generation ${g} holds a second, different token (issued twice)`);
    // A new value at once, the current one again every second: it must authenticate while it is the Secret's value.
    if (!known || Date.now() - this.lastAuthAt > 1000) {
      this.tokens.set(g, token);
      this.lastAuthAt = Date.now();
      if (!(await authenticates(token))) {
        const still = tokenOf(await getSecret(this.ns, this.secret));
        if (still?.reveal() === token.reveal())
          this.problems.push(
            `${at}: the Secret's token (generation ${g}, ${seen.state}) does not authenticate`,
          );
      }
    }
  }
}

async function anchorGenerations(ns: string, secret: string): Promise<number[]> {
  const r = await sharedCluster().kube.must<{
    items: { metadata: { labels?: Record<string, string> } }[];
  }>("GET", `/api/v1/namespaces/${ns}/secrets`, {
    query: { labelSelector: `nhi.io/anchor-for=${secret}` },
  });
  return r.items
    .map((i) => Number(i.metadata.labels?.["nhi.io/generation"] ?? "-1"))
    .sort((a, b) => a - b);
}

describe("leader election: two replicas on a real control plane", function () {
  const ns = useNamespace("leader");
  const operator = useOperator();
  const watches: CredentialWatch[] = [];
  afterEach(async () => {
    for (const w of watches.splice(0)) await w.stop();
  });

  it("one reconciles, a follower names it, SIGKILL hands over within leaseDuration + retryPeriod, and no credential is rotated twice or lost", async function () {
    this.timeout(240_000);
    const c = sharedCluster();
    const args = ["--lease-name", LEASE_NAME, "--lease-namespace", ns(), ...ELECTION];
    const lease = async (): Promise<LeaseObject | undefined> =>
      c.kube.get<LeaseObject>("coordination.k8s.io/v1", "Lease", LEASE_NAME, ns());

    // A alone first, so which replica leads is known; the chart passes POD_NAME and POD_IP.
    const a = await operator.start({ args, env: { POD_NAME: "nhi-a", POD_IP: "127.0.0.1" } });
    const b = await operator.start({
      args,
      env: { POD_NAME: "nhi-b", POD_IP: "127.0.0.1" },
      waitReady: false,
    });
    const held = await lease();
    const aIdentity = held?.spec.holderIdentity ?? "";
    assert.match(aIdentity, /^nhi-a_[0-9a-f]{10}$/, "holderIdentity is <pod>_<random>");
    assert.equal(
      held?.metadata.annotations?.["nhi.io/leader-address"],
      `127.0.0.1:${a.port}`,
      "the leader records where it serves",
    );

    // The follower's /inventory: 503, Retry-After, and the leader it should ask instead.
    const follower = await waitFor(
      "the follower to answer /inventory naming the leader",
      async () => {
        const r = await inventoryAnswer(b);
        return r.body.kind === "NotLeader" && r.body.leader ? r : undefined;
      },
      { timeoutMs: 60_000, describe: (x) => JSON.stringify(x) },
    );
    assert.equal(follower.status, 503);
    assert.equal(follower.retryAfter, String(RETRY_S));
    assert.deepEqual(follower.body.lease, { namespace: ns(), name: LEASE_NAME });
    assert.deepEqual(
      { ...follower.body.leader, renewTime: undefined },
      { identity: aIdentity, pod: "nhi-a", address: `127.0.0.1:${a.port}`, renewTime: undefined },
    );
    assert.match(
      follower.body.error ?? "",
      new RegExp(
        `served by the holder of Lease ${ns()}/${LEASE_NAME}, pod nhi-a at http://127\\.0\\.0\\.1:${a.port}/inventory`,
      ),
    );
    // nhictl pointed at the follower says where to go.
    const cli = await runNhictl([
      "inventory",
      "--endpoint",
      `http://127.0.0.1:${b.port}/inventory`,
    ]);
    assert.equal(cli.code, 2);
    assert.match(
      cli.stderr,
      /HTTP 503 \(this replica is not the leader: .*pod nhi-a at http:\/\/127\.0\.0\.1:\d+\/inventory\)/,
    );
    // …and that address really serves the inventory.
    const viaAddress = await fetch(`http://${follower.body.leader?.address ?? ""}/inventory`);
    assert.equal(viaAddress.status, 200);
    assert.equal(((await viaAddress.json()) as { kind?: string }).kind, "Inventory");

    // An identity with a token renewed 20 s after each issue and a generated value rotated every 20 s:
    // longer than a hand-over, so after it only the interrupted rotation is to be finished — a new
    // leader redoing a step would issue the next generation too early, which the checks below catch.
    await c.applyAs(
      `apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: ci, namespace: ${ns()} }\n`,
    );
    const v = await c.applyAs(
      nhiYaml(
        ns(),
        "ci",
        `${OWNER}\nserviceAccountName: ci\ncredentials:
  - { name: token, type: ServiceAccountToken, secretName: ci-token, ttl: 10m, renewBefore: 9m40s }
  - { name: signing, type: Generated, secretName: ci-signing, key: key, length: 24, encoding: hex, maxAge: ${INTERVAL_S}s, gracePeriod: 10s }`,
      ),
    );
    assert.ok(v.allowed, v.message);
    const token = new CredentialWatch(ns(), "ci-token", "token");
    const signing = new CredentialWatch(ns(), "ci-signing", "generated");
    watches.push(token, signing);
    token.start();
    signing.start();

    // Kill the leader in the middle of a rotation: the token's second generation is written and
    // verified, the old anchor still awaits revocation (the 3 s token overlap), and the generated
    // value's previous one is still kept (its 10 s grace period).
    await waitFor(
      "the second generations, the token's in its overlap (Revoking)",
      () => {
        const s = token.last();
        return (
          s !== undefined &&
          s.generation >= 2 &&
          s.state === "Revoking" &&
          (signing.last()?.generation ?? 0) >= 2
        );
      },
      {
        timeoutMs: 90_000,
        intervalMs: 50,
        describe: () => JSON.stringify([token.seen.slice(-3), signing.seen.slice(-3)]),
      },
    );
    const reconciledByA = await counterSum(a, "nhi_rotation_steps_total");
    const reconciledByB = await counterSum(b, "nhi_rotation_steps_total");
    assert.ok(reconciledByA > 0, "the leader performed no rotation step");
    assert.equal(
      reconciledByB,
      0,
      "the follower performed rotation steps while the other replica led",
    );
    assert.ok(
      !b.logs().includes("started leading"),
      "the follower started leading while the leader was alive",
    );
    const renewedBeforeKill = Date.parse((await lease())?.spec.renewTime ?? "");
    const killedAt = Date.now();
    const killedAtGeneration = {
      token: token.last()?.generation ?? 0,
      signing: signing.last()?.generation ?? 0,
      signingState: signing.last()?.state,
    };
    a.proc.kill("SIGKILL");
    await a.exited;

    // B takes over once A's last renewal is leaseDuration old: at most leaseDuration + retryPeriod
    // after the kill (B looks every retryPeriod), plus slack.
    const takeover = await waitFor(
      "the follower to take the Lease",
      async () => {
        const l = await lease();
        return l?.spec.holderIdentity?.startsWith("nhi-b_") ? { l, at: Date.now() } : undefined;
      },
      {
        timeoutMs: (LEASE_S + RETRY_S) * 1000 + SLACK_MS + 20_000,
        intervalMs: 100,
        describe: (x) => JSON.stringify(x),
      },
    );
    const handOverMs = takeover.at - killedAt;
    const bound = (LEASE_S + RETRY_S) * 1000 + SLACK_MS;
    if (process.env.E2E_VERBOSE === "1")
      process.stderr.write(
        `leader e2e: SIGKILL at token generation ${killedAtGeneration.token} (Revoking), signing ${killedAtGeneration.signing} (${killedAtGeneration.signingState}); hand-over took ${handOverMs} ms (bound ${bound} ms)\n`,
      );
    assert.ok(
      handOverMs <= bound,
      `hand-over took ${handOverMs} ms; bound: leaseDuration ${LEASE_S}s + retryPeriod ${RETRY_S}s + ${SLACK_MS} ms slack`,
    );
    // Not before the Lease lapsed: B acquired at least leaseDuration after A's last renewal (same host clock).
    const acquiredAfterRenewMs = Date.parse(takeover.l.spec.acquireTime ?? "") - renewedBeforeKill;
    assert.ok(
      acquiredAfterRenewMs >= LEASE_S * 1000 - 50,
      `the follower took the Lease ${acquiredAfterRenewMs} ms after a renewal the leader made`,
    );
    assert.equal(takeover.l.spec.leaseTransitions, 1);
    assert.equal(
      takeover.l.metadata.annotations?.["nhi.io/leader-address"],
      `127.0.0.1:${b.port}`,
      "the new leader's address replaces the old one",
    );
    await waitFor(
      "the new leader's first inventory",
      async () => (await inventoryAnswer(b)).status === 200,
      { timeoutMs: 60_000 },
    );

    // Nothing lost: the interrupted rotations finish and the next ones happen when due, under B.
    await waitFor(
      "the next token generation, idle, with only the current anchor",
      () => {
        const s = token.last();
        return (
          s !== undefined &&
          s.generation >= killedAtGeneration.token + 1 &&
          s.state === "Idle" &&
          s.anchors.join() === String(s.generation)
        );
      },
      { timeoutMs: 90_000, describe: () => JSON.stringify(token.seen.slice(-4)) },
    );
    await waitFor(
      "the next generated value",
      () => (signing.last()?.generation ?? 0) >= killedAtGeneration.signing + 1,
      { timeoutMs: 60_000, describe: () => JSON.stringify(signing.seen.slice(-4)) },
    );
    assert.ok(
      (await counterSum(b, "nhi_rotation_steps_total")) > 0,
      "the new leader performed no rotation step",
    );

    // A new follower names the new leader.
    const c2 = await operator.start({
      args,
      env: { POD_NAME: "nhi-c", POD_IP: "127.0.0.1" },
      waitReady: false,
    });
    const third = await waitFor(
      "a new follower to name the new leader",
      async () => {
        const r = await inventoryAnswer(c2);
        return r.body.leader?.pod === "nhi-b" ? r : undefined;
      },
      { timeoutMs: 60_000, describe: (x) => JSON.stringify(x) },
    );
    assert.equal(third.body.leader?.address, `127.0.0.1:${b.port}`);
    await token.stop();
    await signing.stop();

    if (process.env.E2E_VERBOSE === "1")
      process.stderr.write(
        `leader e2e: token generations ${JSON.stringify(token.generations())}; signing ${JSON.stringify(signing.generations())}\n`,
      );
    assert.deepEqual(
      [...token.problems, ...signing.problems],
      [],
      "the credentials were not always present and valid",
    );
    for (const [name, w] of [
      ["token", token],
      ["signing", signing],
    ] as const) {
      const gens = w.generations();
      // Every generation seen, one after the other: a double rotation would skip one or come too early.
      gens.forEach((g, i) =>
        assert.equal(g.generation, i + 1, `${name}: generations seen ${JSON.stringify(gens)}`),
      );
      for (let i = 1; i < gens.length; i++) {
        const gap = Date.parse(gens[i]?.issuedAt ?? "") - Date.parse(gens[i - 1]?.issuedAt ?? "");
        // issued-at has seconds precision: a rotation due INTERVAL_S after the last issue is ≥ INTERVAL_S - 1 s later.
        assert.ok(
          gap >= (INTERVAL_S - 1) * 1000,
          `${name}: generation ${i + 1} issued ${gap} ms after generation ${i} — rotated twice? ${JSON.stringify(gens)}`,
        );
      }
      for (const s of w.seen)
        if (s.state === "Idle" && s.generation > 0)
          assert.equal(
            s.rotations,
            s.generation - 1,
            `${name}: rotations counter ${JSON.stringify(s)}`,
          );
    }
    // Every replaced token is revoked (its anchor deleted), none twice-issued.
    const last = token.last()?.generation ?? 0;
    for (const [g, t] of token.tokens) {
      if (g < last)
        await waitFor(
          `the token of generation ${g} to be revoked`,
          async () => !(await authenticates(t)),
          { timeoutMs: 20_000 },
        );
    }
    // The API server's record of who acted: every Event names the replica that wrote it; A's all
    // precede the kill, B's all follow the take-over (seconds precision).
    const bIdentity = takeover.l.spec.holderIdentity ?? "";
    const events = (
      await c.kube.must<{
        items: {
          reason: string;
          message: string;
          count?: number;
          firstTimestamp?: string;
          lastTimestamp?: string;
          reportingInstance?: string;
          involvedObject: { name: string };
        }[];
      }>("GET", `/api/v1/namespaces/${ns()}/events`)
    ).items.filter((e) => e.involvedObject.name === "ci");
    const by = (id: string): typeof events => events.filter((e) => e.reportingInstance === id);
    assert.deepEqual(
      events
        .filter((e) => e.reportingInstance !== aIdentity && e.reportingInstance !== bIdentity)
        .map((e) => e.reportingInstance),
      [],
      "events written by neither replica",
    );
    assert.ok(
      by(aIdentity).some((e) => e.reason === "CredentialRotated") &&
        by(bIdentity).some((e) => e.reason === "CredentialRotated"),
      "each leader in turn rotated",
    );
    for (const e of by(aIdentity))
      assert.ok(
        Date.parse(e.lastTimestamp ?? "") <= killedAt + 1000,
        `the killed leader wrote ${e.reason} at ${e.lastTimestamp}`,
      );
    for (const e of by(bIdentity))
      assert.ok(
        Date.parse(e.firstTimestamp ?? "") >= Math.floor(takeover.at / 1000) * 1000 - 2000,
        `the follower wrote ${e.reason} at ${e.firstTimestamp}, before it led`,
      );
    // One CredentialRotated event per generation at most (a new leader verifying again would add one).
    const rotatedEvents = events.filter((e) => e.reason === "CredentialRotated");
    const perGeneration = new Map<string, number>();
    for (const e of rotatedEvents) {
      const key =
        /credential (\w+) .*generation (\d+)/.exec(e.message)?.slice(1).join("#") ?? e.message;
      perGeneration.set(key, (perGeneration.get(key) ?? 0) + (e.count ?? 1));
    }
    for (const [k, n] of perGeneration)
      assert.ok(n <= 1, `credential#generation ${k} was verified ${n} times`);
    assert.ok((await eventsOf(ns(), "ci")).some((e) => e.reason === "CredentialRevoked"));
  });
});
