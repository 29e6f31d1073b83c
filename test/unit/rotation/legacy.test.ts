import { expect } from "chai";
import fc from "fast-check";
import {
  ANNOTATIONS,
  DEFAULT_LEGACY_MAX_AGE_MS,
  LEGACY_ANNOTATIONS,
  LEGACY_FILL_PATIENCE_MS,
  LEGACY_INVALID_SINCE,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  TOKEN_KEY,
  formatTime,
  legacyDueAt,
  legacyRecordAnnotations,
  legacyRotationWanted,
  planLegacyRotation,
  readLegacyRecord,
  retargetSecret,
  successorName,
  type LegacyRecord,
  type LegacyRotationInput,
  type LegacySecretView,
  type LegacyStep,
} from "../../../core/rotation/index.js";
import {
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
} from "../../../core/snapshot.js";
import type { PodSpec } from "../../../core/workloads/pod-template.js";
import {
  retargetWorkload,
  switchableConsumers,
} from "../../../operator/controllers/credentials/decide.js";
import type { WorkloadObject } from "../../../core/snapshot.js";

const T0 = Date.parse("2026-11-22T12:00:00Z");
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const SA = "reporter";

const applyRecord = (ann: Record<string, string>, rec: LegacyRecord): Record<string, string> => {
  const out = { ...ann };
  for (const [k, v] of Object.entries(legacyRecordAnnotations(rec))) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
};

const token = (name: string, over: Partial<LegacySecretView> = {}): LegacySecretView => ({
  name,
  type: SERVICE_ACCOUNT_TOKEN_TYPE,
  labels: {},
  annotations: { [SERVICE_ACCOUNT_NAME_ANNOTATION]: SA },
  keys: [TOKEN_KEY],
  creationTimestamp: formatTime(T0 - 400 * DAY),
  ...over,
});
const issued = (
  name: string,
  of: string,
  createdAt: number,
  keys = [TOKEN_KEY],
): LegacySecretView =>
  token(name, {
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
    annotations: { [SERVICE_ACCOUNT_NAME_ANNOTATION]: SA, [LEGACY_ANNOTATIONS.successorOf]: of },
    keys,
    creationTimestamp: formatTime(createdAt),
  });
const input = (
  secret: LegacySecretView,
  now: number,
  over: Partial<LegacyRotationInput> = {},
): LegacyRotationInput => ({
  nhiName: "reporter",
  serviceAccountName: SA,
  secret,
  successor: undefined,
  consumers: [],
  podsOnOld: [],
  suspended: false,
  maxAgeMs: DEFAULT_LEGACY_MAX_AGE_MS,
  overlapMs: 2 * MIN,
  now,
  ...over,
});
const plan = (i: LegacyRotationInput): LegacyStep =>
  planLegacyRotation(i, readLegacyRecord(i.secret.annotations));
const inState = (s: LegacySecretView, rec: LegacyRecord): LegacySecretView => ({
  ...s,
  annotations: applyRecord(s.annotations, rec),
});

describe("legacy rotation: names and records", () => {
  it("derives the successor's name from the old one and counts up", () => {
    expect(successorName("reporter-token")).to.equal("reporter-token-nhi-r1");
    expect(successorName("reporter-token-nhi-r1")).to.equal("reporter-token-nhi-r2");
    expect(successorName("x-nhi-r41")).to.equal("x-nhi-r42");
    const long = successorName("a".repeat(253));
    expect(long.length).to.be.at.most(253);
    expect(long.endsWith("-nhi-r1")).to.equal(true);
  });

  it("round-trips the record and reads a half-state without a successor as Idle", () => {
    const rec: LegacyRecord = {
      state: "Overlap",
      successor: "s2",
      startedAt: T0,
      revokeAt: T0 + MIN,
    };
    expect(readLegacyRecord(applyRecord({ x: "y" }, rec))).to.deep.equal(rec);
    expect(readLegacyRecord({ [LEGACY_ANNOTATIONS.state]: "Creating" })).to.deep.equal({
      state: "Idle",
    });
    expect(
      readLegacyRecord({
        [LEGACY_ANNOTATIONS.state]: "Exploding",
        [LEGACY_ANNOTATIONS.successor]: "s",
      }),
    ).to.deep.equal({ state: "Idle", successor: "s" });
    expect(applyRecord(applyRecord({}, rec), { state: "Idle" })).to.deep.equal({});
  });
});

