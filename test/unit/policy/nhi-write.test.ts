import { expect } from "chai";
import { loadCrdDocuments } from "../../../crds/load.js";
import { createValidator } from "../../../core/nhi/validate.js";
import type { NHIPolicy, NonHumanIdentity } from "../../../core/nhi/types.js";
import {
  decideNHIPolicyWrite,
  decideNHIWrite,
  type NHIWriteInput,
} from "../../../core/policy/nhi-write.js";
import type { EffectivePolicy } from "../../../core/policy/settings.js";
import type { Requester } from "../../../core/policy/workload.js";
import { NOW, ORDERS_NHI, POLICY, world } from "../webhooks/world.js";

const validator = createValidator(loadCrdDocuments());
const POLICY_NOW = world().policyAt(NOW);
const NO_CR: EffectivePolicy = { ...POLICY_NOW, requireChangeRequest: undefined };
const SELF: Requester = { username: "system:serviceaccount:shop:orders-api" };
const HUMAN: Requester = { username: "alice" };

const withScopes = (
  base: NonHumanIdentity,
  scopes: NonNullable<NonHumanIdentity["spec"]["scopes"]>,
  annotations?: Record<string, string>,
): NonHumanIdentity => ({
  ...base,
  metadata: { ...base.metadata, ...(annotations ? { annotations } : {}) },
  spec: { ...base.spec, scopes },
});
const WIDER = [
  ...(ORDERS_NHI.spec.scopes ?? []),
  { namespaces: ["shop"], apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
];

function input(object: unknown, opts: Partial<NHIWriteInput> = {}): NHIWriteInput {
  return { object, validator, policy: NO_CR, now: NOW, requester: HUMAN, ...opts };
}
const rules = (d: { violations: { rule: string }[] }): string[] => d.violations.map((v) => v.rule);

describe("decideNHIWrite", () => {
  it("allows a valid NHI", () => {
    expect(decideNHIWrite(input(ORDERS_NHI))).to.deep.equal({
      allowed: true,
      violations: [],
      warnings: [],
    });
  });

  it("denies a schema violation with the field path and the fix (the CLI's validator)", () => {
    const bad = {
      ...ORDERS_NHI,
      spec: { ...ORDERS_NHI.spec, owner: { contact: "x@example.com" } },
    };
    const d = decideNHIWrite(input(bad));
    expect(rules(d)).to.include("nhi-invalid");
    expect(d.violations.map((v) => v.message).join("\n")).to.contain("spec.owner.team");
  });

  it("denies a semantic problem the API server accepts (wildcard registry host)", () => {
    const bad = { ...ORDERS_NHI, spec: { ...ORDERS_NHI.spec, workloads: { images: ["*/x:*"] } } };
    const d = decideNHIWrite(input(bad));
    expect(d.allowed).to.equal(false);
    expect(d.violations[0]?.message).to.contain("spec.workloads.images[0]");
  });

  it("denies an object that is not an object at all, without throwing", () => {
    for (const junk of [null, 42, "x", [], { kind: "NonHumanIdentity" }]) {
      const d = decideNHIWrite(input(junk));
      expect(d.allowed).to.equal(false);
    }
  });

  it("denies a new expiry in the past, but lets an already expired NHI be edited", () => {
    const past = {
      ...ORDERS_NHI,
      spec: { ...ORDERS_NHI.spec, lifetime: { expiresAt: "2026-01-01T00:00:00Z" } },
    };
    expect(decideNHIWrite(input(past)).allowed).to.equal(false);
    const relabelled = { ...past, metadata: { ...past.metadata, labels: { team: "x" } } };
    expect(decideNHIWrite(input(relabelled, { oldObject: past })).allowed).to.equal(true);
  });

  it("an identity may not widen its own scopes", () => {
    const d = decideNHIWrite(
      input(withScopes(ORDERS_NHI, WIDER), { oldObject: ORDERS_NHI, requester: SELF }),
    );
    expect(rules(d)).to.deep.equal(["nhi-self-widening"]);
    expect(d.violations[0]?.message)
      .to.contain("get secrets in namespace shop")
      .and.contain("system:serviceaccount:shop:orders-api");
  });

  it("an identity may not switch itself to Audit or lift its own suspension", () => {
    const audit = { ...ORDERS_NHI, spec: { ...ORDERS_NHI.spec, enforcement: "Audit" as const } };
    expect(
      rules(decideNHIWrite(input(audit, { oldObject: ORDERS_NHI, requester: SELF }))),
    ).to.deep.equal(["nhi-self-widening"]);
    const suspended = { ...ORDERS_NHI, spec: { ...ORDERS_NHI.spec, suspended: true } };
    expect(
      rules(decideNHIWrite(input(ORDERS_NHI, { oldObject: suspended, requester: SELF }))),
    ).to.deep.equal(["nhi-self-widening"]);
  });

  it("an identity may narrow itself, and a human may widen it", () => {
    expect(
      decideNHIWrite(input(withScopes(ORDERS_NHI, []), { oldObject: ORDERS_NHI, requester: SELF }))
        .allowed,
    ).to.equal(true);
    expect(
      decideNHIWrite(input(withScopes(ORDERS_NHI, WIDER), { oldObject: ORDERS_NHI })).allowed,
    ).to.equal(true);
  });

  describe("change requests (NHIPolicy requireChangeRequest)", () => {
    const cases: Array<{
      name: string;
      annotations?: Record<string, string>;
      old?: Record<string, string>;
      allowed: boolean;
      says?: string;
    }> = [
      {
        name: "widening without the annotation is denied",
        allowed: false,
        says: "has no nhi.io/change-request annotation",
      },
      {
        name: "a value not matching the pattern is denied",
        annotations: { "nhi.io/change-request": "please" },
        allowed: false,
        says: "does not match ^CHG-[0-9]+$",
      },
      {
        name: "reusing the previous change's reference is denied",
        annotations: { "nhi.io/change-request": "CHG-1" },
        old: { "nhi.io/change-request": "CHG-1" },
        allowed: false,
        says: "reuses",
      },
      {
        name: "a fresh matching reference allows the widening",
        annotations: { "nhi.io/change-request": "CHG-2" },
        old: { "nhi.io/change-request": "CHG-1" },
        allowed: true,
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const old = withScopes(ORDERS_NHI, ORDERS_NHI.spec.scopes ?? [], c.old);
        const d = decideNHIWrite(
          input(withScopes(ORDERS_NHI, WIDER, c.annotations), {
            oldObject: old,
            policy: POLICY_NOW,
          }),
        );
        expect(d.allowed, JSON.stringify(d.violations)).to.equal(c.allowed);
        if (c.says) {
          expect(rules(d)).to.deep.equal(["nhi-change-request"]);
          expect(d.violations[0]?.message).to.contain(c.says).and.contain("NHIPolicy default");
        }
      });
    }
    it("narrowing or an unrelated edit needs no change request", () => {
      expect(
        decideNHIWrite(
          input(withScopes(ORDERS_NHI, []), { oldObject: ORDERS_NHI, policy: POLICY_NOW }),
        ).allowed,
      ).to.equal(true);
      expect(
        decideNHIWrite(
          input(
            { ...ORDERS_NHI, spec: { ...ORDERS_NHI.spec, purpose: "new words" } },
            { oldObject: ORDERS_NHI, policy: POLICY_NOW },
          ),
        ).allowed,
      ).to.equal(true);
    });
  });

  it("scopes that include a critical catalogue permission need an exemption", () => {
    const impersonator = withScopes(ORDERS_NHI, [
      { namespaces: ["*"], apiGroups: [""], resources: ["users"], verbs: ["impersonate"] },
    ]);
    const d = decideNHIWrite(input(impersonator));
    expect(rules(d)).to.deep.equal(["nhi-critical-scope"]);
    expect(d.violations[0]?.message).to.contain("impersonate").and.contain("exemption");
  });

  it("an exemption naming the identity allows a critical scope", () => {
    const prom: NonHumanIdentity = {
      ...ORDERS_NHI,
      metadata: { name: "prometheus", namespace: "monitoring" },
      spec: {
        ...ORDERS_NHI.spec,
        serviceAccountName: "prometheus",
        workloads: {},
        scopes: [
          { namespaces: ["*"], apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] },
        ],
      },
    };
    const d = decideNHIWrite(input(prom));
    expect(d.allowed, JSON.stringify(d.violations)).to.equal(true);
    expect(d.warnings.map((w) => w.rule)).to.deep.equal(["nhi-critical-scope"]);
  });
});

