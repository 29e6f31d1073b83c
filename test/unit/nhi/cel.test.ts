import { expect } from "chai";
import { CEL_MIRRORS } from "../../../core/nhi/cel.js";

const mirror = (rule: string) => {
  const m = CEL_MIRRORS[rule];
  if (m === undefined) throw new Error(`no mirror for ${rule}`);
  return m;
};

describe("nhi/cel mirrors", () => {
  it("are not evaluable on values of the wrong type (the schema error covers them)", () => {
    expect(mirror("has(self.resources) != has(self.nonResourceURLs)").check("x")).to.equal(
      undefined,
    );
    expect(mirror("!self.exists(n, n == '*') || size(self) == 1").check({})).to.equal(undefined);
    expect(mirror("duration(self) > duration('0s')").check(5)).to.equal(undefined);
    expect(
      mirror("self.type == 'ServiceAccountToken' || !has(self.ttl)").check({ ttl: "1h" }),
    ).to.equal(undefined);
  });

  it("skip duration comparisons they cannot parse", () => {
    const m = mirror(
      "!has(self.renewBefore) || !has(self.ttl) || duration(self.renewBefore) < duration(self.ttl)",
    );
    expect(m.check({ renewBefore: "soon", ttl: "1h" })).to.equal(undefined);
    expect(m.check({ renewBefore: "59m59s", ttl: "1h" })).to.equal(true);
    expect(m.check({ renewBefore: "3600s", ttl: "1h" })).to.equal(false);
  });

  it("treat null like an absent field, as CEL has() does for dropped nulls", () => {
    expect(
      mirror("has(self.expiresAt) || has(self.unusedAfter)").check({ expiresAt: null }),
    ).to.equal(false);
  });

  it("secretName uniqueness counts every pair", () => {
    const m = mirror("self.all(c, self.exists_one(d, d.secretName == c.secretName))");
    expect(m.check([{ secretName: "a" }, { secretName: "b" }])).to.equal(true);
    expect(m.check([{ secretName: "a" }, { secretName: "b" }, { secretName: "a" }])).to.equal(
      false,
    );
    expect(m.check([])).to.equal(true);
  });

  it("the transition rule compares with the old value", () => {
    const m = mirror("self == oldSelf");
    expect(m.transition).to.equal(true);
    expect(m.check("a", "a")).to.equal(true);
    expect(m.check("b", "a")).to.equal(false);
  });

  it("every mirror has a fix", () => {
    for (const [rule, m] of Object.entries(CEL_MIRRORS))
      expect(m.fix, rule).to.be.a("string").and.not.equal("");
  });
});