const requested = (s: LegacySecretView): LegacySecretView => ({
  ...s,
  annotations: { ...s.annotations, [ANNOTATIONS.rotateRequestedAt]: formatTime(T0 - MIN) },
});

describe("legacy rotation: when (fake clock)", () => {
  const cases: {
    name: string;
    secret: LegacySecretView;
    now: number;
    maxAgeMs?: number;
    expect: Partial<LegacyStep>;
  }[] = [
    {
      name: "a token the operator did not issue: at once",
      secret: token("t"),
      now: T0,
      expect: { kind: "Begin", reason: "NotIssuedByOperator" },
    },
    {
      name: "a token created a minute ago by someone else: at once too",
      secret: token("t", { creationTimestamp: formatTime(T0 - MIN) }),
      now: T0,
      expect: { kind: "Begin" },
    },
    {
      name: "an issued token younger than 90 days: idle until then",
      secret: issued("t-nhi-r1", "t", T0 - 10 * DAY),
      now: T0,
      expect: { kind: "Idle", nextAt: T0 + 80 * DAY },
    },
    {
      name: "an issued token at 90 days: rotated",
      secret: issued("t-nhi-r1", "t", T0 - 90 * DAY),
      now: T0,
      expect: { kind: "Begin", reason: "MaxAge" },
    },
    {
      name: "maxCredentialAge 1h: an issued token of 2h is due",
      secret: issued("t-nhi-r1", "t", T0 - 120 * MIN),
      now: T0,
      maxAgeMs: 60 * MIN,
      expect: { kind: "Begin", reason: "MaxAge" },
    },
    {
      name: "maxCredentialAge 1h: an issued token of 30m waits 30m",
      secret: issued("t-nhi-r1", "t", T0 - 30 * MIN),
      now: T0,
      maxAgeMs: 60 * MIN,
      expect: { kind: "Idle", nextAt: T0 + 30 * MIN },
    },
    {
      name: "a token the cleanup controller marked invalid: left alone",
      secret: token("t", { labels: { [LEGACY_INVALID_SINCE]: "2026-01-01" } }),
      now: T0,
      expect: { kind: "Idle" },
    },
    {
      name: "an issued token younger than 90 days whose replacement was requested (onAnomaly: Rotate): at once",
      secret: requested(issued("t-nhi-r1", "t", T0 - 10 * DAY)),
      now: T0,
      expect: { kind: "Begin", reason: "Requested" },
    },
    {
      name: "a token the operator did not issue, requested: at once, the reason says requested",
      secret: requested(token("t")),
      now: T0,
      expect: { kind: "Begin", reason: "Requested" },
    },
    {
      name: "a requested token marked invalid: replaced (it authenticated, so it was replayed)",
      secret: requested(token("t", { labels: { [LEGACY_INVALID_SINCE]: "2026-01-01" } })),
      now: T0,
      expect: { kind: "Begin", reason: "Requested" },
    },
    {
      name: "a requested token of another account: not ours",
      secret: requested(
        token("t", { annotations: { [SERVICE_ACCOUNT_NAME_ANNOTATION]: "other" } }),
      ),
      now: T0,
      expect: { kind: "Idle" },
    },
    {
      name: "a token of another account: not ours",
      secret: token("t", { annotations: { [SERVICE_ACCOUNT_NAME_ANNOTATION]: "other" } }),
      now: T0,
      expect: { kind: "Idle" },
    },
    {
      name: "an Opaque Secret: not a legacy token",
      secret: token("t", { type: "Opaque" }),
      now: T0,
      expect: { kind: "Idle" },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(
        plan(input(c.secret, c.now, c.maxAgeMs !== undefined ? { maxAgeMs: c.maxAgeMs } : {})),
      ).to.deep.include(c.expect);
    });
  }

  it("a requested rotation is wanted until its Secret is gone; one under way is wanted too", () => {
    expect(legacyRotationWanted(token("t").annotations)).to.equal(false);
    expect(legacyRotationWanted(requested(token("t")).annotations)).to.equal(true);
    expect(
      legacyRotationWanted(
        inState(token("t"), { state: "Overlap", successor: "t-nhi-r1", revokeAt: T0 }).annotations,
      ),
    ).to.equal(true);
    expect(legacyRotationWanted(undefined)).to.equal(false);
    // A requested token of a suspended identity starts nothing either (Suspend covers it).
    expect(plan(input(requested(token("t")), T0, { suspended: true }))).to.deep.equal({
      kind: "Suspended",
    });
  });

  it("the successor is named in the intent, and a suspended identity starts nothing", () => {
    expect(plan(input(token("t"), T0))).to.deep.include({
      record: { state: "Creating", successor: "t-nhi-r1", startedAt: T0 },
    });
    expect(plan(input(token("t"), T0, { suspended: true }))).to.deep.equal({ kind: "Suspended" });
    expect(legacyDueAt(issued("t-nhi-r1", "t", T0), DAY)).to.equal(T0 + DAY);
  });
});

