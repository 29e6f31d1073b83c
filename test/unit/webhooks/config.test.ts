import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { repoRoot } from "../../../crds/load.js";
import {
  REGISTERED_RESOURCES,
  metricResource,
  notOurRegistration,
  webhookConfiguration,
} from "../../../webhooks/config.js";

describe("ValidatingWebhookConfiguration", () => {
  it("the shipped manifest equals what the code registers", () => {
    const shipped: unknown = parse(
      readFileSync(
        join(repoRoot(), "manifests", "webhook", "validating-webhook-configuration.yaml"),
        "utf8",
      ),
    );
    expect(shipped).to.deep.equal(
      webhookConfiguration({
        service: { namespace: "nhi-system", name: "nhi-operator-webhook", port: 443 },
        ownNamespace: "nhi-system",
        failurePolicy: "Fail",
        timeoutSeconds: 5,
      }),
    );
  });

  it("never judges kube-system or its own namespace, has no side effects, matches equivalent versions, times out fast", () => {
    const cfg = webhookConfiguration({
      url: "https://127.0.0.1:8443/validate",
      ownNamespace: "ops",
      caBundlePem: "PEM",
      failurePolicy: "Ignore",
    });
    const [w] = cfg.webhooks as Record<string, unknown>[];
    expect(w).to.deep.include({
      sideEffects: "None",
      matchPolicy: "Equivalent",
      failurePolicy: "Ignore",
      admissionReviewVersions: ["v1"],
    });
    expect(w?.timeoutSeconds).to.be.at.most(10);
    expect(w?.namespaceSelector).to.deep.equal({
      matchExpressions: [
        { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "ops"] },
      ],
    });
    expect(w?.clientConfig).to.deep.equal({
      url: "https://127.0.0.1:8443/validate",
      caBundle: Buffer.from("PEM").toString("base64"),
    });
  });

  it("metric resource labels: the registered resources by name, anything else other", () => {
    for (const r of [
      "pods",
      "secrets",
      "serviceaccounts/token",
      "deployments.apps",
      "cronjobs.batch",
      "clusterrolebindings.rbac.authorization.k8s.io",
      "nonhumanidentities.nhi.io",
    ]) {
      expect(metricResource(r)).to.equal(r);
    }
    expect(REGISTERED_RESOURCES.size).to.equal(16);
    for (const r of ["serviceaccounts", "pods/exec", "deployments", "x".repeat(1000)])
      expect(metricResource(r)).to.equal("other");
  });

  it("a registration is ours only when its webhook calls our URL with our CA bundle", () => {
    const ours = { url: "https://127.0.0.1:8443/validate", caBundlePem: "PEM-A" };
    expect(
      notOurRegistration(webhookConfiguration({ ...ours, ownNamespace: "ops" }), ours),
    ).to.equal(undefined);
    expect(
      notOurRegistration(
        webhookConfiguration({
          url: "https://127.0.0.1:9443/validate",
          caBundlePem: "PEM-A",
          ownNamespace: "ops",
        }),
        ours,
      ),
    ).to.contain("9443");
    expect(
      notOurRegistration(
        webhookConfiguration({ url: ours.url, caBundlePem: "PEM-B", ownNamespace: "ops" }),
        ours,
      ),
    ).to.contain("caBundle");
    expect(
      notOurRegistration(
        webhookConfiguration({
          service: { namespace: "ops", name: "x" },
          caBundlePem: "PEM-A",
          ownNamespace: "ops",
        }),
        ours,
      ),
    ).to.contain("a Service");
    expect(notOurRegistration({ webhooks: "nope" }, ours)).to.contain("no webhook");
    expect(notOurRegistration(null, ours)).to.contain("no webhook");
  });
});