describe("decideNHIPolicyWrite", () => {
  it("allows a valid policy, with exemptions naming check ids", () => {
    expect(
      decideNHIPolicyWrite({ object: POLICY, validator, policy: NO_CR, now: NOW }).allowed,
    ).to.equal(true);
  });

  it("denies unknown rule ids and schema errors with field paths", () => {
    const bad: NHIPolicy = { ...POLICY, spec: { ...POLICY.spec, forbidden: ["no-such-rule"] } };
    const d = decideNHIPolicyWrite({ object: bad, validator, policy: NO_CR, now: NOW });
    expect(d.allowed).to.equal(false);
    expect(d.violations[0]?.message).to.contain("spec.forbidden[0]");
  });

  it("a ServiceAccount may not exempt itself", () => {
    const self: NHIPolicy = {
      ...POLICY,
      spec: { ...POLICY.spec, exemptions: [{ serviceAccounts: ["ci/*"], reason: "me" }] },
    };
    const d = decideNHIPolicyWrite({
      object: self,
      oldObject: POLICY,
      validator,
      policy: NO_CR,
      now: NOW,
      requester: { username: "system:serviceaccount:ci:deployer" },
    });
    expect(rules(d)).to.deep.equal(["nhipolicy-self-exemption"]);
  });
});
