import { expect } from "chai";
import {
  decideSecretWrite,
  decideTokenRequest,
  type SecretWriteInput,
  type TokenRequestInput,
} from "../../../core/policy/token.js";
import { CLI_DEFAULTS } from "../../../core/policy/settings.js";
import type { Requester } from "../../../core/policy/workload.js";
import type { SecretMetadata } from "../../../core/snapshot.js";
import { NOW, nhi, world } from "../webhooks/world.js";

const W = world({ policies: [] });
const WORLD = world();

const asSA = (ns: string, name: string): Requester => ({
  username: `system:serviceaccount:${ns}:${name}`,
});

function tokenInput(
  ns: string,
  name: string,
  seconds?: number,
  requester?: Requester,
  view = WORLD,
): TokenRequestInput {
  return {
    ...view,
    target: { namespace: ns, name },
    ...(seconds === undefined ? {} : { expirationSeconds: seconds }),
    policy: view.policyAt(NOW),
    now: NOW,
    ...(requester ? { requester } : {}),
  };
}

describe("decideTokenRequest", () => {
  const cases: Array<{
    name: string;
    in: TokenRequestInput;
    allowed: boolean;
    violations?: string[];
    warnings?: string[];
  }> = [
    {
      name: "a token within the NHI's credential ttl is allowed",
      in: tokenInput("shop", "orders-api", 1800),
      allowed: true,
      violations: [],
      warnings: [],
    },
    {
      name: "the default expiration (1h) equals the ttl and is allowed",
      in: tokenInput("shop", "orders-api"),
      allowed: true,
      violations: [],
    },
    {
      name: "a token beyond the NHI's credential ttl is denied",
      in: tokenInput("shop", "orders-api", 7200),
      allowed: false,
      violations: ["token-ttl"],
    },
    {
      name: "a token beyond the policy's maxTokenTTL is denied for anyone",
      in: tokenInput("shop", "reader", 48 * 3600),
      allowed: false,
      violations: ["token-ttl-policy"],
    },
    {
      name: "an unclaimed account within maxTokenTTL is allowed",
      in: tokenInput("shop", "reader", 3600),
      allowed: true,
      violations: [],
    },
    {
      name: "the kubelet's pod-bound tokens are not limited here",
      in: tokenInput("shop", "orders-api", 3607, {
        username: "system:node:n1",
        groups: ["system:nodes"],
      }),
      allowed: true,
      violations: [],
    },
    {
      name: "a suspended identity gets no token, not even from the kubelet",
      in: tokenInput("shop", "quarantined", 600, { username: "system:node:n1" }),
      allowed: false,
      violations: ["nhi-suspended"],
    },
    {
      name: "an expired identity gets no new token",
      in: tokenInput("shop", "expired", 600, { username: "alice" }),
      allowed: false,
      violations: ["nhi-expired"],
    },
    {
      name: "an expired identity's running pods keep their kubelet tokens",
      in: tokenInput("shop", "expired", 3607, { username: "system:node:n1" }),
      allowed: true,
      violations: [],
    },
    {
      name: "a governed ServiceAccount may not mint a token for a more powerful one",
      in: tokenInput("shop", "admin-bot", 600, asSA("ci", "deployer")),
      allowed: false,
      violations: ["borrowed-identity"],
    },
    {
      name: "a governed ServiceAccount may mint a token for a weaker one",
      in: tokenInput("shop", "reader", 600, asSA("ci", "deployer")),
      allowed: true,
      violations: [],
    },
    {
      name: "without a policy there is no global cap",
      in: tokenInput("shop", "reader", 48 * 3600, undefined, W),
      allowed: true,
      violations: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = decideTokenRequest(c.in);
      expect(d.allowed, JSON.stringify(d.violations, null, 1)).to.equal(c.allowed);
      const got = d.violations.map((v) => v.rule);
      if (c.violations?.length === 0) expect(got).to.deep.equal([]);
      for (const v of c.violations ?? []) expect(got).to.include(v);
      for (const w of c.warnings ?? []) expect(d.warnings.map((x) => x.rule)).to.include(w);
    });
  }

  it("says the requested and the allowed lifetime and which NHI sets it", () => {
    const v = decideTokenRequest(tokenInput("shop", "orders-api", 7200)).violations[0];
    expect(v?.message)
      .to.contain("7200s")
      .and.contain("3600s")
      .and.contain("NonHumanIdentity shop/orders-api");
    expect(v?.fix).to.contain("at most 3600");
  });

  it("an Audit NHI only warns about a long token", () => {
    const view = world({
      nhis: [
        nhi("shop", "reader", {
          enforcement: "Audit",
          credentials: [{ name: "t", type: "ServiceAccountToken", secretName: "t", ttl: "10m" }],
        }),
      ],
    });
    const d = decideTokenRequest(tokenInput("shop", "reader", 3600, undefined, view));
    expect(d.allowed).to.equal(true);
    expect(d.warnings.map((w) => w.rule)).to.deep.equal(["token-ttl"]);
  });
});

