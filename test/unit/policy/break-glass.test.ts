import { expect } from "chai";
import { judgeBreakGlass, requesterKind } from "../../../core/policy/break-glass.js";
import type { BreakGlass } from "../../../core/policy/settings.js";
import type { Requester } from "../../../core/policy/workload.js";

const BG: BreakGlass = {
  annotation: "nhi.io/break-glass",
  reasonAnnotation: "nhi.io/break-glass-reason",
};
const ASKED = { "nhi.io/break-glass": "true", "nhi.io/break-glass-reason": "INC-7 restore" };
const sa = (ns: string, name: string): Requester => ({
  username: `system:serviceaccount:${ns}:${name}`,
  groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"],
});
const ALICE: Requester = { username: "alice", groups: ["sre", "system:authenticated"] };
const BOB: Requester = { username: "bob", groups: ["devs", "system:authenticated"] };
const NODE: Requester = {
  username: "system:node:n1",
  groups: ["system:nodes", "system:authenticated"],
};
const KCM: Requester = {
  username: "system:kube-controller-manager",
  groups: ["system:authenticated"],
};

describe("requesterKind", () => {
  it("tells ServiceAccounts, nodes, control-plane components, anonymous and users apart", () => {
    expect(requesterKind(sa("shop", "orders-api"))).to.equal("ServiceAccount");
    expect(requesterKind(sa("kube-system", "replicaset-controller"))).to.equal("ServiceAccount");
    expect(requesterKind(NODE)).to.equal("Node");
    expect(requesterKind(KCM)).to.equal("ControlPlane");
    expect(
      requesterKind({ username: "system:anonymous", groups: ["system:unauthenticated"] }),
    ).to.equal("Anonymous");
    expect(requesterKind(ALICE)).to.equal("User");
    expect(
      requesterKind({
        username: "system:admin",
        groups: ["system:masters", "system:authenticated"],
      }),
    ).to.equal("User");
  });
});

describe("judgeBreakGlass", () => {
  it("is not asked for without a policy, without the annotation, or with it set to false", () => {
    expect(judgeBreakGlass(undefined, ASKED, ALICE)).to.equal(undefined);
    expect(judgeBreakGlass(BG, {}, ALICE)).to.equal(undefined);
    expect(
      judgeBreakGlass(
        BG,
        { "nhi.io/break-glass": "false", "nhi.io/break-glass-reason": "x" },
        ALICE,
      ),
    ).to.equal(undefined);
  });

  it("needs a reason, from anyone", () => {
    const out = judgeBreakGlass(
      BG,
      { "nhi.io/break-glass": "true", "nhi.io/break-glass-reason": "  " },
      ALICE,
    );
    expect(out).to.deep.include({ used: false });
    expect(out && !out.used ? out.refused : "")
      .to.contain("needs a reason")
      .and.contain("nhi.io/break-glass-reason");
  });

  it("without allowedGroups: a human user may; a ServiceAccount (even the governed one, even a controller), a node or kube-controller-manager may not", () => {
    expect(judgeBreakGlass(BG, ASKED, ALICE)).to.deep.equal({
      used: true,
      reason: "INC-7 restore",
    });
    expect(judgeBreakGlass(BG, ASKED, BOB)).to.deep.equal({ used: true, reason: "INC-7 restore" });
    for (const r of [
      sa("shop", "orders-api"),
      sa("kube-system", "replicaset-controller"),
      NODE,
      KCM,
    ]) {
      const out = judgeBreakGlass(BG, ASKED, r);
      expect(out?.used, r.username).to.equal(false);
      expect(out && !out.used ? out.refused : "")
        .to.contain("reserved to human users")
        .and.contain(r.username)
        .and.contain("allowedGroups");
    }
  });

  it("with allowedGroups: only members, and a ServiceAccount only when a group of its own is named", () => {
    const sre: BreakGlass = { ...BG, allowedGroups: ["sre"] };
    expect(judgeBreakGlass(sre, ASKED, ALICE)?.used).to.equal(true);
    const bob = judgeBreakGlass(sre, ASKED, BOB);
    expect(bob && !bob.used ? bob.refused : "").to.contain(
      "reserved to members of sre; bob is not one",
    );
    expect(judgeBreakGlass(sre, ASKED, sa("shop", "orders-api"))?.used).to.equal(false);
    expect(
      judgeBreakGlass(
        { ...BG, allowedGroups: ["system:serviceaccounts:ops"] },
        ASKED,
        sa("ops", "runbook"),
      )?.used,
    ).to.equal(true);
    expect(
      judgeBreakGlass(
        { ...BG, allowedGroups: ["system:serviceaccounts:ops"] },
        ASKED,
        sa("shop", "orders-api"),
      )?.used,
    ).to.equal(false);
    // Everyone is in system:authenticated: listing it opens break-glass to every user, not to ServiceAccounts.
    const everyone: BreakGlass = { ...BG, allowedGroups: ["system:authenticated"] };
    expect(judgeBreakGlass(everyone, ASKED, BOB)?.used).to.equal(true);
    const out = judgeBreakGlass(everyone, ASKED, sa("shop", "orders-api"));
    expect(out && !out.used ? out.refused : "").to.contain(
      "ServiceAccount is named only by a group other than system:authenticated",
    );
  });

  it("truncates a long reason for the record", () => {
    const out = judgeBreakGlass(
      BG,
      { ...ASKED, "nhi.io/break-glass-reason": "x".repeat(1000) },
      ALICE,
    );
    expect(out?.used && out.reason.length).to.equal(256);
  });
});
