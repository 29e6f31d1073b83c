import { expect } from "chai";
import {
  assessObserved,
  observedExpiry,
  parseExpiryValue,
  type CredentialFacts,
} from "../../../core/inventory/expiry.js";
import type { NHICredential } from "../../../core/nhi/types.js";

const NOW = Date.parse("2026-11-22T12:00:00Z");
const DAY = 86_400_000;
const facts = (over: Partial<CredentialFacts>): CredentialFacts => ({
  secretExists: true,
  annotations: {},
  keys: [],
  ...over,
});

describe("expiry values", () => {
  const table: Array<[unknown, number | undefined]> = [
    ["2026-11-22T12:00:00Z", NOW],
    ["2026-11-22T13:00:00+01:00", NOW],
    ["1795348800", 1795348800_000],
    [1795348800, 1795348800_000],
    ["1795348800.5", 1795348800_500],
    ["next tuesday", undefined],
    ["2026-11-22", undefined],
    ["", undefined],
    [-5, undefined],
    [1e15, undefined],
    [{}, undefined],
  ];
  for (const [v, want] of table)
    it(`${JSON.stringify(v)} → ${want}`, () => expect(parseExpiryValue(v)).to.equal(want));
});

describe("observed credentials", () => {
  const cert: NHICredential = { name: "tls", type: "Certificate", secretName: "tls" };
  const ext: NHICredential = {
    name: "gw",
    type: "External",
    secretName: "gw",
    maxAge: "90d".replace("d", "0h"),
  };

  it("takes a certificate's validity over the annotation, alerting at a third of its life (≤ 7 days) by default", () => {
    const e = observedExpiry(
      cert,
      facts({
        certificate: { notBefore: NOW - 9 * DAY, notAfter: NOW + 3 * DAY },
        annotations: { "nhi.io/expires-at": "2030-01-01T00:00:00Z" },
      }),
    );
    expect(e).to.deep.equal({
      issuedAt: NOW - 9 * DAY,
      expiresAt: NOW + 3 * DAY,
      source: "certificate",
    });
    expect(assessObserved(cert, e, NOW)).to.deep.equal({
      health: "Expiring",
      alertAt: NOW - 1 * DAY,
      message: "tls expires soon",
    });
    expect(assessObserved(cert, e, NOW + 3 * DAY).health).to.equal("Expired");
    expect(assessObserved(cert, e, NOW - 2 * DAY).health).to.equal("Fresh");
  });

  it("falls back to the annotation when the certificate cannot be parsed, and says so", () => {
    const e = observedExpiry(
      cert,
      facts({
        certificate: { problem: "not a PEM certificate" },
        annotations: { "nhi.io/expires-at": "2030-01-01T00:00:00Z" },
      }),
    );
    expect(e.source).to.equal("annotation");
    expect(e.problem).to.equal("certificate under key tls.crt: not a PEM certificate");
  });

  it("reports a missing Secret", () => {
    expect(
      assessObserved(cert, observedExpiry(cert, facts({ secretExists: false })), NOW),
    ).to.deep.equal({ health: "Missing", message: "Secret tls not found" });
  });

  it("reads an External credential's expiry from the JSONPath reading and flags staleness by maxAge", () => {
    const c = { ...ext, expiryJSONPath: "$.metadata.annotations['vault/expires']" };
    const e = observedExpiry(
      c,
      facts({ createdAt: NOW - 100 * DAY, jsonPath: { expiresAt: NOW + 50 * DAY } }),
    );
    expect(e).to.deep.equal({
      issuedAt: NOW - 100 * DAY,
      expiresAt: NOW + 50 * DAY,
      source: "jsonPath",
    });
    expect(assessObserved(c, e, NOW).health).to.equal("Stale");
  });

  it("applies the policy's maxCredentialAge when it is shorter", () => {
    const e = observedExpiry({ ...ext, maxAge: undefined }, facts({ createdAt: NOW - 10 * DAY }));
    expect(assessObserved({ ...ext, maxAge: undefined }, e, NOW).health).to.equal("Fresh");
    expect(assessObserved({ ...ext, maxAge: undefined }, e, NOW, 5 * DAY).health).to.equal("Stale");
  });
});
