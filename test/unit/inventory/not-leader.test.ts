// What a follower answers on GET /inventory: the Lease's live holder and where it serves.
import { expect } from "chai";
import { identityPod, notLeaderAnswer, type LeaseView } from "../../../core/inventory/document.js";

describe("notLeaderAnswer", () => {
  const now = Date.parse("2026-01-01T00:00:10Z");
  const lease: LeaseView = {
    namespace: "nhi-system",
    name: "rec",
    holderIdentity: "op-5d8f-x2x_9c1e",
    renewTime: "2026-01-01T00:00:02.000000Z",
    leaseDurationSeconds: 15,
    observedAt: now - 3000,
  };

  it("names the live holder, its pod and the Lease", () => {
    const a = notLeaderAnswer(lease, now);
    expect(a).to.deep.include({
      kind: "NotLeader",
      lease: { namespace: "nhi-system", name: "rec" },
      leader: {
        identity: "op-5d8f-x2x_9c1e",
        pod: "op-5d8f-x2x",
        renewTime: "2026-01-01T00:00:02.000000Z",
      },
    });
    expect(a.error).to.equal(
      "this replica is not the leader: the inventory is served by the holder of Lease nhi-system/rec, pod op-5d8f-x2x",
    );
  });
  it("adds the address the holder recorded", () => {
    const a = notLeaderAnswer({ ...lease, address: "10.0.0.7:8080" }, now);
    expect(a.leader?.address).to.equal("10.0.0.7:8080");
    expect(a.error).to.match(/pod op-5d8f-x2x at http:\/\/10\.0\.0\.7:8080\/inventory$/);
  });
  it("names no leader when the Lease lapsed (by this replica's clock), was released or was never read", () => {
    // renewTime is the holder's clock: a skewed one changes nothing; only when we saw the record change counts.
    expect(
      notLeaderAnswer({ ...lease, renewTime: "2025-12-31T23:00:00Z" }, now).leader?.pod,
    ).to.equal("op-5d8f-x2x");
    for (const l of [
      { ...lease, observedAt: now - 15_000 },
      { ...lease, holderIdentity: "" },
      { namespace: "nhi-system", name: "rec" },
    ]) {
      const a = notLeaderAnswer(l, now);
      expect(a.leader, JSON.stringify(l)).to.equal(undefined);
      expect(a.error).to.match(/no replica holds Lease nhi-system\/rec right now/);
    }
  });
  it("shows an identity that is not <pod>_<random> as it is", () => {
    expect(identityPod("Build-Host-12")).to.equal(undefined);
    expect(identityPod("my.host_abc")).to.equal("my.host");
    const a = notLeaderAnswer({ ...lease, holderIdentity: "custom identity" }, now);
    expect(a.leader).to.deep.equal({ identity: "custom identity", renewTime: lease.renewTime });
    expect(a.error).to.match(/, custom identity$/);
  });
});
