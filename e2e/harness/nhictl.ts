// The compiled nhictl as a child process, asynchronously: suites that run the webhook in this
// process must keep answering while the CLI works. Its environment holds no kubeconfig of ours
// unless a test passes one.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./binaries.js";

export const NHICTL = join(REPO_ROOT, "dist/cli/main.js");

export interface NhictlRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runNhictl(
  args: string[],
  opts: { input?: string; env?: Record<string, string> } = {},
): Promise<NhictlRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [NHICTL, ...args], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        KUBECONFIG: "/nonexistent",
        ...opts.env,
      },
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** A finding of `nhictl check --format json`, as the e2e suites read it. */
export interface CheckFinding {
  rule: string;
  identity?: string;
  permission?: string;
  permissions: string[];
  kind: string;
  name: string;
  file?: string;
  message: string;
  fix: string;
  severity: string;
}

export interface NhictlCheckRun extends NhictlRun {
  violations: CheckFinding[];
  warnings: CheckFinding[];
}

/**
 * nhictl with a JSON report read back: its violations and warnings (none when stdout is not JSON,
 * e.g. an error, which the caller's assertions print). HOME is a directory that does not exist, so
 * no kubeconfig of the machine's user is found.
 */
export async function runNhictlCheck(
  args: string[],
  env: Record<string, string> = {},
): Promise<NhictlCheckRun> {
  const run = await runNhictl(args, { env: { HOME: "/nonexistent", ...env } });
  let report: { violations?: CheckFinding[]; warnings?: CheckFinding[] } = {};
  try {
    report = JSON.parse(run.stdout) as typeof report;
  } catch {
    // not JSON: the caller's assertions print stdout and stderr
  }
  return { ...run, violations: report.violations ?? [], warnings: report.warnings ?? [] };
}
