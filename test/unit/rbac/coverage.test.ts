import { expect } from "chai";
import fc from "fast-check";
import {
  breakdown,
  covers,
  nonResourceURLCovers,
  ruleCovers,
  ruleKey,
  uncoveredRules,
} from "../../../core/rbac/coverage.js";
import type { PolicyRule } from "../../../core/rbac/types.js";

// Shorthands for table rows.
const r = (
  apiGroups: string[],
  resources: string[],
  verbs: string[],
  resourceNames?: string[],
): PolicyRule =>
  resourceNames === undefined
    ? { apiGroups, resources, verbs }
    : { apiGroups, resources, verbs, resourceNames };
const u = (nonResourceURLs: string[], verbs: string[]): PolicyRule => ({ nonResourceURLs, verbs });

interface Row {
  name: string;
  owner: PolicyRule[];
  requested: PolicyRule[];
  /** Expected uncovered atomic rules, in breakdown order; [] = covered. */
  uncovered: PolicyRule[];
}

const table: Row[] = [
  // verbs
  {
    name: "exact verb, group, resource",
    owner: [r([""], ["pods"], ["get"])],
    requested: [r([""], ["pods"], ["get"])],
    uncovered: [],
  },
  {
    name: "missing verb",
    owner: [r([""], ["pods"], ["get"])],
    requested: [r([""], ["pods"], ["get", "delete"])],
    uncovered: [r([""], ["pods"], ["delete"])],
  },
  {
    name: "owner * verb covers any verb",
    owner: [r([""], ["pods"], ["*"])],
    requested: [r([""], ["pods"], ["escalate", "get"])],
    uncovered: [],
  },
  {
    name: "requested * verb is not covered by a list of every verb",
    owner: [
      r(
        [""],
        ["pods"],
        ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"],
      ),
    ],
    requested: [r([""], ["pods"], ["*"])],
    uncovered: [r([""], ["pods"], ["*"])],
  },
  {
    name: "requested * verb covered by owner *",
    owner: [r([""], ["pods"], ["*"])],
    requested: [r([""], ["pods"], ["*"])],
    uncovered: [],
  },
  {
    name: "verbs are case-sensitive",
    owner: [r([""], ["pods"], ["Get"])],
    requested: [r([""], ["pods"], ["get"])],
    uncovered: [r([""], ["pods"], ["get"])],
  },
  // apiGroups
  {
    name: "core group does not cover apps",
    owner: [r([""], ["deployments"], ["get"])],
    requested: [r(["apps"], ["deployments"], ["get"])],
    uncovered: [r(["apps"], ["deployments"], ["get"])],
  },
  {
    name: "owner * group covers any group",
    owner: [r(["*"], ["deployments"], ["get"])],
    requested: [r(["apps", "extensions"], ["deployments"], ["get"])],
    uncovered: [],
  },
  {
    name: "requested * group not covered by a list",
    owner: [r(["", "apps"], ["pods"], ["get"])],
    requested: [r(["*"], ["pods"], ["get"])],
    uncovered: [r(["*"], ["pods"], ["get"])],
  },
  // resources and subresources
  {
    name: "owner * resource covers a subresource",
    owner: [r([""], ["*"], ["create"])],
    requested: [r([""], ["pods/exec"], ["create"])],
    uncovered: [],
  },
  {
    name: "pods does not cover pods/exec",
    owner: [r([""], ["pods"], ["create"])],
    requested: [r([""], ["pods/exec"], ["create"])],
    uncovered: [r([""], ["pods/exec"], ["create"])],
  },
  {
    name: "pods/exec does not cover pods",
    owner: [r([""], ["pods/exec"], ["get"])],
    requested: [r([""], ["pods"], ["get"])],
    uncovered: [r([""], ["pods"], ["get"])],
  },
  {
    name: "*/scale covers deployments/scale",
    owner: [r(["apps"], ["*/scale"], ["update"])],
    requested: [r(["apps"], ["deployments/scale", "statefulsets/scale"], ["update"])],
    uncovered: [],
  },
  {
    name: "*/scale does not cover deployments",
    owner: [r(["apps"], ["*/scale"], ["update"])],
    requested: [r(["apps"], ["deployments"], ["update"])],
    uncovered: [r(["apps"], ["deployments"], ["update"])],
  },
  {
    name: "*/scale does not cover deployments/status",
    owner: [r(["apps"], ["*/scale"], ["update"])],
    requested: [r(["apps"], ["deployments/status"], ["update"])],
    uncovered: [r(["apps"], ["deployments/status"], ["update"])],
  },
  {
    name: "*/scale covers a requested */scale (Go splits at the first /)",
    owner: [r(["apps"], ["*/scale"], ["get"])],
    requested: [r(["apps"], ["*/scale"], ["get"])],
    uncovered: [],
  },
  {
    name: "requested * resource not covered by a list",
    owner: [r([""], ["pods", "services", "secrets"], ["get"])],
    requested: [r([""], ["*"], ["get"])],
    uncovered: [r([""], ["*"], ["get"])],
  },
  {
    name: "resources are case-sensitive",
    owner: [r([""], ["Pods"], ["get"])],
    requested: [r([""], ["pods"], ["get"])],
    uncovered: [r([""], ["pods"], ["get"])],
  },
  // resourceNames
  {
    name: "owner without names covers a named request",
    owner: [r([""], ["secrets"], ["get"])],
    requested: [r([""], ["secrets"], ["get"], ["db"])],
    uncovered: [],
  },
  {
    name: "owner with names covers that name",
    owner: [r([""], ["secrets"], ["get"], ["db", "tls"])],
    requested: [r([""], ["secrets"], ["get"], ["db"])],
    uncovered: [],
  },
  {
    name: "owner with names does not cover another name",
    owner: [r([""], ["secrets"], ["get"], ["db"])],
    requested: [r([""], ["secrets"], ["get"], ["tls"])],
    uncovered: [r([""], ["secrets"], ["get"], ["tls"])],
  },
  {
    name: "owner with names does not cover an unnamed request",
    owner: [r([""], ["secrets"], ["get"], ["db"])],
    requested: [r([""], ["secrets"], ["get"])],
    uncovered: [r([""], ["secrets"], ["get"])],
  },
  {
    name: "named request partly covered: only the missing name is reported",
    owner: [r([""], ["secrets"], ["get"], ["a"])],
    requested: [r([""], ["secrets"], ["get"], ["a", "b"])],
    uncovered: [r([""], ["secrets"], ["get"], ["b"])],
  },
  {
    name: "owner * resource with names covers only those names",
    owner: [r(["*"], ["*"], ["*"], ["x"])],
    requested: [r([""], ["pods"], ["get"], ["x"]), r([""], ["pods"], ["get"])],
    uncovered: [r([""], ["pods"], ["get"])],
  },
  // nonResourceURLs
  {
    name: "URL exact",
    owner: [u(["/healthz"], ["get"])],
    requested: [u(["/healthz"], ["get"])],
    uncovered: [],
  },
  {
    name: "URL exact does not cover a longer path",
    owner: [u(["/healthz"], ["get"])],
    requested: [u(["/healthz/ping"], ["get"])],
    uncovered: [u(["/healthz/ping"], ["get"])],
  },
  {
    name: "URL trailing * covers by prefix",
    owner: [u(["/healthz*"], ["get"])],
    requested: [u(["/healthz", "/healthz/ping", "/healthzfoo"], ["get"])],
    uncovered: [],
  },
  {
    name: "URL /api/* does not cover /api",
    owner: [u(["/api/*"], ["get"])],
    requested: [u(["/api", "/api/v1"], ["get"])],
    uncovered: [u(["/api"], ["get"])],
  },
  {
    name: "URL * covers every path",
    owner: [u(["*"], ["get"])],
    requested: [u(["/metrics", "/"], ["get"])],
    uncovered: [],
  },
  {
    name: "URL * only at the end is a wildcard",
    owner: [u(["/a*/b"], ["get"])],
    requested: [u(["/ax/b"], ["get"])],
    uncovered: [u(["/ax/b"], ["get"])],
  },
  {
    name: "URL verb must match",
    owner: [u(["/metrics"], ["get"])],
    requested: [u(["/metrics"], ["post"])],
    uncovered: [u(["/metrics"], ["post"])],
  },
  {
    name: "resource owner does not cover a URL",
    owner: [r(["*"], ["*"], ["*"])],
    requested: [u(["/metrics"], ["get"])],
    uncovered: [u(["/metrics"], ["get"])],
  },
  {
    name: "URL owner does not cover a resource",
    owner: [u(["*"], ["*"])],
    requested: [r([""], ["pods"], ["get"])],
    uncovered: [r([""], ["pods"], ["get"])],
  },
  // split coverage and breakdown
  {
    name: "verbs split across owner rules",
    owner: [r([""], ["pods"], ["get"]), r([""], ["pods"], ["list"])],
    requested: [r([""], ["pods"], ["get", "list"])],
    uncovered: [],
  },
  {
    name: "groups and resources split across owner rules",
    owner: [
      r(["apps"], ["deployments"], ["get"]),
      r(["batch"], ["jobs", "cronjobs"], ["get"]),
      r(["apps"], ["*/scale"], ["get"]),
    ],
    requested: [r(["apps", "batch"], ["deployments", "jobs", "deployments/scale"], ["get"])],
    uncovered: [
      r(["apps"], ["jobs"], ["get"]),
      r(["batch"], ["deployments"], ["get"]),
      r(["batch"], ["deployments/scale"], ["get"]),
    ],
  },
  {
    name: "names split across owner rules",
    owner: [r([""], ["configmaps"], ["get"], ["a"]), r([""], ["configmaps"], ["get"], ["b"])],
    requested: [r([""], ["configmaps"], ["get"], ["a", "b"])],
    uncovered: [],
  },
  {
    name: "uncovered atomics come out in breakdown order (group, resource, verb, name)",
    owner: [],
    requested: [r(["", "apps"], ["a", "b"], ["get", "list"], ["n"])],
    uncovered: [
      r([""], ["a"], ["get"], ["n"]),
      r([""], ["a"], ["list"], ["n"]),
      r([""], ["b"], ["get"], ["n"]),
      r([""], ["b"], ["list"], ["n"]),
      r(["apps"], ["a"], ["get"], ["n"]),
      r(["apps"], ["a"], ["list"], ["n"]),
      r(["apps"], ["b"], ["get"], ["n"]),
      r(["apps"], ["b"], ["list"], ["n"]),
    ],
  },
  {
    name: "mixed resource and URL request",
    owner: [r([""], ["pods"], ["get"])],
    requested: [{ apiGroups: [""], resources: ["pods"], nonResourceURLs: ["/x"], verbs: ["get"] }],
    uncovered: [u(["/x"], ["get"])],
  },
  {
    name: "request without apiGroups breaks down to nothing (Go quirk)",
    owner: [],
    requested: [{ resources: ["pods"], verbs: ["get"] }],
    uncovered: [],
  },
  { name: "empty request is covered", owner: [], requested: [], uncovered: [] },
  {
    name: "duplicates are kept, as in Go",
    owner: [],
    requested: [r([""], ["pods"], ["get", "get"])],
    uncovered: [r([""], ["pods"], ["get"]), r([""], ["pods"], ["get"])],
  },
  {
    name: "cluster-admin covers everything",
    owner: [r(["*"], ["*"], ["*"]), u(["*"], ["*"])],
    requested: [
      r(["*"], ["*"], ["*"]),
      u(["*"], ["*"]),
      r(["apps"], ["deployments/scale"], ["patch"], ["x"]),
    ],
    uncovered: [],
  },
];

