// The response to runtime-detection findings (core/audit/response.ts): which action onAnomaly asks
// for per severity, how findings are kept on the NHI, what BehaviourAnomalous says, and the plan the
// response controller carries out.
import { expect } from "chai";
import {
  anomalyAction,
  anomalyCondition,
  anomalyConditionChangesAt,
  anomalyRecordOf,
  evidenceSummary,
  responsePlan,
  ruleReason,
  unboundTokenNote,
  withFinding,
  withResponses,
} from "../../../core/audit/response.js";
import type { AuditFinding } from "../../../core/audit/index.js";
import type { AnomalyRecord, NHIOnAnomaly, NonHumanIdentity } from "../../../core/nhi/types.js";
import type { Severity } from "../../../core/policy/types.js";

const TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

function finding(over: Partial<AuditFinding> = {}): AuditFinding {
  return {
    identity: "system:serviceaccount:shop:api",
    nhi: "shop/api",
    rule: "token-off-pod",
    category: "token-replay",
    severity: "high",
    owasp: ["NHI2:2025 Secret Leakage"],
    title: "Pod-bound token used from outside its pod",
    message: "the token of pod shop/api-0 (10.244.1.7) was used from 10.0.0.9 by kubectl",
    evidence: {
      verbs: ["get"],
      resources: ["configmaps"],
      namespaces: ["shop"],
      codes: [200],
      userAgents: ["kubectl/v1.35.4 (linux/amd64) kubernetes/abc"],
      sourceIPs: ["10.0.0.9"],
      grantedBy: [],
      credentials: ["pod-bound token (pod shop/api-0 on node-1)"],
    },
    firstSeen: "2026-11-29T10:00:00.000Z",
    lastSeen: "2026-11-29T10:00:00.000Z",
    count: 1,
    ...over,
  };
}

function nhi(onAnomaly?: NHIOnAnomaly, anomalies?: AnomalyRecord[]): NonHumanIdentity {
  return {
    apiVersion: "nhi.io/v1alpha1",
    kind: "NonHumanIdentity",
    metadata: { name: "api", namespace: "shop" },
    spec: {
      owner: { team: "t", contact: "t@example.com" },
      purpose: "p",
      serviceAccountName: "api",
      ...(onAnomaly ? { onAnomaly } : {}),
    },
    ...(anomalies ? { status: { anomalies } } : {}),
  };
}

const T0 = Date.parse("2026-11-29T10:00:00Z");
const HOUR = 3_600_000;

describe("audit response: onAnomaly per severity", () => {
  const table: [NHIOnAnomaly | undefined, Severity, string][] = [
    [undefined, "critical", "Notify"],
    [{}, "high", "Notify"],
    [{ high: "Suspend" }, "medium", "Notify"],
    [{ high: "Suspend" }, "high", "Suspend"],
    [{ high: "Suspend" }, "critical", "Suspend"],
    [{ medium: "Rotate", high: "Suspend" }, "low", "Notify"],
    [{ medium: "Rotate", high: "Suspend" }, "medium", "Rotate"],
    [{ medium: "Rotate", high: "Suspend" }, "high", "Suspend"],
    // The strongest action at or below the severity: a lower Suspend is not weakened by a higher Notify.
    [{ low: "Suspend", high: "Notify" }, "high", "Suspend"],
    [{ critical: "Rotate" }, "high", "Notify"],
    [{ critical: "Rotate" }, "critical", "Rotate"],
  ];
  for (const [on, severity, want] of table) {
    it(`${JSON.stringify(on)} on a ${severity} finding → ${want}`, () => {
      expect(anomalyAction(on, severity)).to.equal(want);
    });
  }
});

