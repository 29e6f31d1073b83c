// The audit sink trusts the operator's own TokenRequests without a flag: its identity is asked of
// the API server (SelfSubjectReview) at start. Before, --audit-trusted-minter had no default, so the
// use of a token the operator minted for a ServiceAccountToken credential read as minted elsewhere.
import { expect } from "chai";
import { withOwnIdentity } from "../../../operator/main.js";
import type { KubeRest } from "../../../operator/k8s/rest.js";
import { nullLog } from "../../../edge/log.js";

const OPERATOR = "system:serviceaccount:nhi-system:nhi-operator";

function rest(answer: () => unknown): { rest: KubeRest; asked: string[] } {
  const asked: string[] = [];
  const fake = {
    request: async (method: string, path: string) => {
      asked.push(`${method} ${path}`);
      return answer();
    },
  };
  return { rest: fake as unknown as KubeRest, asked };
}

describe("audit sink: the operator's own identity is a trusted minter", () => {
  it("adds the username the API server reports, after the flags' minters", async () => {
    const r = rest(() => ({ status: { userInfo: { username: OPERATOR } } }));
    expect(
      await withOwnIdentity(["system:serviceaccount:vault:broker"], r.rest, nullLog),
    ).to.deep.equal(["system:serviceaccount:vault:broker", OPERATOR]);
    expect(r.asked).to.deep.equal(["POST /apis/authentication.k8s.io/v1/selfsubjectreviews"]);
  });

  it("does not repeat a minter already given, and keeps the flags' list when the API server cannot say", async () => {
    expect(
      await withOwnIdentity(
        [OPERATOR],
        rest(() => ({ status: { userInfo: { username: OPERATOR } } })).rest,
        nullLog,
      ),
    ).to.deep.equal([OPERATOR]);
    expect(
      await withOwnIdentity(
        ["a"],
        rest(() => {
          throw new Error("403 Forbidden");
        }).rest,
        nullLog,
      ),
    ).to.deep.equal(["a"]);
  });
});
