// The learned baseline (`new-behaviour`) over events recorded from the real API server: nothing
// while learning, nothing for the usual activity afterwards (alert fatigue), a finding for a new
// source, client or (unclaimed) request; bounded in size; a stored form that round-trips, merges,
// splits under a size and refuses damaged input with a clear error.
import { expect } from "chai";
import fc from "fast-check";
import {
  AuditDetector,
  BASELINE_API_VERSION,
  Baseline,
  parseBaselineDocument,
  sourceOf,
} from "../../../core/audit/index.js";
import type { AuditContext, AuditEvent, AuditFinding } from "../../../core/audit/index.js";
import { AUDIT_RULES } from "../../../core/audit/rules.js";
import { API_NHI, fixtureEvents } from "./load.js";

const HOUR = 3600_000;

function context(declared = true): AuditContext {
  return {
    declaration: (ns, sa) => (declared && ns === "shop" && sa === "api" ? API_NHI : undefined),
    podIPs: (ns, pod) => (ns === "shop" && pod === "api-0" ? ["127.0.0.7"] : undefined),
  };
}

/** The fixtures' events, `hours` later (a fresh auditID so no two replays are one request). */
function later(hours: number, ...files: string[]): AuditEvent[] {
  return fixtureEvents(...files).map((e) => ({
    ...e,
    auditID: `${e.auditID}+${hours}`,
    time: e.time + hours * HOUR,
  }));
}

function detector(declared = true, learningSeconds = 3600): AuditDetector {
  return new AuditDetector(context(declared), {}, { baseline: new Baseline({ learningSeconds }) });
}

const newBehaviour = (d: AuditDetector): AuditFinding[] =>
  d.findings().filter((f) => f.rule === "new-behaviour");

