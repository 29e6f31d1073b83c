import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../../crds/load.js";
import type { AdmissionReviewResponse } from "../../../webhooks/admission/review.js";
import { snapshotView } from "../../../operator/k8s/cache/static.js";
import { testHandler } from "./helpers.js";
import { POLICY, snapshot } from "./world.js";

interface Expect {
  http?: number;
  allowed?: boolean;
  code?: number;
  rules?: string[];
  warnings?: string[];
  message?: string[];
  audit?: Record<string, string>;
  absent?: string[];
}

const FIXTURES = join(repoRoot(), "test", "fixtures", "admission");

describe("webhook handler: AdmissionReview fixtures", () => {
  const { handle, lines } = testHandler();
  for (const file of readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    it(file.replace(/\.json$/, ""), () => {
      const { review, expect: want } = JSON.parse(readFileSync(join(FIXTURES, file), "utf8")) as {
        review: { request?: { uid?: string } };
        expect: Expect;
      };
      const before = lines.length;
      const result = handle(review);
      expect(result.status).to.equal(want.http ?? 200);
      if (want.http) return;
      const { response } = result.body as AdmissionReviewResponse;
      expect(response.uid).to.equal(review.request?.uid);
      const text = JSON.stringify(response);
      expect(response.allowed, text).to.equal(want.allowed);
      if (want.code !== undefined) expect(response.status?.code, text).to.equal(want.code);
      for (const r of want.rules ?? [])
        expect(response.status?.message ?? "", text).to.contain(`[${r}]`);
      for (const w of want.warnings ?? [])
        expect((response.warnings ?? []).join("\n"), text).to.contain(w);
      for (const m of want.message ?? [])
        expect(response.status?.message ?? "", text).to.contain(m);
      for (const [k, v] of Object.entries(want.audit ?? {}))
        expect(response.auditAnnotations?.[k], text).to.equal(v);
      // Nothing of the object's secret material in the answer or the logs.
      const logged = lines.slice(before).join("");
      for (const a of want.absent ?? []) {
        expect(text).not.to.contain(a);
        expect(logged).not.to.contain(a);
      }
      for (const line of lines.slice(before)) expect(JSON.parse(line)).to.have.property("uid");
    });
  }

  it("denies with 503 until the cache has synced", () => {
    const view = { ...snapshotView(snapshot()), synced: () => false };
    const { handle } = testHandler(view);
    const review = JSON.parse(readFileSync(join(FIXTURES, "pod-allowed.json"), "utf8")) as {
      review: unknown;
    };
    const { response } = handle(review.review).body as AdmissionReviewResponse;
    expect(response.allowed).to.equal(false);
    expect(response.status?.code).to.equal(503);
  });

  it("turns a check that throws into a 500 denial naming the request, not a crash or an allow", () => {
    const view = snapshotView(snapshot());
    const broken = {
      ...view,
      directory: {
        ...view.directory,
        nhiFor: () => {
          throw new Error("boom");
        },
      },
    };
    const { handle } = testHandler(broken);
    const review = JSON.parse(readFileSync(join(FIXTURES, "pod-allowed.json"), "utf8")) as {
      review: unknown;
    };
    const { response } = handle(review.review).body as AdmissionReviewResponse;
    expect(response.allowed).to.equal(false);
    expect(response.status?.code).to.equal(500);
    expect(response.status?.message).to.contain("CREATE Pod shop/p");
  });

  it("counts decisions by resource, operation, result and rule", async () => {
    const { handle, metrics } = testHandler();
    const review = JSON.parse(readFileSync(join(FIXTURES, "pod-image-denied.json"), "utf8")) as {
      review: unknown;
    };
    handle(review.review);
    const text = await metrics.registry.metrics();
    expect(text).to.match(
      /nhi_webhook_decisions_total\{resource="pods",operation="CREATE",result="denied",rule="workload-image"\} 1/,
    );
    expect(text).to.contain("nhi_webhook_request_duration_seconds_bucket");
  });

  describe("break-glass without allowedGroups", () => {
    const view = snapshotView(
      snapshot({
        policies: [
          {
            ...POLICY,
            spec: {
              ...POLICY.spec,
              breakGlass: {
                annotation: "nhi.io/break-glass",
                reasonAnnotation: "nhi.io/break-glass-reason",
              },
            },
          },
        ],
      }),
    );
    const base = (
      JSON.parse(readFileSync(join(FIXTURES, "pod-break-glass.json"), "utf8")) as {
        review: { request: Record<string, unknown> };
      }
    ).review;
    const as = (username: string, groups: string[], ownerReferences?: unknown[]): unknown => {
      const object = base.request.object as { metadata: Record<string, unknown> };
      return {
        ...base,
        request: {
          ...base.request,
          userInfo: { username, groups },
          object: {
            ...object,
            metadata: { ...object.metadata, ...(ownerReferences ? { ownerReferences } : {}) },
          },
        },
      };
    };

    it("lets a human user override a denial, recorded", () => {
      const { handle, metrics } = testHandler(view);
      const { response } = handle(as("bob", ["devs", "system:authenticated"]))
        .body as AdmissionReviewResponse;
      expect(response.allowed, JSON.stringify(response)).to.equal(true);
      expect(response.auditAnnotations).to.deep.include({
        decision: "break-glass",
        "break-glass-user": "bob",
        "break-glass-rules": "nhi-suspended",
      });
      return metrics.registry
        .metrics()
        .then((t) => expect(t).to.match(/nhi_webhook_break_glass_total\{resource="pods"\} 1/));
    });

    it("refuses it to ServiceAccounts (the governed one, a controller creating pods from an annotated template) and nodes", () => {
      const { handle } = testHandler(view);
      const sa = (ns: string, name: string): [string, string[]] => [
        `system:serviceaccount:${ns}:${name}`,
        ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"],
      ];
      const rsOwner = [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: "q-1", uid: "u", controller: true },
      ];
      for (const [user, groups, owner] of [
        [...sa("shop", "quarantined")],
        [...sa("kube-system", "replicaset-controller"), rsOwner],
        ["system:node:n1", ["system:nodes", "system:authenticated"]],
      ] as [string, string[], unknown[] | undefined][]) {
        const { response } = handle(as(user, groups, owner)).body as AdmissionReviewResponse;
        expect(response.allowed, user).to.equal(false);
        expect(response.status?.message)
          .to.contain("[nhi-suspended]")
          .and.contain("break-glass is reserved to human users")
          .and.contain(user);
        expect(response.auditAnnotations?.decision).to.equal("denied");
      }
    });
  });
});