describe("legacy rotation: steps", () => {
  const creating = inState(token("t"), { state: "Creating", successor: "t-nhi-r1", startedAt: T0 });
  const overlap = inState(token("t"), {
    state: "Overlap",
    successor: "t-nhi-r1",
    startedAt: T0,
    revokeAt: T0 + 2 * MIN,
  });
  const filled = issued("t-nhi-r1", "t", T0);
  const empty = issued("t-nhi-r1", "t", T0, []);

  it("creates the successor for the account, labelled and linked to the old Secret", () => {
    const s = plan(input(creating, T0));
    expect(s).to.deep.equal({
      kind: "CreateSuccessor",
      name: "t-nhi-r1",
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, "nhi.io/nhi": "reporter" },
      annotations: {
        [SERVICE_ACCOUNT_NAME_ANNOTATION]: SA,
        [LEGACY_ANNOTATIONS.successorOf]: "t",
        [LEGACY_ANNOTATIONS.rotations]: "1",
      },
    });
  });

  it("waits for the token controller to fill it, and says so after a while", () => {
    const w = plan(input(creating, T0 + MIN, { successor: empty }));
    expect(w).to.deep.include({ kind: "Wait" });
    expect(w).to.not.have.property("message");
    expect(plan(input(creating, T0 + LEGACY_FILL_PATIENCE_MS, { successor: empty })))
      .to.have.property("message")
      .that.matches(/has not filled Secret t-nhi-r1/);
  });

  it("switches the consumers once it is filled, and records the overlap", () => {
    expect(
      plan(input(creating, T0 + MIN, { successor: filled, consumers: ["Deployment/api"] })),
    ).to.deep.equal({
      kind: "Switch",
      successor: "t-nhi-r1",
      workloads: ["Deployment/api"],
      record: { state: "Overlap", successor: "t-nhi-r1", startedAt: T0, revokeAt: T0 + 3 * MIN },
    });
  });

  it("never deletes the old Secret while a pod consumes it, before the overlap, or without a filled successor", () => {
    expect(
      plan(input(overlap, T0 + 10 * MIN, { successor: filled, podsOnOld: ["Pod/api-1"] })),
    ).to.deep.include({ kind: "Wait" });
    expect(plan(input(overlap, T0 + MIN, { successor: filled }))).to.deep.equal({
      kind: "Wait",
      until: T0 + 2 * MIN,
    });
    expect(plan(input(overlap, T0 + 10 * MIN, { successor: undefined }))).to.deep.include({
      kind: "Begin",
      record: { state: "Creating", successor: "t-nhi-r1", startedAt: T0 },
    });
    expect(plan(input(overlap, T0 + 10 * MIN, { successor: empty }))).to.deep.include({
      kind: "Begin",
    });
    expect(plan(input(overlap, T0 + 2 * MIN, { successor: filled }))).to.deep.equal({
      kind: "Revoke",
      secret: "t",
      successor: "t-nhi-r1",
    });
  });

  it("switches a workload that references the old Secret again during the overlap, restarting the overlap", () => {
    expect(
      plan(input(overlap, T0 + 10 * MIN, { successor: filled, consumers: ["CronJob/report"] })),
    ).to.deep.include({
      kind: "Switch",
      workloads: ["CronJob/report"],
      record: { state: "Overlap", successor: "t-nhi-r1", startedAt: T0, revokeAt: T0 + 12 * MIN },
    });
  });

  it("refuses a successor name taken by a Secret that is not this rotation's", () => {
    const foreign = token("t-nhi-r1", { annotations: { [SERVICE_ACCOUNT_NAME_ANNOTATION]: SA } });
    expect(plan(input(creating, T0, { successor: foreign }))).to.deep.include({ kind: "Blocked" });
    expect(plan(input(overlap, T0 + 10 * MIN, { successor: foreign }))).to.deep.include({
      kind: "Blocked",
    });
  });

  it("finishes a started rotation of a suspended identity only when its successor exists", () => {
    expect(plan(input(creating, T0, { suspended: true }))).to.deep.equal({ kind: "Suspended" });
    expect(plan(input(creating, T0, { suspended: true, successor: filled }))).to.deep.include({
      kind: "Switch",
    });
  });
});