describe("audit response: findings on the NHI (status.anomalies)", () => {
  it("keeps the finding's words and evidence, with a stable id, and never a token", () => {
    const r = anomalyRecordOf(finding());
    expect(r.id).to.equal("token-off-pod@2026-11-29T10:00:00.000Z");
    expect(r.evidence?.sourceIPs).to.deep.equal(["10.0.0.9"]);
    expect(r.evidence?.grantedBy).to.equal(undefined);
    expect(JSON.stringify(r)).not.to.include(TOKEN);
  });

  it("updates a known finding in place (count, last seen) and keeps its response; unchanged → undefined", () => {
    const first = withFinding(undefined, finding()) ?? [];
    const answered = withResponses(
      first,
      [{ id: first[0]?.id ?? "", action: "Suspend", message: "suspended" }],
      "2026-11-29T10:00:02Z",
    );
    const grown = withFinding(
      answered,
      finding({ count: 5, lastSeen: "2026-11-29T10:05:00.000Z" }),
    );
    expect(grown).to.have.length(1);
    expect(grown?.[0]?.count).to.equal(5);
    expect(grown?.[0]?.response?.action).to.equal("Suspend");
    expect(
      withFinding(grown, finding({ count: 5, lastSeen: "2026-11-29T10:05:00.000Z" })),
    ).to.equal(undefined);
  });

  it("holds at most the CRD's 20, dropping the oldest answered finding first", () => {
    let list: AnomalyRecord[] = [];
    for (let i = 0; i < 20; i++) {
      const t = new Date(T0 + i * 1000).toISOString();
      list =
        withFinding(list, finding({ rule: "out-of-scope", firstSeen: t, lastSeen: t })) ?? list;
    }
    // The newest one is answered; the oldest unanswered survive over it.
    const newest = list[19]?.id ?? "";
    list = withResponses(list, [{ id: newest, action: "Notify", message: "n" }], "x") ?? list;
    const t = new Date(T0 + 100_000).toISOString();
    const next = withFinding(list, finding({ firstSeen: t, lastSeen: t })) ?? [];
    expect(next).to.have.length(20);
    expect(next.some((a) => a.id === newest)).to.equal(false);
    expect(next.at(-1)?.rule).to.equal("token-off-pod");
  });
});

describe("audit response: the BehaviourAnomalous condition", () => {
  const rec = (over: Partial<AuditFinding>): AnomalyRecord => anomalyRecordOf(finding(over));

  it("is absent while the identity never had a finding", () => {
    expect(anomalyCondition(undefined, T0)).to.equal(undefined);
    expect(anomalyCondition([], T0)).to.equal(undefined);
  });

  it("is True within the window: reason the worst rule in CamelCase, the evidence, the others named", () => {
    const c = anomalyCondition(
      [
        rec({ rule: "permission-probing", severity: "low", message: "asked" }),
        rec({}),
        rec({ rule: "human-client", severity: "high", lastSeen: "2026-11-29T09:59:00.000Z" }),
      ],
      T0 + HOUR,
      24 * HOUR,
    );
    expect(c?.status).to.equal("True");
    expect(c?.reason).to.equal("TokenOffPod");
    expect(c?.message).to.match(/^token-off-pod \(high\): the token of pod shop\/api-0/);
    expect(c?.message).to.include("from 10.0.0.9");
    expect(c?.message).to.include("Also: permission-probing (low), human-client (high).");
    expect(c?.reason).to.match(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/);
  });

  it("turns False (NoRecentFinding) once the window has passed since the last event, and says when it will", () => {
    const list = [rec({})];
    expect(anomalyConditionChangesAt(list, T0, HOUR)).to.equal(T0 + HOUR);
    expect(anomalyCondition(list, T0 + HOUR - 1, HOUR)?.status).to.equal("True");
    const c = anomalyCondition(list, T0 + HOUR, HOUR);
    expect(c).to.include({ status: "False", reason: "NoRecentFinding" });
    expect(anomalyConditionChangesAt(list, T0 + HOUR, HOUR)).to.equal(undefined);
  });

  it("names the response once there is one", () => {
    const list = withResponses(
      [rec({})],
      [{ id: rec({}).id, action: "Suspend", message: "suspended" }],
      "2026-11-29T10:00:02Z",
    );
    expect(anomalyCondition(list, T0)?.message).to.include(
      "Response: Suspend at 2026-11-29T10:00:02Z: suspended.",
    );
  });

  it("ruleReason makes CamelCase reasons", () => {
    expect(ruleReason("workload-as-other-identity")).to.equal("WorkloadAsOtherIdentity");
    expect(ruleReason("enumeration")).to.equal("Enumeration");
  });

  it("evidenceSummary says where from, which client, which credential and how many events", () => {
    expect(evidenceSummary(rec({}))).to.equal(
      "from 10.0.0.9; client kubectl/v1.35.4 (linux/amd64) kubernetes/abc; with pod-bound token (pod shop/api-0 on node-1); get configmaps; answered 200; 1 event(s) 2026-11-29T10:00:00.000Z – 2026-11-29T10:00:00.000Z",
    );
  });
});