const tokenSecret = (account: string, name = "t"): SecretMetadata => ({
  kind: "Secret",
  type: "kubernetes.io/service-account-token",
  metadata: {
    name,
    namespace: "shop",
    annotations: { "kubernetes.io/service-account.name": account },
  },
});

function secretInput(
  secret: SecretMetadata,
  opts: { old?: SecretMetadata; strict?: boolean; view?: typeof WORLD } = {},
): SecretWriteInput {
  const view = opts.view ?? WORLD;
  return {
    secret,
    namespace: "shop",
    directory: view.directory,
    namespaceLabels: view.namespaceLabels,
    tokenSecretAccount: view.tokenSecretAccount,
    policy: opts.strict ? CLI_DEFAULTS : view.policyAt(NOW),
    ...(opts.old ? { oldSecret: opts.old } : {}),
  };
}

describe("decideSecretWrite", () => {
  it("denies a long-lived token Secret for an identity whose NHI forbids them (the default)", () => {
    const d = decideSecretWrite(secretInput(tokenSecret("orders-api")));
    expect(d.allowed).to.equal(false);
    expect(d.violations[0]?.rule).to.equal("legacy-token-forbidden");
    expect(d.violations[0]?.message)
      .to.contain("Secret shop/t")
      .and.contain("NonHumanIdentity shop/orders-api")
      .and.contain("legacyTokens: Forbid");
  });

  it("allows it when the NHI says legacyTokens: Allow or Rotate", () => {
    for (const mode of ["Allow", "Rotate"] as const) {
      const view = world({ nhis: [nhi("shop", "orders-api", { legacyTokens: mode })] });
      expect(decideSecretWrite(secretInput(tokenSecret("orders-api"), { view })).allowed).to.equal(
        true,
      );
    }
  });

  it("warns for an unclaimed identity in the cluster, fails it under CLI strictness", () => {
    const lax = decideSecretWrite(secretInput(tokenSecret("reader")));
    expect(lax.allowed).to.equal(true);
    expect(lax.warnings.map((w) => w.rule)).to.deep.equal(["legacy-token-unclaimed"]);
    const strict = decideSecretWrite(secretInput(tokenSecret("reader"), { strict: true }));
    expect(strict.allowed).to.equal(false);
    expect(strict.violations.map((w) => w.rule)).to.deep.equal(["legacy-token-unclaimed"]);
  });

  it("only warns on an UPDATE of a token Secret that already existed (the token controller filling it)", () => {
    const d = decideSecretWrite(
      secretInput(tokenSecret("orders-api"), { old: tokenSecret("orders-api") }),
    );
    expect(d.allowed).to.equal(true);
    expect(d.warnings.map((w) => w.rule)).to.deep.equal(["legacy-token-forbidden"]);
  });

  it("only warns on the successor a legacy rotation creates for an existing token Secret of the same account (onAnomaly: Rotate under legacyTokens: Forbid)", () => {
    const old = tokenSecret("orders-api", "orders-legacy");
    const view = world({ secrets: [old] });
    const successor = (account: string, of: string): SecretMetadata => {
      const s = tokenSecret(account, "orders-legacy-r1");
      s.metadata.annotations = {
        ...s.metadata.annotations,
        "nhi.io/legacy-successor-of": of,
      };
      return s;
    };
    const d = decideSecretWrite(secretInput(successor("orders-api", "orders-legacy"), { view }));
    expect(d.allowed).to.equal(true);
    expect(d.warnings.map((w) => w.rule)).to.deep.equal(["legacy-token-forbidden"]);
    expect(d.warnings[0]?.message).to.contain("replaces its token Secret shop/orders-legacy");
    // Naming a token Secret of another account, one that does not exist, or itself is no rotation.
    const other = world({ secrets: [tokenSecret("reader", "orders-legacy")] });
    for (const [input, v] of [
      [successor("orders-api", "orders-legacy"), other],
      [successor("orders-api", "missing"), view],
      [successor("orders-api", "orders-legacy-r1"), view],
    ] as const)
      expect(decideSecretWrite(secretInput(input, { view: v })).allowed).to.equal(false);
  });

  it("judges an UPDATE that turns a Secret into a token for another account", () => {
    expect(
      decideSecretWrite(secretInput(tokenSecret("orders-api"), { old: tokenSecret("reader") }))
        .allowed,
    ).to.equal(false);
  });

  it("ignores other Secret types and token Secrets without the account annotation", () => {
    expect(
      decideSecretWrite(
        secretInput({ kind: "Secret", type: "Opaque", metadata: { name: "x", namespace: "shop" } }),
      ),
    ).to.deep.equal({ allowed: true, violations: [], warnings: [] });
    expect(
      decideSecretWrite(
        secretInput({
          kind: "Secret",
          type: "kubernetes.io/service-account-token",
          metadata: { name: "x", namespace: "shop" },
        }),
      ).allowed,
    ).to.equal(true);
  });
});
