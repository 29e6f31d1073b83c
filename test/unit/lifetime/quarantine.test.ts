// Quarantine of a suspended identity's RBAC (core/lifetime/quarantine.ts): its subjects are parked
// out of a binding with a record on the binding, and put back exactly when the suspension is lifted.
import { expect } from "chai";
import {
  PARKED_SUBJECTS_ANNOTATION,
  namesServiceAccount,
  parkSubjects,
  parkedSubjects,
  restoreSubjects,
  type BindingLike,
} from "../../../core/lifetime/quarantine.js";

const SA = { namespace: "shop", name: "api" };

function binding(
  subjects: BindingLike["subjects"],
  annotations?: Record<string, string>,
): BindingLike {
  return {
    kind: "RoleBinding",
    metadata: { name: "api", namespace: "shop", ...(annotations ? { annotations } : {}) },
    ...(subjects ? { subjects } : {}),
  };
}

describe("quarantine: parking a suspended identity's binding subjects", () => {
  it("recognises the ServiceAccount by subject (namespace defaulted to the binding's) and by username", () => {
    expect(namesServiceAccount({ kind: "ServiceAccount", name: "api" }, "shop", SA)).to.equal(true);
    expect(
      namesServiceAccount({ kind: "ServiceAccount", name: "api", namespace: "web" }, "shop", SA),
    ).to.equal(false);
    expect(
      namesServiceAccount({ kind: "User", name: "system:serviceaccount:shop:api" }, "", SA),
    ).to.equal(true);
    expect(
      namesServiceAccount({ kind: "Group", name: "system:serviceaccounts:shop" }, "shop", SA),
    ).to.equal(false);
  });

  it("takes only the identity's subjects out and records them for its NHI", () => {
    const other = { kind: "ServiceAccount" as const, name: "web", namespace: "shop" };
    const mine = { kind: "ServiceAccount" as const, name: "api", namespace: "shop" };
    const c = parkSubjects(binding([other, mine], { team: "shop" }), SA, "shop/api");
    expect(c?.subjects).to.deep.equal([other]);
    expect(c?.moved).to.deep.equal([mine]);
    expect(c?.annotations.team).to.equal("shop");
    expect(parkedSubjects(c?.annotations)).to.deep.equal([{ nhi: "shop/api", subject: mine }]);
  });

  it("a binding that does not name the identity is left alone", () => {
    expect(
      parkSubjects(binding([{ kind: "Group", name: "system:serviceaccounts" }]), SA, "shop/api"),
    ).to.equal(undefined);
    expect(parkSubjects(binding(undefined), SA, "shop/api")).to.equal(undefined);
  });

  it("restores exactly what was parked for that NHI, keeps other NHIs' records, and is idempotent", () => {
    const mine = { kind: "ServiceAccount" as const, name: "api", namespace: "shop" };
    const theirs = { kind: "ServiceAccount" as const, name: "web", namespace: "shop" };
    const parked = parkSubjects(binding([mine, theirs]), SA, "shop/api");
    const both = parkSubjects(
      binding(parked?.subjects, parked?.annotations),
      { namespace: "shop", name: "web" },
      "shop/web",
    );
    expect(both?.subjects).to.deep.equal([]);
    const back = restoreSubjects(binding(both?.subjects, both?.annotations), "shop/api");
    expect(back?.subjects).to.deep.equal([mine]);
    expect(parkedSubjects(back?.annotations)).to.deep.equal([{ nhi: "shop/web", subject: theirs }]);
    const last = restoreSubjects(binding(back?.subjects, back?.annotations), "shop/web");
    expect(last?.subjects).to.deep.equal([mine, theirs]);
    expect(last?.annotations[PARKED_SUBJECTS_ANNOTATION]).to.equal(undefined);
    expect(restoreSubjects(binding(last?.subjects, last?.annotations), "shop/api")).to.equal(
      undefined,
    );
  });

  it("a subject put back by hand meanwhile is not duplicated; a garbled record reads as none", () => {
    const mine = { kind: "ServiceAccount" as const, name: "api", namespace: "shop" };
    const parked = parkSubjects(binding([mine]), SA, "shop/api");
    expect(
      restoreSubjects(binding([mine], parked?.annotations), "shop/api")?.subjects,
    ).to.deep.equal([mine]);
    expect(parkedSubjects({ [PARKED_SUBJECTS_ANNOTATION]: "{not json" })).to.deep.equal([]);
    expect(parkedSubjects({ [PARKED_SUBJECTS_ANNOTATION]: '[{"nhi":1}]' })).to.deep.equal([]);
  });
});
