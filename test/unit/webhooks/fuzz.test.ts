// Thousands of seeded random and mutated AdmissionReviews (issue 15, item 4): the handler must always
// answer — no exception escapes, and none is caught inside either (no 500 InternalError, no
// internal-error rule) — with a well-formed review carrying the request's uid or a 400; and a
// mutation that keeps the meaning (key order, unknown envelope fields, whitespace) keeps the verdict.
import { expect } from "chai";
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../../crds/load.js";
import type { AdmissionReviewResponse } from "../../../webhooks/admission/review.js";
import { testHandler } from "./helpers.js";

const FIXTURES = join(repoRoot(), "test", "fixtures", "admission");
const reviews: unknown[] = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".json"))
  .sort()
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

function assertAnswer(
  result: ReturnType<ReturnType<typeof testHandler>["handle"]>,
  input: unknown,
): void {
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
    // 500 would be an exception the handler caught: malformed input must be a 400 naming the problem.
    expect([400, 403, 422, 503], response.status?.message).to.include(response.status?.code);
    expect(response.status?.message).not.to.contain("[internal-error]");
  }
  for (const w of response.warnings ?? []) expect(w).to.be.a("string");
}

/** What a verdict is: allowed, the status code, the rules it names (messages may order their parts differently). */
function verdictOf(result: ReturnType<ReturnType<typeof testHandler>["handle"]>): unknown {
  if (result.status !== 200) return { http: result.status };
  const { response } = result.body as AdmissionReviewResponse;
  const rules = (text: string): string[] =>
    [...new Set([...text.matchAll(/\[([a-z0-9-]+)\]/g)].map((m) => m[1] ?? ""))].sort();
  return {
    allowed: response.allowed,
    code: response.status?.code,
    reason: response.status?.reason,
    denied: rules(response.status?.message ?? ""),
    warned: rules((response.warnings ?? []).join("\n")),
  };
}

/** The same JSON with every object's keys in an order drawn from `order`. */
function reorder(value: Json, order: readonly number[], at = { i: 0 }): Json {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => reorder(v, order, at));
  const keys = Object.keys(value);
  const shuffled: string[] = [];
  while (keys.length > 0)
    shuffled.push(
      ...keys.splice((order[at.i++ % Math.max(order.length, 1)] ?? 0) % keys.length, 1),
    );
  return Object.fromEntries(shuffled.map((k) => [k, reorder(value[k] ?? null, order, at)]));
}

/** The JSON text as a client might send it, with whitespace between tokens, parsed as the server does. */
function respaced(value: Json, spaces: readonly string[]): Json {
  let n = 0;
  const ws = (): string => spaces[n++ % spaces.length] ?? "";
  const text = (v: Json): string => {
    if (Array.isArray(v)) return `[${ws()}${v.map(text).join(`${ws()},${ws()}`)}${ws()}]`;
    if (v !== null && typeof v === "object")
      return `{${ws()}${Object.entries(v)
        .map(([k, x]) => `${JSON.stringify(k)}${ws()}:${ws()}${text(x)}`)
        .join(`${ws()},${ws()}`)}${ws()}}`;
    return JSON.stringify(v);
  };
  return JSON.parse(`${ws()}${text(value)}${ws()}`) as Json;
}

describe("webhook handler: fuzz", function () {
  this.timeout(120_000);
  const { handle } = testHandler();
  const json = fc.jsonValue() as fc.Arbitrary<Json>;

  it("answers 3,000 mutated fixtures without throwing", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: reviews.length - 1 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
        json,
        fc.boolean(),
        (i, path, replacement, del) => {
          const input = mutate(reviews[i] as Json, path, replacement, del);
          assertAnswer(handle(input), input);
        },
      ),
      { numRuns: 3000, seed: 4242 },
    );
  });

  it("answers 1,000 arbitrary JSON values and 1,000 random requests without throwing", () => {
    fc.assert(
      fc.property(json, (input) => {
        assertAnswer(handle(input), input);
      }),
      { numRuns: 1000, seed: 7 },
    );
    const request = fc.record({
      uid: fc.oneof(fc.uuid(), fc.string()),
      kind: fc.record({
        group: fc.constantFrom("", "apps", "rbac.authorization.k8s.io", "nhi.io", "batch"),
        version: fc.constantFrom("v1", "v1alpha1"),
        kind: fc.string(),
      }),
      resource: fc.record({
        group: fc.constantFrom("", "apps", "rbac.authorization.k8s.io", "nhi.io", "batch"),
        version: fc.constantFrom("v1", "v1alpha1"),
        resource: fc.constantFrom(
          "pods",
          "deployments",
          "cronjobs",
          "roles",
          "clusterroles",
          "rolebindings",
          "clusterrolebindings",
          "secrets",
          "serviceaccounts",
          "nonhumanidentities",
          "nhipolicies",
        ),
      }),
      subResource: fc.option(fc.constantFrom("token", "status", "exec"), { nil: undefined }),
      operation: fc.constantFrom("CREATE", "UPDATE", "DELETE", "CONNECT"),
      namespace: fc.option(fc.constantFrom("shop", "ci", "sandbox", "prod"), { nil: undefined }),
      name: fc.option(fc.constantFrom("orders-api", "admin-bot", "x"), { nil: undefined }),
      userInfo: fc.record({
        username: fc.constantFrom(
          "alice",
          "system:serviceaccount:ci:deployer",
          "system:serviceaccount:shop:orders-api",
          "system:node:n1",
        ),
        groups: fc.array(fc.constantFrom("sre", "system:authenticated")),
      }),
      object: json,
      oldObject: fc.option(json, { nil: undefined }),
      dryRun: fc.boolean(),
    });
    fc.assert(
      fc.property(request, (r) => {
        const input = { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: r };
        assertAnswer(handle(input), input);
      }),
      { numRuns: 1000, seed: 11 },
    );
  });

  it("keeps the verdict of every fixture under 1,000 meaning-preserving mutations (key order, unknown envelope fields, whitespace)", () => {
    const verdicts = reviews.map((r) => verdictOf(handle(r)));
    const unknownField = fc.tuple(
      fc.string({ minLength: 1, maxLength: 12 }).map((k) => `x-${k}`),
      json,
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: reviews.length - 1 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        fc.array(unknownField, { maxLength: 3 }),
        fc.array(unknownField, { maxLength: 3 }),
        fc.array(fc.constantFrom("", " ", "\n", "\t", "\r\n  "), { minLength: 1, maxLength: 6 }),
        (i, order, envelopeExtra, requestExtra, spaces) => {
          const review = reviews[i] as { [k: string]: Json };
          const request = review.request;
          // Unknown fields where Kubernetes' decoder ignores them: the envelope and the request (not the object, which NHI validation reads strictly).
          const extended: Json = isObject(request)
            ? {
                ...Object.fromEntries(envelopeExtra),
                ...review,
                request: { ...Object.fromEntries(requestExtra), ...request },
              }
            : review;
          const mutated = respaced(reorder(extended, order), spaces);
          const result = handle(mutated);
          assertAnswer(result, mutated);
          expect(verdictOf(result), `fixture ${i}`).to.deep.equal(verdicts[i]);
        },
      ),
      { numRuns: 1000, seed: 1515 },
    );
  });
});

const isObject = (v: Json | undefined): v is { [k: string]: Json } =>
  typeof v === "object" && v !== null && !Array.isArray(v);
