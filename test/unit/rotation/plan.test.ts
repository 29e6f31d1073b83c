import { expect } from "chai";
import fc from "fast-check";
import {
  ANNOTATIONS,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  MAX_VERIFY_ATTEMPTS,
  TOKEN_KEY,
  anchorName,
  credentialConfig,
  dueAt,
  planRotation,
  previousKey,
  readRecord,
  recordAnnotations,
  tokenRenewBeforeMs,
  withRecord,
  type AnchorView,
  type RotationInput,
  type RotationRecord,
  type RotationStep,
  type SecretView,
} from "../../../core/rotation/index.js";
import type { NHICredential } from "../../../core/nhi/types.js";

const T0 = Date.parse("2026-11-22T12:00:00Z");
const MIN = 60_000;
const HOUR = 60 * MIN;
const sat: NHICredential = {
  name: "ci",
  type: "ServiceAccountToken",
  secretName: "ci-token",
  ttl: "1h",
  renewBefore: "20m",
};
const gen: NHICredential = {
  name: "signing",
  type: "Generated",
  secretName: "signing",
  key: "key",
  length: 32,
  maxAge: "720h",
  gracePeriod: "24h",
};

const secret = (rec: RotationRecord | undefined, keys: string[], managed = true): SecretView => ({
  name: "s",
  labels: managed ? { [MANAGED_BY_LABEL]: MANAGED_BY } : {},
  annotations: rec ? withRecord({}, rec) : {},
  keys,
});
const input = (
  c: NHICredential,
  s: SecretView | undefined,
  now: number,
  extra: Partial<RotationInput> = {},
): RotationInput => ({
  credential: c,
  nhiName: "orders",
  secret: s,
  anchors: [],
  rollout: false,
  consumers: 0,
  suspended: false,
  now,
  ...extra,
});
const plan = (i: RotationInput): RotationStep =>
  planRotation(i, readRecord(i.secret?.annotations ?? {}));
const idle = (over: Partial<RotationRecord>): RotationRecord => ({
  state: "Idle",
  generation: 1,
  rotations: 0,
  ...over,
});

describe("rotation: record on the Secret", () => {
  it("round-trips through annotations and clears what it does not set", () => {
    const rec: RotationRecord = {
      state: "Revoking",
      generation: 3,
      rotations: 2,
      issuedAt: T0,
      expiresAt: T0 + HOUR,
      revokeAt: T0 + MIN,
      reason: "Renew",
      config: "ttl=1h;audiences=",
    };
    expect(readRecord(withRecord({ other: "x" }, rec))).to.deep.equal(rec);
    const back = withRecord(withRecord({}, rec), { state: "Idle", generation: 3, rotations: 3 });
    expect(back[ANNOTATIONS.state]).to.equal(undefined);
    expect(back[ANNOTATIONS.revokeAt]).to.equal(undefined);
    expect(
      recordAnnotations({ state: "Idle", generation: 0, rotations: 0 })[ANNOTATIONS.reason],
    ).to.equal(null);
  });

  it("reads garbled annotations as Idle with nothing issued, never as a half-state", () => {
    expect(
      readRecord({
        [ANNOTATIONS.state]: "Exploding",
        [ANNOTATIONS.generation]: "-1",
        [ANNOTATIONS.issuedAt]: "yesterday",
      }),
    ).to.deep.equal({ state: "Idle", generation: 0, rotations: 0 });
  });
});

