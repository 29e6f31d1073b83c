// status.rightsize: when the audit sink proposes (after the learning window, at most once per
// interval), what it writes (capped, never cut scopes) and when a write is skipped (same proposal).
import { expect } from "chai";
import {
  MAX_PROPOSED_SCOPES,
  MAX_UNUSED_LISTED,
  rightsizeChange,
  rightsizeDue,
  rightsizeStatusOf,
  rightsizeTiming,
  type RightsizeProposal,
} from "../../../core/audit/index.js";

const HOUR = 3_600_000;
const T0 = Date.parse("2026-01-01T00:00:00Z");

function proposal(over: Partial<RightsizeProposal> = {}): RightsizeProposal {
  return {
    identity: "system:serviceaccount:shop:api",
    serviceAccount: { namespace: "shop", name: "api" },
    nhi: "shop/api",
    since: "2026-01-01T00:00:00.000Z",
    until: "2026-01-01T23:00:00.000Z",
    events: 42,
    proposedScopes: [
      { apiGroups: [""], resources: ["configmaps"], verbs: ["get"], namespaces: ["shop"] },
    ],
    roles: [],
    removed: [
      {
        permission: "update configmaps in namespace shop",
        grant: "RoleBinding shop/api → Role shop/api",
      },
    ],
    saturated: false,
    ...over,
  };
}

describe("audit rightsize: status.rightsize decision", function () {
  it("reconsiders hourly, or as often as a shorter learning window", function () {
    expect(rightsizeTiming(24 * HOUR)).to.deep.equal({ learningMs: 24 * HOUR, intervalMs: HOUR });
    expect(rightsizeTiming(5_000)).to.deep.equal({ learningMs: 5_000, intervalMs: 5_000 });
  });

  it("proposes nothing before the learning window has passed since the first request", function () {
    const t = rightsizeTiming(24 * HOUR);
    expect(rightsizeDue(T0, undefined, T0 + 24 * HOUR - 1, t)).to.equal(false);
    expect(rightsizeDue(T0, undefined, T0 + 24 * HOUR, t)).to.equal(true);
  });

  it("proposes at most once per interval", function () {
    const t = rightsizeTiming(24 * HOUR);
    const last = T0 + 25 * HOUR;
    expect(rightsizeDue(T0, last, last + HOUR - 1, t)).to.equal(false);
    expect(rightsizeDue(T0, last, last + HOUR, t)).to.equal(true);
  });

  it("writes the unused permissions with their grant, and the scopes that would do", function () {
    const s = rightsizeStatusOf(proposal(), T0 + 24 * HOUR);
    expect(s).to.deep.equal({
      observedSince: "2026-01-01T00:00:00.000Z",
      evaluatedAt: "2026-01-02T00:00:00.000Z",
      events: 42,
      unusedPermissions: [
        "update configmaps in namespace shop (RoleBinding shop/api → Role shop/api)",
      ],
      unusedCount: 1,
      proposedScopes: [
        { apiGroups: [""], resources: ["configmaps"], verbs: ["get"], namespaces: ["shop"] },
      ],
      saturated: false,
    });
  });

  it("caps the list of unused permissions but counts them all", function () {
    const removed = Array.from({ length: MAX_UNUSED_LISTED + 5 }, (_, i) => ({
      permission: `get thing${i} in namespace shop`,
      grant: "x".repeat(600),
    }));
    const s = rightsizeStatusOf(proposal({ removed }), T0);
    expect(s.unusedPermissions).to.have.length(MAX_UNUSED_LISTED);
    expect(s.unusedCount).to.equal(MAX_UNUSED_LISTED + 5);
    expect(s.unusedPermissions.every((u) => u.length <= 512)).to.equal(true);
  });

  it("never cuts the proposed scopes: too many is saturated, nothing proposed", function () {
    const many = Array.from({ length: MAX_PROPOSED_SCOPES + 1 }, (_, i) => ({
      apiGroups: [""],
      resources: [`r${i}`],
      verbs: ["get"],
      namespaces: ["shop"],
    }));
    const s = rightsizeStatusOf(proposal({ proposedScopes: many }), T0);
    expect(s.saturated).to.equal(true);
    expect(s.proposedScopes).to.deep.equal([]);
    const sat = rightsizeStatusOf(proposal({ saturated: true, removed: [] }), T0);
    expect(sat).to.include({ saturated: true, unusedCount: 0 });
    expect(sat.proposedScopes).to.deep.equal([]);
  });

  it("skips the write when the NHI already holds the same proposal, whatever the times", function () {
    const first = rightsizeStatusOf(proposal(), T0);
    expect(rightsizeChange(undefined, first)).to.equal(first);
    const later = rightsizeStatusOf(proposal({ events: 99 }), T0 + HOUR);
    expect(rightsizeChange(first, later)).to.equal(undefined);
    const narrower = rightsizeStatusOf(proposal({ removed: [] }), T0 + HOUR);
    expect(rightsizeChange(first, narrower)).to.equal(narrower);
  });
});
