// Thousands of random and mutated AdmissionReviews: the handler must always answer (no throw, no
// unhandled rejection), with a review carrying the request's uid or a 400, and never allow a
// fixture that it denies unless the mutation changed what is judged.
import { expect } from "chai";
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../../crds/load.js";
import type { AdmissionReviewResponse } from "../../../webhooks/admission/review.js";
import { testHandler } from "./helpers.js";

const FIXTURES = join(repoRoot(), "test", "fixtures", "admission");
const reviews: unknown[] = readdirSync(FIXTURES).filter((f) => f.endsWith(".json")).sort()
  .map((f) => (JSON.parse(readFileSync(join(FIXTURES, f), "utf8")) as { review: unknown }).review);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Replaces the value at a random path with a random JSON value, or deletes it. */
function mutate(value: Json, path: number[], replacement: Json, del: boolean): Json {
  if (path.length === 0 || value === null || typeof value !== "object") return replacement;
  const [head = 0, ...rest] = path;
  if (Array.isArray(value)) {
    if (value.length === 0) return replacement;
    const i = head % value.length;
    const copy = [...value];
    if (rest.length === 0 && del) copy.splice(i, 1);
    else copy[i] = mutate(copy[i] ?? null, rest, replacement, del);
    return copy;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return replacement;
  const k = keys[head % keys.length] ?? "";
  const copy = { ...value };
  if (rest.length === 0 && del) delete copy[k];
  else copy[k] = mutate(copy[k] ?? null, rest, replacement, del);
  return copy;
}

function assertAnswer(result: ReturnType<ReturnType<typeof testHandler>["handle"]>, input: unknown): void {
  if (result.status === 400) {
    expect(result.body).to.have.property("error");
    return;
  }
  expect(result.status).to.equal(200);
  const { response } = result.body as AdmissionReviewResponse;
  expect(response.uid).to.be.a("string");
  const uid = (input as { request?: { uid?: unknown } }).request?.uid;
  expect(response.uid).to.equal(uid);
  expect(response.allowed).to.be.a("boolean");
  if (!response.allowed) {
    expect(response.status?.message).to.be.a("string").and.not.equal("");
    expect([400, 403, 422, 500, 503]).to.include(response.status?.code);
  }
}

describe("webhook handler: fuzz", function () {
  this.timeout(120_000);
  const { handle } = testHandler();
  const json = fc.jsonValue() as fc.Arbitrary<Json>;

  it("answers 3,000 mutated fixtures without throwing", () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: reviews.length - 1 }), fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), json, fc.boolean(),
      (i, path, replacement, del) => {
        const input = mutate(reviews[i] as Json, path, replacement, del);
        assertAnswer(handle(input), input);
      },
    ), { numRuns: 3000, seed: 4242 });
  });

  it("answers 1,000 arbitrary JSON values and 1,000 random requests without throwing", () => {
    fc.assert(fc.property(json, (input) => {
      assertAnswer(handle(input), input);
    }), { numRuns: 1000, seed: 7 });
    const request = fc.record({
      uid: fc.oneof(fc.uuid(), fc.string()),
      kind: fc.record({ group: fc.constantFrom("", "apps", "rbac.authorization.k8s.io", "nhi.io", "batch"), version: fc.constantFrom("v1", "v1alpha1"), kind: fc.string() }),
      resource: fc.record({ group: fc.constantFrom("", "apps", "rbac.authorization.k8s.io", "nhi.io", "batch"), version: fc.constantFrom("v1", "v1alpha1"),
        resource: fc.constantFrom("pods", "deployments", "cronjobs", "roles", "clusterroles", "rolebindings", "clusterrolebindings", "secrets", "serviceaccounts", "nonhumanidentities", "nhipolicies") }),
      subResource: fc.option(fc.constantFrom("token", "status", "exec"), { nil: undefined }),
      operation: fc.constantFrom("CREATE", "UPDATE", "DELETE", "CONNECT"),
      namespace: fc.option(fc.constantFrom("shop", "ci", "sandbox", "prod"), { nil: undefined }),
      name: fc.option(fc.constantFrom("orders-api", "admin-bot", "x"), { nil: undefined }),
      userInfo: fc.record({ username: fc.constantFrom("alice", "system:serviceaccount:ci:deployer", "system:serviceaccount:shop:orders-api", "system:node:n1"), groups: fc.array(fc.constantFrom("sre", "system:authenticated")) }),
      object: json,
      oldObject: fc.option(json, { nil: undefined }),
      dryRun: fc.boolean(),
    });
    fc.assert(fc.property(request, (r) => {
      const input = { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: r };
      assertAnswer(handle(input), input);
    }), { numRuns: 1000, seed: 11 });
  });
});
