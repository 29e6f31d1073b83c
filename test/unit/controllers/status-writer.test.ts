// The inventory's status patch names every status field it owns (null removes one): a field the
// desired status carries but the patch leaves out is never written, and every pass then sees a
// change to write again. status.anomalies and status.rightsize are the audit sink's, written by it.
import { expect } from "chai";
import type { NonHumanIdentityStatus } from "../../../core/nhi/types.js";
import { statusPatch } from "../../../operator/k8s/status-writer.js";
import { NHI_SHAPE } from "../nhi/fixtures.js";

const SINK_FIELDS = ["anomalies", "rightsize"];

describe("NHI status writer", () => {
  it("patches every status field the inventory owns, and none of the audit sink's", () => {
    const full = NHI_SHAPE.status as NonHumanIdentityStatus;
    const patched = statusPatch(full).status as Record<string, unknown>;
    const owned = Object.keys(full).filter((k) => !SINK_FIELDS.includes(k));
    expect(Object.keys(patched).sort()).to.deep.equal(owned.sort());
    for (const k of owned) expect(patched[k], k).to.deep.equal(full[k as keyof typeof full]);
  });

  it("removes what the desired status no longer carries (null)", () => {
    const patched = statusPatch({ phase: "Active" }).status as Record<string, unknown>;
    expect(patched.phase).to.equal("Active");
    expect(patched.blastRadius).to.equal(null);
    expect(patched.risk).to.equal(null);
  });
});
