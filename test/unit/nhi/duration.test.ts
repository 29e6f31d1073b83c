import { expect } from "chai";
import {
  DurationError,
  MAX_DURATION_MS,
  formatDuration,
  isDuration,
  parseDuration,
  tryParseDuration,
} from "../../../core/nhi/duration.js";

describe("nhi/duration (Go time.ParseDuration grammar)", () => {
  const valid: Array<[string, number]> = [
    ["0", 0],
    ["0s", 0],
    ["1h", 3_600_000],
    ["20m", 1_200_000],
    ["720h", 2_592_000_000],
    ["1h30m", 5_400_000],
    ["1h30m15s", 5_415_000],
    ["90m", 5_400_000],
    ["1.5h", 5_400_000],
    [".5s", 500],
    ["1.s", 1000],
    ["250ms", 250],
    ["1500us", 1.5],
    ["1500µs", 1.5],
    ["1500μs", 1.5],
    ["2000000ns", 2],
    ["+5m", 300_000],
    ["-5m", -300_000],
    ["1m1m", 120_000], // Go allows repeated units
    ["2562047h", 2562047 * 3_600_000],
  ];
  for (const [input, ms] of valid) {
    it(`${JSON.stringify(input)} = ${ms} ms`, () => {
      expect(tryParseDuration(input)).to.be.closeTo(ms, 1e-9);
      expect(parseDuration(input)).to.be.closeTo(ms, 1e-9);
      expect(isDuration(input)).to.equal(true);
    });
  }

  const invalid = [
    "",
    "h",
    "1",
    "10",
    ".",
    ".s",
    "1d",
    "1w",
    "1 h",
    " 1h",
    "1h ",
    "1H",
    "1hour",
    "one hour",
    "-",
    "+",
    "1h-5m",
    "9999999999h",
    "1e3s",
  ];
  for (const input of invalid) {
    it(`${JSON.stringify(input)} is not a duration`, () => {
      expect(tryParseDuration(input)).to.equal(undefined);
      expect(isDuration(input)).to.equal(false);
      expect(() => parseDuration(input)).to.throw(
        DurationError,
        /expected a Go duration such as 1h/,
      );
    });
  }

  it("the limit is Go's int64 nanoseconds", () => {
    expect(MAX_DURATION_MS).to.be.closeTo(2 ** 63 / 1e6, 1);
    expect(tryParseDuration("2562048h")).to.equal(undefined);
  });

  const formats: Array<[number, string]> = [
    [0, "0s"],
    [3_600_000, "1h"],
    [5_400_000, "1h30m"],
    [1500, "1.5s"],
    [61_000, "1m1s"],
    [-1_200_000, "-20m"],
    [2_592_000_000, "720h"],
  ];
  for (const [ms, s] of formats) {
    it(`formats ${ms} ms as ${s} and back`, () => {
      expect(formatDuration(ms)).to.equal(s);
      expect(parseDuration(s)).to.equal(ms);
    });
  }
});
