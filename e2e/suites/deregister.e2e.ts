// Stopping a development operator removes only its own webhook registration (issue 15, item 8): two
// processes register the shipped ValidatingWebhookConfiguration with --register-webhook auto (each
// its own URL and development CA); the second re-registers it; stopping the first leaves it
// pointing at the second, and stopping the second removes it.
import assert from "node:assert/strict";
import { sharedCluster } from "../harness/mocha.js";
import type { KubeObject } from "../harness/kube.js";
import { waitFor } from "../harness/wait.js";
import { WEBHOOK_CONFIGURATION_NAME } from "../../webhooks/config.js";
import { useOperator, type OperatorProcess } from "./reconcilers-helpers.js";

interface WebhookConfigurationObject extends KubeObject {
  webhooks?: { name: string; clientConfig?: { url?: string; caBundle?: string } }[];
}

const registered = (): Promise<WebhookConfigurationObject | undefined> =>
  sharedCluster().kube.get<WebhookConfigurationObject>(
    "admissionregistration.k8s.io/v1",
    "ValidatingWebhookConfiguration",
    WEBHOOK_CONFIGURATION_NAME,
  );

/** The URL the process logged when it registered itself. */
async function registeredUrlOf(op: OperatorProcess): Promise<string> {
  let url = "";
  await waitFor(
    "the operator to register its webhook",
    () => {
      const m =
        /"message":"registered the ValidatingWebhookConfiguration"[^\n]*"url":"([^"]+)"|"url":"([^"]+)"[^\n]*"message":"registered the ValidatingWebhookConfiguration"/.exec(
          op.logs(),
        );
      url = m?.[1] ?? m?.[2] ?? "";
      return url !== "";
    },
    { timeoutMs: 90_000, describe: () => op.logs().slice(-1500) },
  );
  return url;
}

describe("webhook deregistration (two development operators)", function () {
  this.timeout(240_000);
  const operators = useOperator();

  after(async () => {
    await sharedCluster()
      .kube.delete(
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        WEBHOOK_CONFIGURATION_NAME,
      )
      .catch(() => undefined);
  });

  it("stopping the first leaves the registration the second made, stopping the second removes it", async () => {
    const args = ["--register-webhook", "auto", "--no-controllers"];
    const first = await operators.start({ args, waitReady: false });
    const firstUrl = await registeredUrlOf(first);
    assert.equal((await registered())?.webhooks?.[0]?.clientConfig?.url, firstUrl);

    const second = await operators.start({ args, waitReady: false });
    const secondUrl = await registeredUrlOf(second);
    assert.notEqual(secondUrl, firstUrl);
    const afterSecond = await registered();
    assert.equal(afterSecond?.webhooks?.[0]?.clientConfig?.url, secondUrl);

    await first.stop();
    assert.match(first.logs(), /left the ValidatingWebhookConfiguration in place/);
    const afterFirstStopped = await registered();
    assert.ok(afterFirstStopped, "stopping the first operator deleted the second's registration");
    assert.equal(afterFirstStopped.webhooks?.[0]?.clientConfig?.url, secondUrl);
    assert.equal(
      afterFirstStopped.webhooks?.[0]?.clientConfig?.caBundle,
      afterSecond?.webhooks?.[0]?.clientConfig?.caBundle,
    );

    await second.stop();
    assert.match(second.logs(), /removed the ValidatingWebhookConfiguration/);
    assert.equal(
      await registered(),
      undefined,
      "the second operator's own registration outlived it",
    );
  });
});
