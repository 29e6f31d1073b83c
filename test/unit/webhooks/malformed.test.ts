// Malformed input is a clear 400/BadRequest naming what is wrong — never a 500 from an exception
// (issue 15, item 2): deep nesting where a string belongs, and malformed object/oldObject shapes.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../../crds/load.js";
import type { AdmissionReviewResponse } from "../../../webhooks/admission/review.js";
import { testHandler } from "./helpers.js";

type Review = { apiVersion: unknown; kind: unknown; request: Record<string, unknown> };
const fixture = (name: string): Review =>
  (
    JSON.parse(
      readFileSync(join(repoRoot(), "test", "fixtures", "admission", `${name}.json`), "utf8"),
    ) as { review: Review }
  ).review;

/** `depth` nested arrays around a string: JSON.stringify of it overflows the stack. */
function deep(depth: number): unknown {
  let v: unknown = "x";
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** Sets a dotted path (numbers index arrays) inside a copy of the review's request. */
function withAt(review: Review, path: string, value: unknown): Review {
  const copy = JSON.parse(JSON.stringify(review)) as Review;
  const parts = path.split(".");
  let node = copy.request as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) node = node[p] as Record<string, unknown>;
  node[parts[parts.length - 1] ?? ""] = value;
  return copy;
}

describe("webhook handler: malformed input is a 400, never an exception", () => {
  const { handle, lines } = testHandler();

  it("answers a 10,000-level-deep kind or apiVersion with a 400 saying what it expected", () => {
    for (const field of ["kind", "apiVersion"] as const) {
      const review = { ...fixture("pod-allowed"), [field]: deep(10_000) };
      const before = lines.length;
      const r = handle(review);
      expect(r.status, field).to.equal(400);
      const error = (r.body as { error: string }).error;
      expect(error).to.contain(
        field === "kind" ? "kind is an array, expected AdmissionReview" : "apiVersion is an array",
      );
      expect(lines.slice(before).join("")).not.to.contain("Maximum call stack");
    }
  });

  const cases: [string, string, string, unknown, string][] = [
    [
      "nhi-self-widening-denied",
      "the stored NHI's scopes are a string",
      "oldObject.spec.scopes",
      "everything",
      "oldObject: ",
    ],
    [
      "nhi-self-widening-denied",
      "a stored scope without namespaces",
      "oldObject.spec.scopes",
      [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }],
      "oldObject: ",
    ],
    [
      "nhi-self-widening-denied",
      "the stored NHI's metadata is a number",
      "oldObject.metadata",
      7,
      "oldObject: ",
    ],
    [
      "nhi-self-widening-denied",
      "the stored NHI's spec is a list",
      "oldObject.spec",
      [],
      "oldObject: ",
    ],
    [
      "deployment-token-secret-switched-warns",
      "the stored Deployment's volumes are a number",
      "oldObject.spec.template.spec.volumes",
      5,
      "oldObject: ",
    ],
    [
      "deployment-token-secret-switched-warns",
      "the stored Deployment's template spec is a string",
      "oldObject.spec.template.spec",
      "nope",
      "oldObject: ",
    ],
    [
      "deployment-token-secret-switched-warns",
      "the stored Deployment's containers are an object",
      "oldObject.spec.template.spec.containers",
      { a: 1 },
      "oldObject: ",
    ],
    [
      "deployment-token-secret-switched-warns",
      "the stored Deployment is a string",
      "oldObject",
      "nope",
      "oldObject: ",
    ],
    [
      "secret-opaque-allowed",
      "the stored Secret's annotations hold a number",
      "oldObject",
      { metadata: { name: "x", annotations: { a: 1 } } },
      "oldObject: ",
    ],
  ];
  for (const [name, what, path, value, says] of cases) {
    it(`${name}: ${what} → 400 BadRequest`, () => {
      const review = withAt(
        name === "secret-opaque-allowed"
          ? withAt(fixture(name), "operation", "UPDATE")
          : fixture(name),
        path,
        value,
      );
      const r = handle(review);
      expect(r.status).to.equal(200);
      const { response } = r.body as AdmissionReviewResponse;
      const text = JSON.stringify(response);
      expect(response.allowed, text).to.equal(false);
      expect(response.status?.code, text).to.equal(400);
      expect(response.status?.reason, text).to.equal("BadRequest");
      expect(response.status?.message, text).to.contain(says);
    });
  }

  it("reads a stored NHI as the API server sends it (managedFields, status) and judges the update as before", () => {
    const stored = JSON.parse(
      JSON.stringify(fixture("nhi-self-widening-denied").request.oldObject),
    ) as Record<string, Record<string, unknown>>;
    Object.assign(stored.metadata ?? {}, {
      uid: "0b1c",
      resourceVersion: "42",
      generation: 3,
      creationTimestamp: "2026-01-01T00:00:00Z",
      managedFields: [
        {
          manager: "kubectl",
          operation: "Apply",
          apiVersion: "nhi.io/v1alpha1",
          fieldsType: "FieldsV1",
          fieldsV1: { "f:spec": {} },
        },
      ],
    });
    stored.status = {
      phase: "Active",
      observedGeneration: 3,
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "Reconciled",
          message: "ok",
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
      ],
    };
    const { response } = handle(withAt(fixture("nhi-self-widening-denied"), "oldObject", stored))
      .body as AdmissionReviewResponse;
    expect(response.status?.code, JSON.stringify(response)).to.equal(403);
    expect(response.status?.message).to.contain("[nhi-self-widening]");
  });
});