describe("rotation: when a credential is due (fake clock)", () => {
  const table: Array<
    [string, NHICredential, RotationRecord, string[], number, RotationStep["kind"], string?]
  > = [
    [
      "token fresh",
      sat,
      idle({ issuedAt: T0, expiresAt: T0 + HOUR, config: credentialConfig(sat) }),
      [TOKEN_KEY],
      T0 + 39 * MIN,
      "Idle",
    ],
    [
      "token at renewBefore",
      sat,
      idle({ issuedAt: T0, expiresAt: T0 + HOUR, config: credentialConfig(sat) }),
      [TOKEN_KEY],
      T0 + 40 * MIN,
      "Begin",
      "Renew",
    ],
    [
      "token expired",
      sat,
      idle({ issuedAt: T0, expiresAt: T0 + HOUR }),
      [TOKEN_KEY],
      T0 + 2 * HOUR,
      "Begin",
      "Expired",
    ],
    [
      "token key missing",
      sat,
      idle({ issuedAt: T0, expiresAt: T0 + HOUR }),
      [],
      T0,
      "Begin",
      "Missing",
    ],
    [
      "token ttl changed",
      sat,
      idle({ issuedAt: T0, expiresAt: T0 + HOUR, config: "ttl=2h;audiences=" }),
      [TOKEN_KEY],
      T0,
      "Begin",
      "ConfigChanged",
    ],
    [
      "generated fresh",
      gen,
      idle({ issuedAt: T0, config: credentialConfig(gen) }),
      ["key"],
      T0 + 719 * HOUR,
      "Idle",
    ],
    [
      "generated at maxAge",
      gen,
      idle({ issuedAt: T0, config: credentialConfig(gen) }),
      ["key"],
      T0 + 720 * HOUR,
      "Begin",
      "MaxAge",
    ],
    [
      "generated length changed",
      gen,
      idle({ issuedAt: T0, config: "key=key;length=16;encoding=base64" }),
      ["key"],
      T0,
      "Begin",
      "ConfigChanged",
    ],
    ["nothing issued yet", gen, idle({ generation: 0 }), [], T0, "Begin", "Missing"],
  ];
  for (const [name, c, rec, keys, now, kind, reason] of table) {
    it(`${name} → ${kind}${reason ? ` (${reason})` : ""}`, () => {
      const step = plan(input(c, secret(rec, keys), now));
      expect(step.kind).to.equal(kind);
      if (step.kind === "Begin") {
        expect(step.record.reason).to.equal(reason);
        expect(step.record.state).to.equal("Issuing");
        expect(step.record.target).to.equal(rec.generation + 1);
      }
    });
  }

  it("a rotation requested (onAnomaly: Rotate) after the value was issued begins one (Requested); one before it does not", () => {
    const rec = idle({ issuedAt: T0, expiresAt: T0 + HOUR, config: credentialConfig(sat) });
    const requested = (at: number): SecretView => {
      const s = secret(rec, [TOKEN_KEY]);
      return {
        ...s,
        annotations: {
          ...s.annotations,
          [ANNOTATIONS.rotateRequestedAt]: new Date(at).toISOString(),
        },
      };
    };
    const step = plan(input(sat, requested(T0 + MIN), T0 + 2 * MIN));
    expect(step.kind).to.equal("Begin");
    if (step.kind === "Begin") expect(step.record.reason).to.equal("Requested");
    expect(plan(input(sat, requested(T0 - MIN), T0 + 2 * MIN)).kind).to.equal("Idle");
    // In the very second of the issue (both annotations hold whole seconds): not ignored.
    expect(plan(input(sat, requested(T0), T0 + 2 * MIN)).kind).to.equal("Begin");
    const g = idle({ issuedAt: T0, config: credentialConfig(gen) });
    const gs = secret(g, ["key"]);
    gs.annotations[ANNOTATIONS.rotateRequestedAt] = new Date(T0 + MIN).toISOString();
    expect(plan(input(gen, gs, T0 + 2 * MIN)).kind).to.equal("Begin");
  });

  it("renews a token at a third of its ttl when renewBefore is unset", () => {
    expect(tokenRenewBeforeMs({ ...sat, renewBefore: undefined, ttl: "3h" })).to.equal(HOUR);
  });

  it("renews at a third of the lifetime actually issued when the API server shortened the token", () => {
    // Asked for 1h with renewBefore 20m, got 15m: renewing "20m before" would loop forever.
    const rec = idle({ issuedAt: T0, expiresAt: T0 + 15 * MIN });
    expect(dueAt(sat, rec)).to.equal(T0 + 10 * MIN);
  });

  it("reports the next due time while idle", () => {
    const step = plan(
      input(
        sat,
        secret(idle({ issuedAt: T0, expiresAt: T0 + HOUR, config: credentialConfig(sat) }), [
          TOKEN_KEY,
        ]),
        T0,
      ),
    );
    expect(step).to.deep.equal({ kind: "Idle", nextAt: T0 + 40 * MIN });
  });
});

