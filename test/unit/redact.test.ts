// The one token redaction (core/redact.ts) and the edges that use it: Events (scrub) and the
// credentials controller's error messages, which reach logs, Events and the Secret's lastError.
import { expect } from "chai";
import { redactTokens } from "../../core/redact.js";
import { scrub } from "../../operator/k8s/events.js";
import { errorMessage } from "../../operator/controllers/credentials/reconcile.js";

const JWT =
  "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YTpiIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
// A Generated credential's value: 32 random bytes, base64 (no "eyJ" prefix, no dots).
const OPAQUE = "q3Zk9Yb7TfR2mWx8Lp4Nc6Vd1Hs5Gj0Ka9Ue3Oi7Ry2Q=";
const JWT_START = "eyJhbGciOiJSUzI1NiIsImtp";

describe("token redaction (core/redact.ts)", () => {
  it("redacts JWTs, a JWT cut short, and long opaque runs; keeps names, phases and short words", () => {
    expect(redactTokens(`token ${JWT} rejected`, 1000)).to.equal("token [redacted] rejected");
    expect(redactTokens(`header ${JWT_START}`, 1000)).to.equal("header [redacted]");
    expect(redactTokens(`value ${OPAQUE} invalid`, 1000)).to.equal("value [redacted] invalid");
    const plain =
      "Issue of credential ci (Secret ci-token, generation 2) failed: HTTP 409 Conflict";
    expect(redactTokens(plain, 1000)).to.equal(plain);
  });

  it("cuts to the length asked", () => {
    expect(redactTokens("x".repeat(10), 4)).to.equal("xxxx");
  });

  for (const [where, redact] of [
    ["Event messages (scrub)", scrub],
    ["the credentials controller's error messages", (m: string) => errorMessage(new Error(m))],
  ] as const) {
    it(`${where} redact JWTs, JWT starts and opaque values alike`, () => {
      for (const secret of [JWT, JWT_START, OPAQUE]) {
        const out = redact(`PUT failed: field value ${secret} is invalid`);
        expect(out).to.not.include(secret);
        expect(out).to.include("[redacted]");
      }
    });
  }
});
