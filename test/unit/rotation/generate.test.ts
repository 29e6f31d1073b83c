import { expect } from "chai";
import fc from "fast-check";
import { generateValue, matchesFormat } from "../../../core/rotation/generate.js";
import { SECRET_ENCODINGS } from "../../../core/nhi/types.js";

// Deterministic "randomness" for table tests: bytes 0, 1, 2, ...
const counting = (): ((n: number) => Uint8Array) => {
  let next = 0;
  return (n) => Uint8Array.from({ length: n }, () => next++ % 256);
};

describe("generated values", () => {
  it("encodes the given bytes as base64, base64url, hex", () => {
    expect(generateValue(3, "base64", () => Uint8Array.from([0xfb, 0xff, 0xfe]))).to.equal(
      Buffer.from([0xfb, 0xff, 0xfe]).toString("base64"),
    );
    expect(generateValue(4, "base64", () => Uint8Array.from([1, 2, 3, 4]))).to.equal(
      Buffer.from([1, 2, 3, 4]).toString("base64"),
    );
    expect(generateValue(4, "base64url", () => Uint8Array.from([0xfb, 0xff, 0xfe, 9]))).to.equal(
      Buffer.from([0xfb, 0xff, 0xfe, 9]).toString("base64url"),
    );
    expect(generateValue(2, "hex", () => Uint8Array.from([0, 255]))).to.equal("00ff");
  });

  it("draws alphanumeric characters without bias (bytes ≥ 248 are rejected)", () => {
    const v = generateValue(3, "alphanumeric", () =>
      Uint8Array.from([248, 255, 0, 61, 62, 1, 1, 1, 1, 1, 1]),
    );
    expect(v).to.equal("A9A");
  });

  it("matches Buffer's encodings and its own format check for every length and encoding", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.constantFrom(...SECRET_ENCODINGS),
        (len, enc) => {
          const v = generateValue(len, enc, counting());
          if (enc !== "alphanumeric")
            expect(v).to.equal(Buffer.from(counting()(len)).toString(enc));
          expect(matchesFormat(v.length, (re) => re.test(v), len, enc)).to.equal(true);
        },
      ),
    );
  });

  it("rejects a non-positive length", () => {
    expect(() => generateValue(0, "hex", counting())).to.throw(/positive integer/);
  });
});
