// The operator process with the e2e crash hook: what dist/operator/main.js runs, plus
// NHI_TEST_KILL_AFTER_STEP="<step>[@<ns/nhi prefix>]" — SIGKILL right after performing that
// rotation step. Lives here so the production binary carries no test hook; the reconciler suites
// start this entry point only when they set the variable.
import { pathToFileURL } from "node:url";
import { runOperatorProcess } from "../../operator/main.js";

const killAfter = process.env.NHI_TEST_KILL_AFTER_STEP;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runOperatorProcess(process.argv.slice(2), (opts, logger) => {
    if (!killAfter || !opts.controllers) return;
    const [step, prefix = ""] = killAfter.split("@");
    opts.controllers.afterStep = (kind, key) => {
      if (kind !== step || !key.startsWith(prefix)) return;
      logger.warn("test hook: killing the process after a rotation step", { step: kind, key });
      process.kill(process.pid, "SIGKILL");
    };
  }).catch((err: unknown) => {
    process.stderr.write(`nhi-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
