// The recorded audit fixtures (test/fixtures/audit, e2e/scripts/record-audit-fixtures.ts) hold no
// token and no value: what the shipped policy promises, checked on what the API server wrote.
import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../cli/run.js";

const DIR = join(ROOT, "test", "fixtures", "audit");
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;

interface Line {
  level: string;
  objectRef?: { resource?: string; subresource?: string };
  requestObject?: unknown;
  responseObject?: unknown;
}

describe("audit fixtures (recorded from the real API server)", function () {
  const files = readdirSync(DIR).filter((f) => f.endsWith(".jsonl"));

  it("exist", function () {
    expect(files.length).to.be.greaterThan(10);
  });

  for (const file of files) {
    it(`${file}: no token, no Secret body, no TokenRequest response`, function () {
      const text = readFileSync(join(DIR, file), "utf8");
      expect(JWT.test(text), "a JWT-shaped string").to.equal(false);
      for (const raw of text.split("\n").filter((l) => l !== "")) {
        const e = JSON.parse(raw) as Line;
        if (e.objectRef?.resource === "secrets")
          expect([e.level, e.requestObject, e.responseObject]).to.deep.equal([
            "Metadata",
            undefined,
            undefined,
          ]);
        if (e.objectRef?.subresource === "token") {
          expect(e.level).to.equal("Request");
          expect(e.responseObject).to.equal(undefined);
        }
      }
    });
  }
});
