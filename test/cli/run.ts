// Runs the compiled nhictl as a process, from the repository root, the way CI does.
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { JsonFinding } from "../../cli/format.js";

/** dist/test/cli/run.js → the repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const CLI = join(ROOT, "dist/cli/main.js");
export const MANIFESTS = "test/fixtures/manifests";
export const VERDICTS = "test/fixtures/verdicts";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function nhictl(
  args: string[],
  options: { input?: string | Buffer; env?: Record<string, string> } = {},
): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    input: options.input ?? "",
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      KUBECONFIG: "/nonexistent",
      ...options.env,
    },
    timeout: 30_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export type { JsonFinding };

export interface JsonReport {
  violations: JsonFinding[];
  warnings: JsonFinding[];
  summary: { violations: number; warnings: number; objects: number; files: string[] };
}

export function checkJson(
  args: string[],
  input?: string,
): { code: number; report: JsonReport; stderr: string } {
  const r = nhictl(["check", "--format", "json", ...args], input === undefined ? {} : { input });
  return { code: r.code, report: JSON.parse(r.stdout) as JsonReport, stderr: r.stderr };
}
