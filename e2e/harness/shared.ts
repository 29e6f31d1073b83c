// The founders' shared workspace (`../shared/` beside the project): other projects' real CRDs
// (PolicyReport, ServiceMonitor, cert-manager, …) that tests install as they are, never copied
// into the project. A clean clone may live anywhere (CI clones main elsewhere), so it is looked for
// beside the clone, beside the repository the clone came from, and at the workspace's home.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { REPO_ROOT } from "./binaries.js";

function ancestors(dir: string): string[] {
  const out: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    out.push(d);
    if (dirname(d) === d) return out;
  }
}

/** The repository this clone was cloned from, when that is a path on this machine. */
function localOrigin(): string | undefined {
  try {
    const url = execFileSync("git", ["-C", REPO_ROOT, "config", "--get", "remote.origin.url"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    const path = url.startsWith("file://") ? url.slice("file://".length) : url;
    return isAbsolute(path) && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Where a shared CRD file may be, in the order they are tried. */
export function sharedCrdCandidates(file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const roots = [
    ...(env.NHI_SHARED_DIR ? [resolve(env.NHI_SHARED_DIR)] : []),
    ...ancestors(dirname(REPO_ROOT)).map((d) => join(d, "shared")),
    ...(localOrigin() ? ancestors(dirname(localOrigin() ?? "")).map((d) => join(d, "shared")) : []),
    "/work/shared",
  ];
  return [...new Set(roots.map((r) => join(r, "crds", file)))];
}

/** The path of a shared CRD file; throws naming every place looked and how to point at it. */
export function sharedCrdFile(file: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates = sharedCrdCandidates(file, env);
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new Error(
      `e2e harness: the shared CRD ${file} is not in any of ${candidates.join(", ")}; ` +
        "set NHI_SHARED_DIR to the shared workspace (the folder holding crds/)",
    );
  }
  return found;
}
