// Image globs of spec.workloads.images: what a pattern means, and whether it is a sane one.
// `*` matches any run of characters (including "/" and ":"), `?` exactly one. Patterns are matched
// against normalized references (docker.io/library/nginx:latest), so the registry host must be literal:
// a wildcard there would let any registry (registry.example.com.evil.io) satisfy the pattern.

export interface ImageGlobProblem {
  message: string;
  fix: string;
}

const WILDCARD = /[*?]/;
// Repository path components are lowercase in the distribution spec; wildcards may stand in for parts.
const PATH_COMPONENT = /^[a-z0-9*?]+([._-]+[a-z0-9*?]+|[*?]+)*$/;

/** Splits "host[:port]/path[:tag][@digest]" at the first "/": [host, rest]. */
function splitHost(glob: string): [string, string] | undefined {
  const slash = glob.indexOf("/");
  if (slash <= 0) return undefined;
  return [glob.slice(0, slash), glob.slice(slash + 1)];
}

function looksLikeRegistryHost(host: string): boolean {
  return host === "localhost" || host.includes(".") || host.includes(":");
}

/** Problems with one image glob; empty when it is sane. */
export function imageGlobProblems(glob: string): ImageGlobProblem[] {
  const parts = splitHost(glob);
  if (parts === undefined) {
    return [
      {
        message: `image pattern "${glob}" does not start with a registry host`,
        fix: `write the full reference, e.g. docker.io/library/${glob === "" ? "nginx:*" : glob} or registry.example.com/team/app:*`,
      },
    ];
  }
  const [host, rest] = parts;
  const problems: ImageGlobProblem[] = [];
  if (WILDCARD.test(host)) {
    problems.push({
      message: `image pattern "${glob}" has a wildcard in the registry host "${host}", so images from any look-alike registry would match`,
      fix: "write the registry host out, e.g. registry.example.com/team/*",
    });
  } else if (!looksLikeRegistryHost(host)) {
    problems.push({
      message: `image pattern "${glob}" starts with "${host}", which is not a registry host (pods' images are matched in their full form, e.g. docker.io/library/nginx:1.27)`,
      fix: `write the registry host first, e.g. docker.io/${glob}`,
    });
  }
  // The repository path ends where the tag or digest begins.
  const at = rest.indexOf("@");
  const beforeDigest = at >= 0 ? rest.slice(0, at) : rest;
  const lastSlash = beforeDigest.lastIndexOf("/");
  const colon = beforeDigest.indexOf(":", lastSlash + 1);
  const repo = colon >= 0 ? beforeDigest.slice(0, colon) : beforeDigest;
  if (repo === "" || repo.split("/").some((c) => c === "")) {
    problems.push({
      message: `image pattern "${glob}" has an empty path component`,
      fix: "remove the doubled or trailing '/'",
    });
  } else if (!repo.split("/").every((c) => PATH_COMPONENT.test(c))) {
    problems.push({
      message: `image pattern "${glob}" has a repository path "${repo}" that no image can have`,
      fix: "repository paths are lowercase letters, digits and single '.', '_' or '-' separators (tags may use upper case)",
    });
  }
  if (rest.includes("**")) {
    problems.push({
      message: `image pattern "${glob}" contains "**"`,
      fix: "use a single *: it already matches any run of characters, including '/'",
    });
  }
  return problems;
}

/** Full form of an image reference as the container runtime resolves it: docker.io/library/nginx:latest. */
export function normalizeImage(image: string): string {
  let ref = image;
  const slash = ref.indexOf("/");
  const first = slash < 0 ? "" : ref.slice(0, slash);
  if (slash < 0) ref = `docker.io/library/${ref}`;
  else if (!looksLikeRegistryHost(first)) ref = `docker.io/${ref}`;
  const lastSlash = ref.lastIndexOf("/");
  const tail = ref.slice(lastSlash + 1);
  if (!tail.includes(":") && !tail.includes("@")) ref = `${ref}:latest`;
  return ref;
}

function globToRegExp(glob: string): RegExp {
  let re = "";
  for (const ch of glob) {
    if (ch === "*") re += ".*";
    else if (ch === "?") re += ".";
    else re += ch.replace(/[.+^${}()|[\]\\/-]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}

/** Whether `image` (normalized first) matches the glob. */
export function imageMatches(glob: string, image: string): boolean {
  return globToRegExp(glob).test(normalizeImage(image));
}

// The patterns of one NHI version compiled once: keyed by its spec.workloads.images array, which a
// cached NHI keeps until the NHI changes (then the new array compiles once and the old one is collected).
const compiled = new WeakMap<readonly string[], RegExp[]>();

/** Whether `image` (normalized first) matches any of the globs (spec.workloads.images). */
export function imageMatchesAny(globs: readonly string[], image: string): boolean {
  let res = compiled.get(globs);
  if (res === undefined) {
    res = globs.map(globToRegExp);
    compiled.set(globs, res);
  }
  const normalized = normalizeImage(image);
  return res.some((re) => re.test(normalized));
}
