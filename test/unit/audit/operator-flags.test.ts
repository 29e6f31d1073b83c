// The operator's audit flags: the sink's address and certificate, and the learned baseline's window,
// ConfigMaps and write interval.
import { expect } from "chai";
import { AUDIT_BASELINE_DEFAULTS, parseArgs } from "../../../operator/flags.js";

const SINK = ["--audit-port", "9443", "--audit-cert-file", "c", "--audit-key-file", "k"];

describe("operator flags: the audit sink's baseline", function () {
  it("defaults: 24 h learning, ConfigMaps nhi-audit-baseline-N, a write a minute at most", function () {
    expect(parseArgs(SINK).auditSink?.baseline).to.deep.equal(AUDIT_BASELINE_DEFAULTS);
    expect(AUDIT_BASELINE_DEFAULTS).to.deep.equal({
      learningMs: 86_400_000,
      configMap: "nhi-audit-baseline",
      writeIntervalMs: 60_000,
    });
    expect(parseArgs([]).auditSink).to.equal(undefined);
  });

  it("reads the window, the ConfigMaps' name and the interval; refuses them without a sink", function () {
    const o = parseArgs([
      ...SINK,
      "--audit-learning-window",
      "168h",
      "--audit-baseline-configmap",
      "habits",
      "--audit-baseline-write-interval",
      "5m",
    ]);
    expect(o.auditSink?.baseline).to.deep.equal({
      learningMs: 168 * 3_600_000,
      configMap: "habits",
      writeIntervalMs: 300_000,
    });
    expect(() => parseArgs(["--audit-learning-window", "1h"])).to.throw(
      /the audit sink needs --audit-port/,
    );
    expect(() => parseArgs([...SINK, "--audit-learning-window", "soon"])).to.throw(
      /--audit-learning-window needs a duration/,
    );
  });
});
