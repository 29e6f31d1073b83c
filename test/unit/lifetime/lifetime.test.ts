import { expect } from "chai";
import {
  lifetimeActions,
  lifetimeOf,
  mayIssueCredentials,
  type LifetimeObjects,
} from "../../../core/lifetime/lifetime.js";
import type { NHILifetime, NonHumanIdentity } from "../../../core/nhi/types.js";

const NOW = Date.parse("2026-11-22T12:00:00Z");
const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const nhi = (lifetime?: NHILifetime, suspended?: boolean): NonHumanIdentity => ({
  apiVersion: "nhi.io/v1alpha1",
  kind: "NonHumanIdentity",
  metadata: { name: "n", namespace: "ns", creationTimestamp: iso(NOW - 100 * DAY) },
  spec: {
    owner: { team: "t", contact: "c" },
    purpose: "p",
    serviceAccountName: "sa",
    ...(lifetime ? { lifetime } : {}),
    ...(suspended !== undefined ? { suspended } : {}),
  },
});

describe("lifetime (fake clock)", () => {
  const table: Array<[string, NonHumanIdentity, number | undefined, string, string?]> = [
    ["no lifetime", nhi(), undefined, "Valid"],
    ["expiresAt in 30 days", nhi({ expiresAt: iso(NOW + 30 * DAY) }), undefined, "Valid"],
    [
      "expiresAt in 6 days",
      nhi({ expiresAt: iso(NOW + 6 * DAY) }),
      undefined,
      "Expiring",
      "ExpiresAt",
    ],
    [
      "expiresAt passed, default Disable",
      nhi({ expiresAt: iso(NOW - 1) }),
      undefined,
      "Expired",
      "Disable",
    ],
    [
      "expiresAt passed, Notify",
      nhi({ expiresAt: iso(NOW - 1), onExpiry: "Notify" }),
      undefined,
      "Expired",
      "Notify",
    ],
    ["unused 9.5 of 10 days", nhi({ unusedAfter: "240h" }), NOW - 9.5 * DAY, "Expiring", "Unused"],
    [
      "unused 11 of 10 days, Delete",
      nhi({ unusedAfter: "240h", onExpiry: "Delete" }),
      NOW - 11 * DAY,
      "Expired",
      "Delete",
    ],
    [
      "never used, created 100 days ago",
      nhi({ unusedAfter: "240h" }),
      undefined,
      "Expired",
      "Disable",
    ],
    [
      "suspended wins over everything",
      nhi({ expiresAt: iso(NOW - 1) }, true),
      undefined,
      "Suspended",
    ],
  ];
  for (const [name, n, lastUsed, state, detail] of table) {
    it(`${name} → ${state}${detail ? ` (${detail})` : ""}`, () => {
      const s = lifetimeOf({ nhi: n, now: NOW, ...(lastUsed !== undefined ? { lastUsed } : {}) });
      expect(s.state).to.equal(state);
      if (s.state === "Expiring") expect(s.reason).to.equal(detail);
      if (s.state === "Expired") expect(s.action).to.equal(detail);
    });
  }

  it("says when to look again", () => {
    expect(lifetimeOf({ nhi: nhi({ expiresAt: iso(NOW + 30 * DAY) }), now: NOW })).to.deep.equal({
      state: "Valid",
      nextAt: NOW + 23 * DAY,
    });
  });

  const objs: LifetimeObjects = {
    serviceAccountExists: true,
    legacyTokenSecrets: ["legacy"],
    managedTokenSecrets: ["ci-token"],
    anchors: ["ci-token-nhi-g3"],
    managedOtherSecrets: ["signing"],
  };

  it("Disable and suspension revoke every token, nothing else", () => {
    for (const s of [
      lifetimeOf({ nhi: nhi({ expiresAt: iso(NOW - 1) }), now: NOW }),
      lifetimeOf({ nhi: nhi(undefined, true), now: NOW }),
    ]) {
      expect(lifetimeActions(s, "sa", objs).map((a) => `${a.kind}:${a.name}`)).to.deep.equal([
        "DeleteSecret:ci-token-nhi-g3",
        "DeleteSecret:ci-token",
        "DeleteSecret:legacy",
      ]);
      expect(mayIssueCredentials(s)).to.equal(false);
    }
  });

  it("Delete also removes the ServiceAccount and managed Secrets; Notify does nothing", () => {
    const del = lifetimeActions(
      lifetimeOf({ nhi: nhi({ expiresAt: iso(NOW - 1), onExpiry: "Delete" }), now: NOW }),
      "sa",
      objs,
    );
    expect(del.map((a) => `${a.kind}:${a.name}`)).to.deep.equal([
      "DeleteSecret:ci-token-nhi-g3",
      "DeleteSecret:ci-token",
      "DeleteSecret:legacy",
      "DeleteSecret:signing",
      "DeleteServiceAccount:sa",
    ]);
    const notify = lifetimeOf({
      nhi: nhi({ expiresAt: iso(NOW - 1), onExpiry: "Notify" }),
      now: NOW,
    });
    expect(lifetimeActions(notify, "sa", objs)).to.deep.equal([]);
    expect(mayIssueCredentials(notify)).to.equal(true);
  });

  it("is idempotent: nothing left, nothing to do", () => {
    const s = lifetimeOf({ nhi: nhi({ expiresAt: iso(NOW - 1), onExpiry: "Delete" }), now: NOW });
    expect(
      lifetimeActions(s, "sa", {
        serviceAccountExists: false,
        legacyTokenSecrets: [],
        managedTokenSecrets: [],
        anchors: [],
        managedOtherSecrets: [],
      }),
    ).to.deep.equal([]);
  });
});