describe("legacy rotation: rewriting references", () => {
  const spec: PodSpec & { restartPolicy: string } = {
    restartPolicy: "Always",
    volumes: [
      { name: "a", secret: { secretName: "t" } },
      {
        name: "b",
        projected: { sources: [{ secret: { name: "t" } }, { secret: { name: "other" } }] },
      },
      { name: "c", secret: { secretName: "x" } },
    ],
    containers: [
      {
        name: "app",
        env: [
          { name: "TOKEN", valueFrom: { secretKeyRef: { name: "t", key: "token" } } },
          { name: "OTHER", valueFrom: { secretKeyRef: { name: "x", key: "k" } } },
        ],
        envFrom: [{ secretRef: { name: "t" } }],
      },
    ],
    initContainers: [{ name: "init", envFrom: [{ secretRef: { name: "t" } }] }],
  };

  it("rewrites volume, projected, env and envFrom references and nothing else", () => {
    const out = retargetSecret(spec, "t", "t2");
    expect(JSON.stringify(out)).to.not.match(/"t"/);
    expect(out.restartPolicy).to.equal("Always");
    expect(out.volumes?.[1]?.projected?.sources?.[1]?.secret?.name).to.equal("other");
    expect(out.containers?.[0]?.env?.[1]?.valueFrom?.secretKeyRef).to.deep.equal({
      name: "x",
      key: "k",
    });
    expect(out.containers?.[0]?.env?.[0]?.valueFrom?.secretKeyRef).to.deep.equal({
      name: "t2",
      key: "token",
    });
    expect(JSON.stringify(spec)).to.match(/"t"/); // the input is not modified
    expect(retargetSecret(spec, "nobody", "t2")).to.equal(spec);
  });

  it("finds and rewrites the template of Deployments and CronJobs", () => {
    const dep = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: "ns", resourceVersion: "7" },
      spec: { replicas: 2, template: { metadata: { labels: { a: "b" } }, spec } },
    } as unknown as WorkloadObject;
    const cj = {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "r", namespace: "ns" },
      spec: { schedule: "@daily", jobTemplate: { spec: { template: { spec } } } },
    } as unknown as WorkloadObject;
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "ns" },
      spec,
    } as unknown as WorkloadObject;
    expect(switchableConsumers([dep, cj, pod], "t")).to.deep.equal(["CronJob/r", "Deployment/api"]);
    const d2 = retargetWorkload(dep, "t", "t2");
    expect(d2?.metadata).to.deep.equal(dep.metadata);
    expect(switchableConsumers([d2 as WorkloadObject], "t")).to.deep.equal([]);
    expect(switchableConsumers([d2 as WorkloadObject], "t2")).to.deep.equal(["Deployment/api"]);
    expect(
      switchableConsumers([retargetWorkload(cj, "t", "t2") as WorkloadObject], "t2"),
    ).to.deep.equal(["CronJob/r"]);
    expect(retargetWorkload(dep, "nobody", "t2")).to.equal(undefined);
  });
});

// A model of the edge and the cluster: the token controller fills a token Secret after some ticks,
// workloads roll out (their pods follow the template after some ticks), and the operator may crash
// before any write or halfway through switching the workloads. Invariants after every tick:
//  - every workload template and every live pod references a Secret that exists and holds a token;
//  - the old Secret is deleted only after every template and pod moved to a filled successor;
//  - the rotation always completes: the old Secret is gone, everything uses the successor.
interface Sim {
  secrets: Map<string, LegacySecretView>;
  /** workload → Secret its template references; pod → Secret it was started with. */
  templates: Map<string, string>;
  pods: Map<string, string>;
  /** ticks left until the token controller fills a Secret. */
  fillIn: Map<string, number>;
}

function tick(sim: Sim, rolloutLag: number, t: number): void {
  for (const [name, left] of sim.fillIn) {
    if (left <= 0) {
      const s = sim.secrets.get(name);
      if (s) sim.secrets.set(name, { ...s, keys: [TOKEN_KEY] });
      sim.fillIn.delete(name);
    } else sim.fillIn.set(name, left - 1);
  }
  // Pods follow their template after a lag (a rollout); a bare pod ("Pod/bare") never changes.
  if (t % (rolloutLag + 1) === 0)
    for (const [w, ref] of sim.templates) if (sim.pods.has(w)) sim.pods.set(w, ref);
}