describe("rotation: the two phases", () => {
  it("creates a missing Secret with the intent recorded and no data", () => {
    const step = plan(input(sat, undefined, T0));
    expect(step.kind).to.equal("Create");
    if (step.kind !== "Create") return;
    expect(step.labels).to.include({
      [MANAGED_BY_LABEL]: MANAGED_BY,
      "nhi.io/nhi": "orders",
      "nhi.io/credential": "ci",
    });
    expect(step.record).to.include({ state: "Issuing", generation: 0, target: 1 });
  });

  it("never overwrites a Secret it does not manage", () => {
    const step = plan(input(gen, secret(undefined, ["key"], false), T0));
    expect(step).to.include({ kind: "Blocked", reason: "NotManaged" });
  });

  it("issues a token bound to the next generation's anchor and moves to Verifying in the same write", () => {
    const rec: RotationRecord = {
      state: "Issuing",
      generation: 4,
      target: 5,
      rotations: 3,
      reason: "Renew",
      startedAt: T0,
      issuedAt: T0 - HOUR,
      expiresAt: T0 + 20 * MIN,
    };
    const step = plan(input(sat, secret(rec, [TOKEN_KEY]), T0 + 1000));
    expect(step.kind).to.equal("Issue");
    if (step.kind !== "Issue") return;
    expect(step.generation).to.equal(5);
    expect(step.anchor).to.equal(anchorName("s", 5));
    expect(step.record).to.include({ state: "Verifying", generation: 5, issuedAt: T0 + 1000 });
    expect(step.record.expiresAt, "the edge fills it from the TokenRequest answer").to.equal(
      undefined,
    );
    expect(step.record.target).to.equal(undefined);
  });

  it("keeps the old generated value under .previous when issuing", () => {
    const step = plan(
      input(
        gen,
        secret({ state: "Issuing", generation: 1, target: 2, rotations: 0, reason: "MaxAge" }, [
          "key",
        ]),
        T0,
      ),
    );
    expect(step).to.include({ kind: "Issue", shiftPrevious: true, generation: 2 });
  });

  it("verifies before anything is revoked, then waits out the grace period", () => {
    const rec: RotationRecord = { state: "Verifying", generation: 2, rotations: 0, issuedAt: T0 };
    const step = plan(input(gen, secret(rec, ["key", previousKey("key")]), T0));
    expect(step.kind).to.equal("Verify");
    if (step.kind !== "Verify") return;
    expect(step.onSuccess).to.include({ state: "Revoking", revokeAt: T0 + 24 * HOUR });
    const waiting = plan(
      input(gen, secret(step.onSuccess, ["key", previousKey("key")]), T0 + HOUR),
    );
    expect(waiting).to.deep.equal({ kind: "Wait", until: T0 + 24 * HOUR });
    const revoke = plan(
      input(gen, secret(step.onSuccess, ["key", previousKey("key")]), T0 + 24 * HOUR),
    );
    expect(revoke).to.deep.include({ kind: "Revoke", dropKeys: [previousKey("key")], anchors: [] });
    if (revoke.kind === "Revoke")
      expect(revoke.record).to.include({ state: "Idle", generation: 2, rotations: 1 });
  });

  it("revokes the old token by the time the new one is due when the overlap is longer (ttl 10m, renewBefore 9m50s)", () => {
    const fast: NHICredential = {
      name: "ci",
      type: "ServiceAccountToken",
      secretName: "ci-token",
      ttl: "10m",
      renewBefore: "9m50s",
    };
    const rec: RotationRecord = {
      state: "Verifying",
      generation: 2,
      rotations: 0,
      issuedAt: T0,
      expiresAt: T0 + 10 * MIN,
    };
    const v = plan(input(fast, secret(rec, [TOKEN_KEY]), T0 + 2000));
    expect(v.kind).to.equal("Verify");
    if (v.kind === "Verify")
      expect(v.onSuccess).to.include({ state: "Revoking", revokeAt: T0 + 10_000 });
    // A token whose renewal is far off keeps the whole overlap.
    const slow = plan(input(sat, secret({ ...rec, expiresAt: T0 + HOUR }, [TOKEN_KEY]), T0 + 2000));
    if (slow.kind === "Verify")
      expect(slow.onSuccess).to.include({ revokeAt: T0 + 2000 + 2 * MIN });
  });

  it("rotates a token due 10 s after each issue every ~10 s (fake clock, default overlap)", () => {
    const fast: NHICredential = {
      name: "ci",
      type: "ServiceAccountToken",
      secretName: "ci-token",
      ttl: "10m",
      renewBefore: "9m50s",
    };
    let rec: RotationRecord = { state: "Idle", generation: 0, rotations: 0 };
    let keys: string[] = [];
    let anchors: AnchorView[] = [];
    const issuedAt: number[] = [];
    for (let now = T0; now < T0 + 60_000; now += 500) {
      const step = plan(input(fast, secret(rec, keys), now, { anchors }));
      switch (step.kind) {
        case "Create":
        case "Begin":
          rec = step.record;
          break;
        case "Issue":
          rec = { ...step.record, expiresAt: now + 10 * MIN };
          keys = [TOKEN_KEY];
          anchors = [
            ...anchors,
            { name: anchorName("s", step.generation), generation: step.generation },
          ];
          issuedAt.push(now);
          break;
        case "Verify":
          rec = step.onSuccess;
          break;
        case "Revoke":
          rec = step.record;
          anchors = anchors.filter((a) => !step.anchors.includes(a.name));
          break;
        default:
      }
    }
    expect(
      issuedAt.length,
      `issued at ${issuedAt.map((t) => (t - T0) / 1000).join(", ")} s`,
    ).to.be.at.least(5);
    for (let i = 1; i < issuedAt.length; i++)
      expect((issuedAt[i] ?? 0) - (issuedAt[i - 1] ?? 0)).to.be.at.most(11_000);
    expect(anchors.length).to.be.at.most(2);
  });

  it("restarts consumers between verification and revocation when rollout is on", () => {
    const rec: RotationRecord = { state: "Verifying", generation: 2, rotations: 0, issuedAt: T0 };
    const anchors: AnchorView[] = [
      { name: anchorName("s", 1), generation: 1 },
      { name: anchorName("s", 2), generation: 2 },
    ];
    const v = plan(
      input(sat, secret(rec, [TOKEN_KEY]), T0, { rollout: true, consumers: 2, anchors }),
    );
    expect(v.kind).to.equal("Verify");
    if (v.kind !== "Verify") return;
    expect(v.onSuccess.state).to.equal("RollingOut");
    const r = plan(
      input(sat, secret(v.onSuccess, [TOKEN_KEY]), T0 + 1000, {
        rollout: true,
        consumers: 2,
        anchors,
      }),
    );
    expect(r.kind).to.equal("Rollout");
    if (r.kind !== "Rollout") return;
    expect(r.record).to.include({ state: "Revoking", revokeAt: T0 + 1000 + 2 * MIN });
    const k = plan(input(sat, secret(r.record, [TOKEN_KEY]), T0 + 1000 + 2 * MIN, { anchors }));
    expect(k).to.deep.include({ kind: "Revoke", anchors: [anchorName("s", 1)] });
  });

  it("retries a failed verification, then issues a fresh value without shifting the bad one to .previous", () => {
    let rec: RotationRecord = { state: "Verifying", generation: 2, rotations: 0, issuedAt: T0 };
    for (let i = 1; i < MAX_VERIFY_ATTEMPTS; i++) {
      const s = plan(input(gen, secret(rec, ["key", previousKey("key")]), T0));
      if (s.kind !== "Verify") throw new Error(s.kind);
      rec = s.onFailure;
      expect(rec).to.include({ state: "Verifying", verifyAttempts: i });
    }
    const last = plan(input(gen, secret(rec, ["key", previousKey("key")]), T0));
    if (last.kind !== "Verify") throw new Error(last.kind);
    expect(last.onFailure).to.include({ state: "Issuing", target: 3, reason: "VerifyFailed" });
    const again = plan(input(gen, secret(last.onFailure, ["key", previousKey("key")]), T0));
    expect(again).to.include({ kind: "Issue", generation: 3, shiftPrevious: false });
  });

  it("issues nothing while suspended, and cleans up anchors of other generations when idle", () => {
    expect(plan(input(sat, undefined, T0, { suspended: true }))).to.deep.equal({
      kind: "Suspended",
    });
    const rec = idle({
      generation: 3,
      issuedAt: T0,
      expiresAt: T0 + HOUR,
      config: credentialConfig(sat),
    });
    expect(plan(input(sat, secret(rec, [TOKEN_KEY]), T0, { suspended: true }))).to.deep.equal({
      kind: "Suspended",
    });
    const stray = plan(
      input(sat, secret(rec, [TOKEN_KEY]), T0, {
        anchors: [
          { name: "a2", generation: 2 },
          { name: "a3", generation: 3 },
        ],
      }),
    );
    expect(stray).to.deep.include({ kind: "Revoke", anchors: ["a2"] });
  });
});

