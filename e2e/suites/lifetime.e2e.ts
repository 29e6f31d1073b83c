// Lifetimes against a real kube-apiserver: an NHI past lifetime.expiresAt with onExpiry: Disable
// loses every token (operator-issued and legacy) and they stop authenticating; suspension
// quarantines at once and is reversible.
import assert from "node:assert/strict";
import { sharedCluster, useNamespace } from "../harness/mocha.js";
import { waitFor } from "../harness/wait.js";
import {
  OWNER,
  authenticates,
  eventsOf,
  getNhi,
  getSecret,
  nhiYaml,
  useOperator,
  tokenOf,
} from "./reconcilers-helpers.js";

describe("lifetime: expiry and quarantine on a real control plane", function () {
  const ns = useNamespace("life");
  const operator = useOperator();

  async function tokensOf(
    n: string,
    sa: string,
  ): Promise<{
    issued: NonNullable<ReturnType<typeof tokenOf>>;
    legacy: NonNullable<ReturnType<typeof tokenOf>>;
  }> {
    const issued = await waitFor(
      "the operator-issued token",
      async () => tokenOf(await getSecret(n, `${sa}-token`)),
      { timeoutMs: 30_000 },
    );
    const legacy = await waitFor(
      "the legacy token",
      async () => tokenOf(await getSecret(n, `${sa}-legacy`)),
      { timeoutMs: 30_000 },
    );
    return { issued, legacy };
  }

  it("turns Expiring before lifetime.expiresAt, then Disables: tokens revoked and rejected by the API server", async function () {
    this.timeout(120_000);
    const c = sharedCluster();
    const n = ns();
    const expiresAt = new Date(Date.now() + 25_000).toISOString().replace(/\.\d+Z$/, "Z");
    await c.applyAs(`apiVersion: v1
kind: ServiceAccount
metadata: { name: temp, namespace: ${n} }
---
apiVersion: v1
kind: Secret
metadata: { name: temp-legacy, namespace: ${n}, annotations: { kubernetes.io/service-account.name: temp } }
type: kubernetes.io/service-account-token
`);
    const v = await c.applyAs(
      nhiYaml(
        n,
        "temp",
        `${OWNER}\nserviceAccountName: temp\nlegacyTokens: Allow\nlifetime: { expiresAt: "${expiresAt}", onExpiry: Disable }\ncredentials:\n  - { name: ci, type: ServiceAccountToken, secretName: temp-token, ttl: 1h }`,
      ),
    );
    assert.ok(v.allowed, v.message);
    await operator.start();
    const { issued, legacy } = await tokensOf(n, "temp");
    assert.equal(await authenticates(issued), true);
    assert.equal(await authenticates(legacy), true);
    await waitFor(
      "phase Expiring",
      async () => (await getNhi(n, "temp"))?.status?.phase === "Expiring",
      { timeoutMs: 20_000 },
    );

    await waitFor(
      "phase Expired",
      async () => (await getNhi(n, "temp"))?.status?.phase === "Expired",
      { timeoutMs: 60_000 },
    );
    await waitFor(
      "the token Secrets to be deleted",
      async () =>
        (await getSecret(n, "temp-token")) === undefined &&
        (await getSecret(n, "temp-legacy")) === undefined,
      { timeoutMs: 30_000 },
    );
    await waitFor(
      "both tokens to stop authenticating",
      async () => !(await authenticates(issued)) && !(await authenticates(legacy)),
      { timeoutMs: 20_000 },
    );
    const nhi = await getNhi(n, "temp");
    const ready = nhi?.status?.conditions?.find((x) => x.type === "Ready");
    assert.equal(ready?.status, "False");
    assert.match(ready?.message ?? "", /onExpiry Disable/);
    const reasons = (await eventsOf(n, "temp")).map((e) => e.reason);
    for (const r of ["Expiring", "Expired", "Disabled"])
      assert.ok(reasons.includes(r), `no ${r} event in ${reasons.join(",")}`);
    // It stays disabled: no new token is issued for an expired identity.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(
      await getSecret(n, "temp-token"),
      undefined,
      "a token was re-issued after Disable",
    );
    assert.ok(
      await c.kube.get("v1", "ServiceAccount", "temp", n),
      "Disable must not delete the ServiceAccount",
    );
  });

  it("quarantines a suspended identity at once and re-issues its credential when un-suspended", async function () {
    this.timeout(120_000);
    const c = sharedCluster();
    const n = ns();
    await c.applyAs(
      `apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: q, namespace: ${n} }\n`,
    );
    const spec = (suspended: boolean): string =>
      `${OWNER}\nserviceAccountName: q\nsuspended: ${suspended}\ncredentials:\n  - { name: ci, type: ServiceAccountToken, secretName: q-token, ttl: 1h }`;
    await c.applyAs(nhiYaml(n, "q", spec(false)));
    await operator.start();
    const token = await waitFor("the token", async () => tokenOf(await getSecret(n, "q-token")), {
      timeoutMs: 30_000,
    });
    assert.equal(await authenticates(token), true);

    await c.applyAs(nhiYaml(n, "q", spec(true)));
    await waitFor("the token to be revoked", async () => !(await authenticates(token)), {
      timeoutMs: 30_000,
    });
    await waitFor(
      "phase Suspended",
      async () => (await getNhi(n, "q"))?.status?.phase === "Suspended",
      { timeoutMs: 20_000 },
    );
    assert.equal(await getSecret(n, "q-token"), undefined);

    await c.applyAs(nhiYaml(n, "q", spec(false)));
    const fresh = await waitFor(
      "a new token after un-suspending",
      async () => tokenOf(await getSecret(n, "q-token")),
      { timeoutMs: 30_000 },
    );
    assert.equal(await authenticates(fresh), true);
    await waitFor(
      "phase Active again",
      async () => (await getNhi(n, "q"))?.status?.phase === "Active",
      { timeoutMs: 20_000 },
    );
  });
});