describe("audit response: the plan", () => {
  const rec = (over: Partial<AuditFinding>): AnomalyRecord => anomalyRecordOf(finding(over));

  it("nothing to answer → undefined", () => {
    expect(responsePlan(nhi({ high: "Suspend" }))).to.equal(undefined);
    const answered = withResponses(
      [rec({})],
      [{ id: rec({}).id, action: "Notify", message: "n" }],
      "x",
    );
    expect(responsePlan(nhi({ high: "Suspend" }, answered))).to.equal(undefined);
  });

  it("each finding gets its own action; the strongest is carried out", () => {
    const p = responsePlan(
      nhi({ medium: "Rotate", high: "Suspend" }, [
        rec({ rule: "unbound-token", severity: "medium" }),
        rec({}),
      ]),
    );
    expect(p?.action).to.equal("Suspend");
    expect(p?.answers.map((a) => a.action)).to.deep.equal(["Rotate", "Suspend"]);
    expect(p?.pods).to.deep.equal([]);
  });

  it("Rotate names the pods whose bound token was replayed, once each", () => {
    const p = responsePlan(nhi({ high: "Rotate" }, [rec({}), rec({ rule: "human-client" })]));
    expect(p?.action).to.equal("Rotate");
    expect(p?.pods).to.deep.equal([{ namespace: "shop", name: "api-0" }]);
  });

  it("Rotate names the replayed legacy token Secrets of the identity's namespace, once each", () => {
    const legacy = (secret: string): AnomalyRecord =>
      rec({
        rule: "human-client",
        firstSeen: `2026-11-29T10:00:0${secret.length % 10}.000Z`,
        evidence: {
          ...finding().evidence,
          credentials: [`legacy Secret token (Secret ${secret})`, "legacy Secret token"],
        },
      });
    const p = responsePlan(
      nhi({ high: "Rotate" }, [legacy("shop/api-token"), legacy("other/x"), rec({})]),
    );
    expect(p?.legacySecrets).to.deep.equal([{ namespace: "shop", name: "api-token" }]);
    expect(p?.pods).to.deep.equal([{ namespace: "shop", name: "api-0" }]);
    expect(p?.unbound).to.equal(false);
    // Under Suspend nothing is replaced: the quarantine refuses the token's requests.
    expect(
      responsePlan(nhi({ high: "Suspend" }, [legacy("shop/api-token")]))?.legacySecrets,
    ).to.deep.equal([]);
  });

  it("Rotate never claims to revoke a replayed unbound token: the note says what would and what does not", () => {
    const unbound = rec({
      rule: "token-minted-elsewhere",
      evidence: { ...finding().evidence, credentials: ["unbound TokenRequest token"] },
    });
    const plain = nhi({ high: "Rotate" }, [unbound]);
    const p = responsePlan(plain);
    expect(p?.unbound).to.equal(true);
    expect(p?.pods).to.deep.equal([]);
    const note = unboundTokenNote(plain);
    expect(note).to.match(/NOT revoked/);
    expect(note).to.match(/only deleting ServiceAccount shop\/api/);
    expect(note).to.match(/Suspend/);
    const withCredential: NonHumanIdentity = {
      ...plain,
      spec: {
        ...plain.spec,
        credentials: [{ name: "ci", type: "ServiceAccountToken", secretName: "ci-token" }],
      },
    };
    expect(unboundTokenNote(withCredential)).to.match(/token of credential ci, it stops/);
    expect(responsePlan(nhi({ high: "Rotate" }, [rec({})]))?.unbound).to.equal(false);
  });

  it("withResponses records each answer once; a second call changes nothing", () => {
    const list = [rec({})];
    const once = withResponses(
      list,
      [{ id: list[0]?.id ?? "", action: "Rotate", message: "m" }],
      "t",
    );
    expect(once?.[0]?.response).to.deep.equal({ action: "Rotate", at: "t", message: "m" });
    expect(
      withResponses(once, [{ id: list[0]?.id ?? "", action: "Suspend", message: "x" }], "u"),
    ).to.equal(undefined);
  });
});