function checkInvariants(sim: Sim): void {
  const valid = (name: string): boolean => sim.secrets.get(name)?.keys.includes(TOKEN_KEY) === true;
  for (const [w, ref] of sim.templates)
    expect(valid(ref), `${w} references ${ref}, which holds no token`).to.equal(true);
  for (const [p, ref] of sim.pods)
    expect(valid(ref), `${p} runs with ${ref}, which holds no token`).to.equal(true);
}

describe("legacy rotation: crash-safety (property)", () => {
  it("resumes from any crash point, never leaves a consumer without a valid token, and completes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 60, maxLength: 60 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        (crashes, fillLag, rolloutLag, nWorkloads, lateWorkload) => {
          const sim: Sim = {
            secrets: new Map([["t", token("t")]]),
            templates: new Map(),
            pods: new Map(),
            fillIn: new Map(),
          };
          for (let i = 0; i < nWorkloads; i++) {
            sim.templates.set(`Deployment/w${i}`, "t");
            sim.pods.set(`Deployment/w${i}`, "t");
          }
          let now = T0;
          let createdSuccessor = false;
          for (let i = 0; i < 400; i++) {
            now += 30_000;
            tick(sim, rolloutLag, i);
            // A workload created meanwhile that still references the old Secret.
            if (lateWorkload && i === 6 && sim.secrets.has("t"))
              sim.templates.set("StatefulSet/late", "t");
            const old = sim.secrets.get("t");
            if (!old) break;
            const rec = readLegacyRecord(old.annotations);
            const succName = rec.successor;
            const step = planLegacyRotation(
              input(old, now, {
                successor: succName !== undefined ? sim.secrets.get(succName) : undefined,
                consumers: [...sim.templates]
                  .filter(([, r]) => r === "t")
                  .map(([w]) => w)
                  .sort(),
                podsOnOld: [...sim.pods].filter(([, r]) => r === "t").map(([p]) => p),
              }),
              rec,
            );
            // 0: no crash; 1: crash before any write; 2: crash halfway through (Switch: first workload only); 3: no crash.
            const crash = i < crashes.length ? (crashes[i] ?? 0) : 0;
            const write = (r: LegacyRecord): void => {
              sim.secrets.set("t", { ...old, annotations: applyRecord(old.annotations, r) });
            };
            if (crash !== 1) {
              switch (step.kind) {
                case "Begin":
                  write(step.record);
                  break;
                case "CreateSuccessor":
                  if (!sim.secrets.has(step.name)) {
                    sim.secrets.set(step.name, {
                      name: step.name,
                      type: SERVICE_ACCOUNT_TOKEN_TYPE,
                      labels: step.labels,
                      annotations: step.annotations,
                      keys: [],
                      creationTimestamp: formatTime(now),
                    });
                    sim.fillIn.set(step.name, fillLag);
                    createdSuccessor = true;
                  }
                  break;
                case "Switch": {
                  const list = crash === 2 ? step.workloads.slice(0, 1) : step.workloads;
                  for (const w of list) sim.templates.set(w, step.successor);
                  if (crash !== 2) write(step.record);
                  break;
                }
                case "Revoke":
                  sim.secrets.delete(step.secret);
                  break;
                case "Blocked":
                  throw new Error(step.message);
                default:
              }
            }
            checkInvariants(sim);
          }
          expect(sim.secrets.has("t"), "the rotation did not complete").to.equal(false);
          expect(createdSuccessor).to.equal(true);
          for (const [, ref] of sim.templates) expect(ref).to.equal("t-nhi-r1");
          for (const [, ref] of sim.pods) expect(ref).to.equal("t-nhi-r1");
          // The successor is idle afterwards: the operator issued it, it is young.
          const succ = sim.secrets.get("t-nhi-r1");
          expect(succ && plan(input(succ, now))).to.deep.include({ kind: "Idle" });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps the old Secret as long as a bare pod consumes it", () => {
    let old = inState(token("t"), {
      state: "Overlap",
      successor: "t-nhi-r1",
      startedAt: T0,
      revokeAt: T0,
    });
    for (let now = T0; now < T0 + 30 * DAY; now += DAY) {
      const s = plan(
        input(old, now, { successor: issued("t-nhi-r1", "t", T0), podsOnOld: ["Pod/bare"] }),
      );
      expect(s.kind).to.equal("Wait");
      old = { ...old };
    }
  });
});