// A model of the edge: performs steps against an in-memory Secret, and may crash before any write.
// Invariants checked after every step, crash or not:
//  - once a value was first verified, the Secret always holds a value whose token/anchor is valid;
//  - an old value is revoked only after a newer one was verified;
//  - the machine always reaches Idle with a newer generation (no rotation is lost).
interface World {
  exists: boolean;
  annotations: Record<string, string>;
  keys: Set<string>;
  /** generation of the value under key / key.previous. */
  current?: number;
  previous?: number;
  anchors: Set<number>;
  verified: Set<number>;
}

function view(w: World): SecretView | undefined {
  return w.exists
    ? {
        name: "s",
        labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
        annotations: w.annotations,
        keys: [...w.keys],
      }
    : undefined;
}

function perform(
  w: World,
  step: RotationStep,
  c: NHICredential,
  now: number,
  crashBeforeWrite: boolean,
): void {
  const write = (rec: RotationRecord): void => {
    w.annotations = withRecord(w.annotations, rec);
  };
  if (crashBeforeWrite) return;
  const key = c.type === "ServiceAccountToken" ? TOKEN_KEY : "key";
  switch (step.kind) {
    case "Create":
      w.exists = true;
      write(step.record);
      return;
    case "Begin":
      write(step.record);
      return;
    case "Issue": {
      if (step.anchor !== undefined) w.anchors.add(step.generation);
      if (step.shiftPrevious && w.current !== undefined) {
        w.previous = w.current;
        w.keys.add(previousKey(key));
      }
      w.current = step.generation;
      w.keys.add(key);
      write(
        c.type === "ServiceAccountToken" ? { ...step.record, expiresAt: now + HOUR } : step.record,
      );
      return;
    }
    case "Verify": {
      const ok =
        w.current === step.generation &&
        (c.type !== "ServiceAccountToken" || w.anchors.has(step.generation));
      if (ok) w.verified.add(step.generation);
      write(ok ? step.onSuccess : step.onFailure);
      return;
    }
    case "Rollout":
      write(step.record);
      return;
    case "Revoke": {
      for (const a of step.anchors) {
        const g = Number(/-nhi-g(\d+)$/.exec(a)?.[1]);
        expect(
          w.verified.has(readRecord(w.annotations).generation),
          "revoking before the new value was verified",
        ).to.equal(true);
        w.anchors.delete(g);
      }
      if (step.dropKeys.length > 0) {
        w.keys.delete(previousKey(key));
        w.previous = undefined;
      }
      write(step.record);
      return;
    }
    default:
      return;
  }
}