describe("rbac/coverage: uncoveredRules (table)", () => {
  for (const row of table) {
    it(row.name, () => {
      expect(uncoveredRules(row.owner, row.requested)).to.deep.equal(row.uncovered);
      expect(covers(row.owner, row.requested)).to.equal(row.uncovered.length === 0);
    });
  }
});

describe("rbac/coverage: breakdown, ruleCovers, covers", () => {
  it("breaks a rule into group × resource × verb × name, then URL × verb", () => {
    expect(
      breakdown({
        apiGroups: ["", "apps"],
        resources: ["x"],
        verbs: ["get"],
        nonResourceURLs: ["/u"],
      }),
    ).to.deep.equal([r([""], ["x"], ["get"]), r(["apps"], ["x"], ["get"]), u(["/u"], ["get"])]);
  });
  it("treats a missing verbs list as no verbs", () => {
    expect(
      breakdown({ apiGroups: [""], resources: ["pods"] } as unknown as PolicyRule),
    ).to.deep.equal([]);
  });
  it("covers() accepts one owner rule or a list, one rule or a list", () => {
    expect(covers(r([""], ["pods"], ["*"]), r([""], ["pods"], ["get"]))).to.equal(true);
    expect(
      covers(
        [r([""], ["pods"], ["get"]), r([""], ["pods"], ["list"])],
        r([""], ["pods"], ["get", "list"]),
      ),
    ).to.equal(true);
    expect(
      covers(r([""], ["pods"], ["get"]), [r([""], ["pods"], ["get"]), r([""], ["pods"], ["list"])]),
    ).to.equal(false);
  });
  it("ruleCovers on a non-atomic rule asks one owner rule to cover all of it", () => {
    expect(
      ruleCovers(
        r([""], ["pods", "services"], ["get", "list"]),
        r([""], ["pods", "services"], ["get", "list"]),
      ),
    ).to.equal(true);
    expect(ruleCovers(r([""], ["pods"], ["get"]), r([""], ["pods"], ["get", "list"]))).to.equal(
      false,
    );
  });
  it("nonResourceURLCovers trims every trailing *", () => {
    expect(nonResourceURLCovers("/api**", "/apis")).to.equal(true);
    expect(nonResourceURLCovers("/api", "/api*")).to.equal(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties.

const verbs = ["get", "list", "watch", "create", "delete", "*"];
const groups = ["", "apps", "*"];
const resources = [
  "pods",
  "pods/exec",
  "pods/log",
  "deployments",
  "deployments/scale",
  "secrets",
  "*",
  "*/scale",
  "*/exec",
];
const names = ["a", "b", "c"];
const urls = [
  "/healthz",
  "/healthz/ping",
  "/api",
  "/api/v1",
  "/metrics",
  "/api*",
  "/healthz*",
  "*",
];

const sub = <T>(xs: T[]) => fc.uniqueArray(fc.constantFrom(...xs), { minLength: 1, maxLength: 3 });
// Valid rules only: the API rejects a rule with both resources and nonResourceURLs.
const resourceRule: fc.Arbitrary<PolicyRule> = fc
  .record({
    apiGroups: sub(groups),
    resources: sub(resources),
    verbs: sub(verbs),
    resourceNames: fc.option(sub(names), { nil: undefined }),
  })
  .map((x) =>
    x.resourceNames === undefined
      ? { apiGroups: x.apiGroups, resources: x.resources, verbs: x.verbs }
      : x,
  );
const urlRule: fc.Arbitrary<PolicyRule> = fc.record({
  nonResourceURLs: sub(urls),
  verbs: sub(verbs),
});
const rule = fc.oneof(resourceRule, urlRule);
const rules = fc.array(rule, { maxLength: 5 });

const keys = (rs: PolicyRule[]) => rs.map(ruleKey);

// The authorizer's own matching (pkg/apis/rbac/v1/evaluation_helpers.go + rbac.go RuleAllows), used
// as an independent oracle for concrete requests.
type Request =
  | {
      url: undefined;
      verb: string;
      group: string;
      resource: string;
      subresource: string;
      name: string;
    }
  | { url: string; verb: string };
function ruleAllows(rule: PolicyRule, req: Request): boolean {
  const verbOk = rule.verbs.some((v) => v === "*" || v === req.verb);
  if (req.url !== undefined) {
    return (
      verbOk &&
      (rule.nonResourceURLs ?? []).some(
        (o) =>
          o === "*" ||
          o === req.url ||
          (o.endsWith("*") && req.url.startsWith(o.replace(/\*+$/, ""))),
      )
    );
  }
  const combined = req.subresource === "" ? req.resource : `${req.resource}/${req.subresource}`;
  const groupOk = (rule.apiGroups ?? []).some((g) => g === "*" || g === req.group);
  const resOk = (rule.resources ?? []).some(
    (x) => x === "*" || x === combined || (req.subresource !== "" && x === `*/${req.subresource}`),
  );
  const nameOk =
    (rule.resourceNames ?? []).length === 0 || (rule.resourceNames ?? []).includes(req.name);
  return verbOk && groupOk && resOk && nameOk;
}
const concrete: fc.Arbitrary<Request> = fc.oneof(
  fc.record({
    url: fc.constant(undefined),
    verb: fc.constantFrom("get", "list", "create"),
    group: fc.constantFrom("", "apps"),
    resource: fc.constantFrom("pods", "deployments", "secrets"),
    subresource: fc.constantFrom("", "exec", "scale", "log"),
    name: fc.constantFrom("", "a", "b"),
  }),
  fc.record({
    url: fc.constantFrom("/healthz", "/healthz/ping", "/api", "/api/v1", "/apis", "/metrics"),
    verb: fc.constantFrom("get", "post"),
  }),
);
function asRule(req: Request): PolicyRule {
  if (req.url !== undefined) return u([req.url], [req.verb]);
  const res = req.subresource === "" ? req.resource : `${req.resource}/${req.subresource}`;
  return req.name === ""
    ? r([req.group], [res], [req.verb])
    : r([req.group], [res], [req.verb], [req.name]);
}

describe("rbac/coverage: properties", () => {
  it("a rule set covers itself", () => {
    fc.assert(fc.property(rules, (rs) => uncoveredRules(rs, rs).length === 0));
  });
  it("adding owner rules never uncovers anything", () => {
    fc.assert(
      fc.property(rules, rules, rules, (owner, extra, requested) => {
        const before = new Set(keys(uncoveredRules(owner, requested)));
        return keys(uncoveredRules([...owner, ...extra], requested)).every((k) => before.has(k));
      }),
    );
  });
  it("uncoveredRules(o, r) ⊆ breakdown(r)", () => {
    fc.assert(
      fc.property(rules, rules, (owner, requested) => {
        const all = new Set(keys(requested.flatMap(breakdown)));
        return keys(uncoveredRules(owner, requested)).every((k) => all.has(k));
      }),
    );
  });
  it("covered iff uncovered is empty", () => {
    fc.assert(
      fc.property(
        rules,
        rules,
        (owner, requested) =>
          covers(owner, requested) === (uncoveredRules(owner, requested).length === 0),
      ),
    );
  });
  it("coverage is monotone in the requested set: covering r∪s implies covering r", () => {
    fc.assert(
      fc.property(
        rules,
        rules,
        rules,
        (owner, a, b) => !covers(owner, [...a, ...b]) || covers(owner, a),
      ),
    );
  });
  it("agrees with the authorizer (RuleAllows) on concrete requests", () => {
    fc.assert(
      fc.property(
        rules,
        concrete,
        (owner, req) => covers(owner, asRule(req)) === owner.some((o) => ruleAllows(o, req)),
      ),
    );
  });
  it("owner rules covering a request let the authorizer allow each of its concrete atomics", () => {
    fc.assert(
      fc.property(rules, concrete, concrete, (owner, a, b) => {
        const requested = [asRule(a), asRule(b)];
        return (
          !covers(owner, requested) || [a, b].every((req) => owner.some((o) => ruleAllows(o, req)))
        );
      }),
    );
  });
});