describe("audit baseline: new behaviour after a learning window", function () {
  it("is a rule of the table with severity, OWASP category and tuning", function () {
    const r = AUDIT_RULES["new-behaviour"];
    expect(r.category).to.equal("new-behaviour");
    expect(r.owasp).to.not.be.empty;
    expect(r.tune).to.match(/learning-window/);
  });

  it("alert fatigue: the usual activity (in scope, own pod, usual client) after learning gives no finding at all", function () {
    const d = detector();
    for (const e of later(0, "pod-bound-in-scope", "pod-bound-watch")) d.observe(e);
    for (const h of [2, 5, 30])
      for (const e of later(h, "pod-bound-in-scope", "pod-bound-watch", "selfsubjectrulesreview"))
        d.observe(e);
    expect(
      d.baseline?.learned(
        "system:serviceaccount:shop:api",
        later(2, "pod-bound-in-scope")[0]!.time,
      ),
    ).to.equal(true);
    expect(d.findings().filter((f) => f.severity !== "low")).to.deep.equal([]);
    expect(newBehaviour(d)).to.deep.equal([]);
  });

  it("while learning, a new source or client is learned, not reported", function () {
    const d = detector();
    for (const e of later(0, "pod-bound-in-scope", "minted-token-use", "legacy-token-use"))
      d.observe(e);
    expect(newBehaviour(d)).to.deep.equal([]);
    // Learned: the same later is no new behaviour either.
    for (const e of later(3, "minted-token-use")) d.observe(e);
    expect(newBehaviour(d)).to.deep.equal([]);
  });

  it("after learning, a claimed identity's token from a new network with a new client is reported", function () {
    const d = detector();
    for (const e of later(0, "pod-bound-in-scope")) d.observe(e);
    for (const e of later(2, "legacy-token-use", "unbound-token-use")) d.observe(e);
    const found = newBehaviour(d).map((f) => `${f.severity} ${f.message}`);
    // curl is human-client's (high) to report: no second finding for the same client.
    // Both come from 127.0.0.0/24 (the pod's address 127.0.0.7 and 127.0.0.1): one new network.
    expect(found).to.deep.equal(["medium new source after its learning window: 127.0.0.0/24"]);
    // Reported once per habit: the same again adds to the findings, creates none.
    const again = later(3, "unbound-token-use").flatMap((e) => d.observe(e));
    expect(again.filter((f) => f.rule === "new-behaviour")).to.deep.equal([]);
  });

  it("does not repeat what token-off-pod and human-client already say", function () {
    const d = detector();
    for (const e of later(0, "pod-bound-in-scope")) d.observe(e);
    for (const e of later(2, "pod-bound-kubectl")) d.observe(e);
    expect(d.findings().map((f) => f.rule)).to.have.members(["human-client", "token-off-pod"]);
    expect(newBehaviour(d)).to.deep.equal([]);
  });

  it("an unclaimed identity's new request: low for a read, medium for a write", function () {
    const d = detector(false);
    for (const e of later(0, "pod-bound-in-scope")) d.observe(e);
    for (const e of later(2, "pod-bound-in-scope", "pod-bound-forbidden")) d.observe(e);
    expect(newBehaviour(d).map((f) => `${f.severity} ${f.message}`)).to.deep.equal([
      "low new request after its learning window: list secrets in shop",
    ]);
    const ci = detector(false);
    const [bind, deploy] = later(0, "privilege-change");
    ci.observe(bind!);
    ci.observe({ ...deploy!, time: deploy!.time + 2 * HOUR });
    expect(newBehaviour(ci).map((f) => `${f.severity} ${f.message}`)).to.deep.equal([
      "medium new request after its learning window: create deployments.apps in shop",
    ]);
  });

  it("a source is the own pod when the token's pod has the address, else the network", function () {
    const [inPod] = fixtureEvents("pod-bound-in-scope");
    expect(sourceOf(inPod!, ["127.0.0.7"])).to.equal("own pod");
    expect(sourceOf(inPod!, undefined)).to.equal("127.0.0.0/24");
    expect(sourceOf({ ...inPod!, sourceIP: "fd00:10:244:1::7" }, undefined)).to.equal(
      "fd00:10:244:1::/64",
    );
    expect(sourceOf({ ...inPod!, sourceIP: undefined }, undefined)).to.equal("unknown");
  });

  it("is bounded: identities and habits under their caps, whatever the input, and counted", function () {
    const [template] = fixtureEvents("pod-bound-in-scope");
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.integer({ min: 0, max: 40 }),
            ip: fc.integer({ min: 0, max: 60 }),
            agent: fc.integer({ min: 0, max: 60 }),
            resource: fc.integer({ min: 0, max: 60 }),
            hours: fc.integer({ min: 0, max: 5 }),
          }),
          { maxLength: 400 },
        ),
        (items) => {
          const b = new Baseline({ learningSeconds: 3600, maxHabits: 8, maxIdentities: 10 });
          for (const it of items)
            b.observe(
              `system:serviceaccount:ns:sa${it.id}`,
              {
                ...template!,
                sourceIP: `10.${it.ip}.0.1`,
                userAgent: `agent${it.agent}/1`,
                objectRef: { apiGroup: "", resource: `r${it.resource}`, namespace: "ns" },
                time: template!.time + it.hours * HOUR,
              },
              true,
              undefined,
            );
          const doc = b.toDocument();
          const ids = Object.keys(doc.identities);
          expect(ids.length).to.be.at.most(10);
          for (const s of Object.values(doc.identities))
            for (const kind of ["sources", "clients", "requests"] as const)
              expect(s[kind].length).to.be.at.most(8);
          const distinct = new Set(items.map((i) => i.id)).size;
          expect(b.stats().identitiesRefused > 0).to.equal(distinct > 10);
          expect(JSON.stringify(doc).length).to.be.below(10 * 3 * 8 * 600);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("a kind that fills its cap while learning is too varied to judge: no findings of it", function () {
    const [t] = fixtureEvents("pod-bound-in-scope");
    const b = new Baseline({ learningSeconds: 3600, maxHabits: 2 });
    const use = (agent: string, hours: number) =>
      b.observe("sa", { ...t!, userAgent: `${agent}/1`, time: t!.time + hours * HOUR }, false, [
        "127.0.0.7",
      ]);
    use("a", 0);
    use("b", 0);
    use("c", 0);
    expect(b.habitsDropped).to.equal(1);
    expect(use("d", 2)).to.deep.equal([]);
    expect(b.toDocument().identities.sa?.saturated).to.deep.equal(["clients"]);
  });

  it("at the identity cap, idle identities are forgotten to make room", function () {
    const [t] = fixtureEvents("pod-bound-in-scope");
    const b = new Baseline({ maxIdentities: 2, forgetSeconds: 3600 });
    b.observe("a", t!, true, undefined);
    b.observe("b", { ...t!, time: t!.time + 2 * HOUR }, true, undefined);
    b.observe("c", { ...t!, time: t!.time + 2 * HOUR }, true, undefined);
    expect(Object.keys(b.toDocument().identities)).to.deep.equal(["b", "c"]);
    expect(b.stats()).to.include({ identitiesForgotten: 1, identitiesRefused: 0 });
    b.observe("d", { ...t!, time: t!.time + 2 * HOUR }, true, undefined);
    expect(b.stats()).to.include({ identities: 2, identitiesRefused: 1 });
  });
});

