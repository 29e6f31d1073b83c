import { expect } from "chai";
import { decideRbacWrite } from "../../../core/policy/rbac-write.js";
import {
  ADMISSION_DEFAULTS,
  exemptionFor,
  modesFor,
  resolvePolicy,
} from "../../../core/policy/settings.js";
import type { NHIPolicy, NHIPolicySpec } from "../../../core/nhi/types.js";
import { grant, rule } from "./fixtures.js";

const policy = (name: string, spec: NHIPolicySpec): NHIPolicy => ({
  apiVersion: "nhi.io/v1alpha1",
  kind: "NHIPolicy",
  metadata: { name },
  spec,
});
const NOW = new Date("2026-11-22T12:00:00Z");

describe("resolvePolicy", () => {
  it("keeps the defaults when no NHIPolicy exists", () => {
    expect(resolvePolicy([], ADMISSION_DEFAULTS, NOW)).to.deep.equal(ADMISSION_DEFAULTS);
  });

  it("combines several policies to the strictest", () => {
    const p = resolvePolicy(
      [
        policy("b", {
          unclaimedHighPermissions: "Enforce",
          maxTokenTTL: "2h",
          forbidden: ["pods-exec"],
          requireClaim: "Off",
        }),
        policy("a", {
          maxTokenTTL: "1h",
          forbidden: ["secrets-read"],
          requireClaim: "Enforce",
          maxCredentialAge: "720h",
        }),
      ],
      ADMISSION_DEFAULTS,
      NOW,
    );
    expect(p.unclaimedHighPermissions).to.equal("Enforce");
    expect(p.requireClaim).to.equal("Enforce");
    expect(p.maxTokenTTLSeconds).to.equal(3600);
    expect(p.maxCredentialAgeMs).to.equal(720 * 3600 * 1000);
    expect(p.forbidden).to.have.members(["pods-exec", "secrets-read"]);
    expect(p.sources).to.deep.equal(["a", "b"]);
  });

  it("drops exemptions that have lapsed at the given time and names the policy of the rest", () => {
    const p = resolvePolicy(
      [
        policy("ops", {
          exemptions: [
            { serviceAccounts: ["mon/*"], reason: "old", expiresAt: "2026-01-01T00:00:00Z" },
            {
              serviceAccounts: ["mon/scraper"],
              reason: "SEC-1",
              expiresAt: "2027-01-01T00:00:00Z",
            },
          ],
        }),
      ],
      ADMISSION_DEFAULTS,
      NOW,
    );
    expect(p.exemptions.map((e) => [e.reason, e.policy])).to.deep.equal([["SEC-1", "ops"]]);
  });

  it("fills change-request and break-glass defaults", () => {
    const p = resolvePolicy(
      [policy("x", { requireChangeRequest: { enabled: true }, breakGlass: {} })],
      ADMISSION_DEFAULTS,
      NOW,
    );
    expect(p.requireChangeRequest).to.deep.equal({ annotation: "nhi.io/change-request" });
    expect(p.breakGlass).to.deep.equal({
      annotation: "nhi.io/break-glass",
      reasonAnnotation: "nhi.io/break-glass-reason",
    });
  });
});

describe("modesFor and exemptionFor", () => {
  const p = resolvePolicy(
    [
      policy("p", {
        unclaimedHighPermissions: "Audit",
        overrides: [
          {
            namespaceSelector: { matchLabels: { tier: "prod" } },
            unclaimedHighPermissions: "Enforce",
            requireClaim: "Enforce",
          },
        ],
        exemptNamespaces: ["kube-*"],
        exemptions: [
          { namespaces: ["monitoring"], rules: ["nodes-proxy"], reason: "kubelet metrics" },
          { serviceAccounts: ["ci/deploy-?"], reason: "CI" },
        ],
      }),
    ],
    ADMISSION_DEFAULTS,
    NOW,
  );

  it("applies the first matching namespace override", () => {
    expect(modesFor(p, { tier: "prod" })).to.deep.equal({
      unclaimedHighPermissions: "Enforce",
      requireClaim: "Enforce",
    });
    expect(modesFor(p, { tier: "dev" }).unclaimedHighPermissions).to.equal("Audit");
    expect(modesFor(p, undefined).unclaimedHighPermissions).to.equal("Audit");
  });

  const v = (identity: string, ruleId: string) => ({
    rule: ruleId,
    severity: "critical" as const,
    object: { kind: "X", name: "x" },
    identity,
    message: "",
    fix: "",
  });
  const table: Array<[string, string, boolean]> = [
    ["system:serviceaccount:kube-system:foo", "rbac-bind", true],
    ["system:serviceaccount:monitoring:prom", "nodes-proxy", true],
    ["system:serviceaccount:monitoring:prom", "secrets-read-cluster", false],
    ["system:serviceaccount:ci:deploy-1", "anything", true],
    ["system:serviceaccount:ci:deploy-12", "anything", false],
    ["system:serviceaccount:shop:api", "nodes-proxy", false],
    ["group:system:anonymous", "binding-dangerous-group", false],
  ];
  for (const [identity, ruleId, exempt] of table) {
    it(`${identity} ${exempt ? "is" : "is not"} exempt from ${ruleId}`, () => {
      expect(exemptionFor(p, v(identity, ruleId)) !== undefined).to.equal(exempt);
    });
  }

  it("a per-namespace override turns an unclaimed high permission into a denial there", () => {
    const base = {
      object: { kind: "RoleBinding", namespace: "shop", name: "b" },
      governing: () => undefined,
      policy: p,
    };
    const changes = [
      {
        serviceAccount: { namespace: "shop", name: "x" },
        before: [],
        gained: [grant("shop", [rule([""], ["pods"], ["create"])])],
      },
    ];
    expect(
      decideRbacWrite({ ...base, changes, namespaceLabels: () => ({ tier: "prod" }) }).allowed,
    ).to.equal(false);
    expect(
      decideRbacWrite({ ...base, changes, namespaceLabels: () => ({ tier: "dev" }) }).allowed,
    ).to.equal(true);
  });

  it("a policy's forbidden list denies a high permission even for a governed identity", () => {
    const strict = resolvePolicy(
      [policy("no-exec", { forbidden: ["pods-exec"] })],
      ADMISSION_DEFAULTS,
      NOW,
    );
    const d = decideRbacWrite({
      object: { kind: "RoleBinding", namespace: "shop", name: "b" },
      policy: strict,
      governing: () => ({
        nhi: { namespace: "shop", name: "x" },
        enforcement: "Enforce",
        scopes: [
          { namespaces: ["shop"], apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] },
        ],
      }),
      changes: [
        {
          serviceAccount: { namespace: "shop", name: "x" },
          before: [],
          gained: [grant("shop", [rule([""], ["pods/exec"], ["create"])])],
        },
      ],
    });
    expect(d.allowed).to.equal(false);
    expect(d.violations[0]?.message).to.contain("NHIPolicy no-exec forbids");
  });
});
