import { expect } from "chai";
import { selectorErrors, selectorMatches, selectsEverything } from "../../../core/labels.js";
import type { LabelSelector } from "../../../core/rbac/types.js";

const labels = {
  app: "orders",
  tier: "web",
  "rbac.authorization.k8s.io/aggregate-to-view": "true",
};

const table: {
  name: string;
  selector: LabelSelector | undefined | null;
  labels?: Record<string, string>;
  matches: boolean;
}[] = [
  { name: "missing selector selects nothing", selector: undefined, matches: false },
  { name: "null selector selects nothing", selector: null, matches: false },
  { name: "empty selector selects everything", selector: {}, matches: true },
  {
    name: "empty lists select everything",
    selector: { matchLabels: {}, matchExpressions: [] },
    matches: true,
  },
  { name: "matchLabels equal", selector: { matchLabels: { app: "orders" } }, matches: true },
  {
    name: "matchLabels all must hold",
    selector: { matchLabels: { app: "orders", tier: "db" } },
    matches: false,
  },
  { name: "matchLabels missing key", selector: { matchLabels: { team: "x" } }, matches: false },
  {
    name: "In",
    selector: { matchExpressions: [{ key: "tier", operator: "In", values: ["web", "api"] }] },
    matches: true,
  },
  {
    name: "In, value not listed",
    selector: { matchExpressions: [{ key: "tier", operator: "In", values: ["db"] }] },
    matches: false,
  },
  {
    name: "In, key absent",
    selector: { matchExpressions: [{ key: "team", operator: "In", values: ["x"] }] },
    matches: false,
  },
  {
    name: "NotIn, key absent holds",
    selector: { matchExpressions: [{ key: "team", operator: "NotIn", values: ["x"] }] },
    matches: true,
  },
  {
    name: "NotIn, value listed",
    selector: { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["web"] }] },
    matches: false,
  },
  {
    name: "Exists",
    selector: { matchExpressions: [{ key: "app", operator: "Exists" }] },
    matches: true,
  },
  {
    name: "DoesNotExist",
    selector: { matchExpressions: [{ key: "app", operator: "DoesNotExist" }] },
    matches: false,
  },
  {
    name: "labels and expressions are ANDed",
    selector: {
      matchLabels: { app: "orders" },
      matchExpressions: [{ key: "tier", operator: "In", values: ["db"] }],
    },
    matches: false,
  },
  {
    name: "In with no values is invalid: selects nothing",
    selector: { matchExpressions: [{ key: "app", operator: "In", values: [] }] },
    matches: false,
  },
  {
    name: "Exists with values is invalid: selects nothing",
    selector: { matchExpressions: [{ key: "app", operator: "Exists", values: ["x"] }] },
    matches: false,
  },
  {
    name: "unknown operator selects nothing",
    selector: { matchExpressions: [{ key: "app", operator: "Gt" as "In", values: ["1"] }] },
    matches: false,
  },
  {
    name: "no labels at all, DoesNotExist holds",
    selector: { matchExpressions: [{ key: "app", operator: "DoesNotExist" }] },
    labels: {},
    matches: true,
  },
];

describe("labels: selectorMatches (metav1.LabelSelectorAsSelector semantics)", () => {
  for (const row of table) {
    it(row.name, () => {
      expect(selectorMatches(row.selector, row.labels ?? labels)).to.equal(row.matches);
    });
  }
  it("a label inherited from the prototype is not a label", () => {
    expect(
      selectorMatches({ matchExpressions: [{ key: "toString", operator: "Exists" }] }, {}),
    ).to.equal(false);
  });
  it("reports structural errors with their path", () => {
    expect(
      selectorErrors({
        matchExpressions: [
          { key: "a", operator: "In" },
          { key: "b", operator: "Exists", values: ["x"] },
        ],
      }),
    ).to.deep.equal([
      "matchExpressions[0].values: for 'In', 'NotIn' operators, values set can't be empty",
      "matchExpressions[1].values: values set must be empty for 'Exists' and 'DoesNotExist'",
    ]);
    expect(selectorErrors({ matchLabels: { a: "b" } })).to.deep.equal([]);
  });
  it("selectsEverything only for an empty selector", () => {
    expect(selectsEverything({})).to.equal(true);
    expect(selectsEverything(undefined)).to.equal(false);
    expect(selectsEverything({ matchLabels: { a: "b" } })).to.equal(false);
  });
});
