// Runs the validator's case tables (cases.ts) against a real kube-apiserver with server-side dry-run and
// reports where the API server disagrees with the table's `apiServer` expectation. Not a unit test (it
// needs a cluster with the CRDs installed and namespace "shop"); the e2e suite can call checkParity(), or:
//   KUBECONFIG=... node dist/test/unit/nhi/apiserver-parity.js
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { NHI_CASES, POLICY_CASES, buildCase } from "./cases.js";
import type { InvalidCase } from "./cases.js";

export interface ParityResult {
  name: string;
  path: string;
  agrees: boolean;
  verdict: "ok" | "accepted" | "rejected" | "rejected-elsewhere";
  output: string;
}

export function checkParity(
  kubectl = "kubectl",
  env: NodeJS.ProcessEnv = process.env,
): ParityResult[] {
  const run = (args: string[], input: unknown): { status: number | null; out: string } => {
    const r = spawnSync(kubectl, args, { input: JSON.stringify(input), env, encoding: "utf8" });
    return { status: r.status, out: `${r.stdout}${r.stderr}`.replace(/\s+/g, " ").trim() };
  };
  const results: ParityResult[] = [];
  const cases: InvalidCase[] = [...NHI_CASES, ...POLICY_CASES];
  cases.forEach((c, i) => {
    if (c.apiServer === "n/a") return;
    const obj = buildCase(c);
    // A name of its own, so existing objects (the examples) never collide with a dry-run create.
    if (!("metadata.name" in c.set))
      obj.metadata = { ...(obj.metadata as object), name: `parity-${i}` };
    let r: { status: number | null; out: string };
    const old = c.options?.old;
    if (old !== undefined) {
      // Transition rules need a stored object to update.
      const name = `parity-${i}`;
      const stored = { ...old, metadata: { ...(old.metadata as object), name } };
      run(["delete", "--ignore-not-found", "-f", "-"], stored);
      run(["create", "-f", "-"], stored);
      obj.metadata = { ...(obj.metadata as object), name };
      r = run(["replace", "--dry-run=server", "-f", "-"], obj);
      run(["delete", "--ignore-not-found", "-f", "-"], stored);
    } else {
      r = run(["create", "--dry-run=server", "-f", "-"], obj);
    }
    const rejected = r.status !== 0;
    const verdict: ParityResult["verdict"] =
      c.apiServer === "rejects"
        ? rejected
          ? r.out.includes(c.path)
            ? "ok"
            : "rejected-elsewhere"
          : "accepted"
        : rejected
          ? "rejected"
          : "ok";
    results.push({ name: c.name, path: c.path, agrees: verdict === "ok", verdict, output: r.out });
  });
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = checkParity();
  for (const r of results)
    console.log(`[${r.verdict}] ${r.name} (${r.path})\n    ${r.output.slice(0, 400)}`);
  const bad = results.filter((r) => !r.agrees);
  console.log(
    bad.length === 0
      ? `all ${results.length} cases agree with the API server`
      : `${bad.length} of ${results.length} cases disagree`,
  );
  process.exitCode = bad.length === 0 ? 0 : 1;
}