function anchorsOf(w: World): AnchorView[] {
  return [...w.anchors].map((g) => ({ name: anchorName("s", g), generation: g }));
}

for (const c of [sat, gen]) {
  describe(`rotation: crash-safety of ${c.type} (property)`, () => {
    it("resumes from any crash point, never leaves the Secret without a valid value, and completes", () => {
      fc.assert(
        fc.property(
          fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
          fc.boolean(),
          (crashes, rollout) => {
            const w: World = {
              exists: false,
              annotations: {},
              keys: new Set(),
              anchors: new Set(),
              verified: new Set(),
            };
            let now = T0;
            const run = (until: (w: World) => boolean): void => {
              for (let i = 0; i < 200 && !until(w); i++) {
                const step = planRotation(
                  input(c, view(w), now, { anchors: anchorsOf(w), rollout, consumers: 1 }),
                  readRecord(w.annotations),
                );
                if (step.kind === "Wait") now = step.until;
                else if (step.kind === "Idle") now = step.nextAt ?? now + HOUR;
                const crash = crashes[i % crashes.length] === true && i < crashes.length;
                perform(w, step, c, now, crash);
                now += 1000;
                // Once the first value was verified, what the Secret holds is valid: its anchor exists (tokens).
                if (
                  w.verified.size > 0 &&
                  c.type === "ServiceAccountToken" &&
                  w.current !== undefined
                ) {
                  expect(
                    w.anchors.has(w.current),
                    `token of generation ${w.current} revoked while stored`,
                  ).to.equal(true);
                }
              }
            };
            run(
              (x) =>
                readRecord(x.annotations).state === "Idle" &&
                readRecord(x.annotations).generation === 1,
            );
            expect(readRecord(w.annotations).generation).to.equal(1);
            // Force a rotation by moving the clock past the due time.
            now += 800 * HOUR;
            run(
              (x) =>
                readRecord(x.annotations).state === "Idle" &&
                readRecord(x.annotations).generation >= 2,
            );
            const rec = readRecord(w.annotations);
            expect(rec.generation).to.equal(2);
            expect(rec.rotations).to.equal(1);
            expect(w.verified.has(2)).to.equal(true);
            if (c.type === "ServiceAccountToken") expect([...w.anchors]).to.deep.equal([2]);
            else
              expect(
                w.keys.has(previousKey("key")),
                ".previous dropped after the grace period",
              ).to.equal(false);
          },
        ),
        { numRuns: 200 },
      );
    });
  });
}