describe("audit baseline: the stored form", function () {
  function learned(): Baseline {
    const b = new Baseline({ learningSeconds: 3600 });
    const ctx = context(false);
    const d = new AuditDetector(ctx, {}, { baseline: b });
    for (const e of later(
      0,
      "pod-bound-in-scope",
      "secret-harvesting",
      "privilege-change",
      "minted-token-use",
    ))
      d.observe(e);
    return b;
  }

  it("round-trips: a restarted detector judges as the first one would have", function () {
    const first = learned();
    const text = JSON.stringify(first.toDocument());
    const parsed = parseBaselineDocument(text);
    if ("error" in parsed) throw new Error(parsed.error);
    const restored = new Baseline({ learningSeconds: 3600 });
    restored.merge(parsed.document);
    expect(restored.toDocument()).to.deep.equal(first.toDocument());
    expect(parsed.document.apiVersion).to.equal(BASELINE_API_VERSION);
    // Past the window: the restored baseline knows curl from 127.0.0.0/24, and reports kubectl.
    const d = new AuditDetector(context(false), {}, { baseline: restored });
    for (const e of later(2, "pod-bound-in-scope", "minted-token-use")) d.observe(e);
    expect(newBehaviour(d)).to.deep.equal([]);
    const [kubectl] = later(2, "pod-bound-kubectl");
    d.observe({ ...kubectl!, userAgent: "python-requests/2.31" });
    expect(newBehaviour(d).map((f) => f.message)).to.deep.equal([
      "new client after its learning window: python-requests",
    ]);
  });

  it("splits into parts under a size, which merge back to the whole", function () {
    const b = learned();
    const parts = b.toParts(400);
    expect(parts.length).to.be.greaterThan(1);
    const whole = new Baseline();
    for (const p of parts) {
      expect(p.length).to.be.at.most(400);
      const r = parseBaselineDocument(p);
      if ("error" in r) throw new Error(r.error);
      whole.merge(r.document);
    }
    expect(whole.toDocument()).to.deep.equal(b.toDocument());
    expect(new Baseline().toParts(400)).to.have.length(1);
  });

  it("merges replicas' baselines: the union of habits, the earliest start", function () {
    const a = new Baseline();
    const b = new Baseline();
    const [e] = fixtureEvents("pod-bound-in-scope");
    a.observe("x", e!, false, undefined);
    b.observe("x", { ...e!, userAgent: "other/1", time: e!.time - 1000 }, false, undefined);
    a.merge(b.toDocument());
    expect(a.toDocument().identities.x).to.deep.include({
      first: e!.time - 1000,
      clients: ["other", "shop-api"],
    });
  });

  it("refuses damaged or foreign input with an error naming the field", function () {
    const bad: [string, RegExp][] = [
      ["{", /^not JSON/],
      ["[]", /not a JSON object/],
      [
        '{"apiVersion":"v0","identities":{}}',
        /apiVersion is "v0", expected "nhi\.io\/audit-baseline\/v1"/,
      ],
      [`{"apiVersion":"${BASELINE_API_VERSION}"}`, /identities is not an object/],
      [
        `{"apiVersion":"${BASELINE_API_VERSION}","identities":{"a":1}}`,
        /identities\["a"\] is not an object/,
      ],
      [
        `{"apiVersion":"${BASELINE_API_VERSION}","identities":{"a":{"first":"x","last":1}}}`,
        /identities\["a"\]\.first is not a time/,
      ],
      [
        `{"apiVersion":"${BASELINE_API_VERSION}","identities":{"a":{"first":1,"last":1,"clients":[1]}}}`,
        /identities\["a"\]\.clients is not a list of strings/,
      ],
      [
        `{"apiVersion":"${BASELINE_API_VERSION}","identities":{"a":{"first":1,"last":1,"sources":${JSON.stringify(Array.from({ length: 65 }, (_, i) => `s${i}`))}}}}`,
        /has 65 values, more than the cap 64/,
      ],
      [
        `{"apiVersion":"${BASELINE_API_VERSION}","identities":{"a":{"first":1,"last":1,"saturated":["x"]}}}`,
        /saturated is not a list of sources, clients, requests/,
      ],
    ];
    for (const [text, error] of bad) {
      const r = parseBaselineDocument(text);
      expect(r, text).to.have.property("error").that.matches(error);
    }
  });
});
