// @ts-check
// The layering of docs/ARCHITECTURE.md ("Layers"), enforced: one row per part of the tree, naming
// the parts it may import. Everything else is forbidden, with a message naming the rule.
//
// ESLint's `no-restricted-imports` matches the import string, not the file it resolves to, so the
// patterns are built per directory: for each directory of a layer and each part it may not import,
// the exact relative path from there (`../../webhooks/…`). The tree is read when ESLint loads the
// config, so a new folder is covered without touching this file.
import { readdirSync, statSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = dirname(fileURLToPath(import.meta.url));

/**
 * The parts of the tree. A part is a folder (`operator/k8s`) or, for the operator's composition root,
 * the files directly in `operator/`. Order matters only for reading.
 */
export const LAYERS = [
  {
    part: "core",
    may: [],
    rule: "core-imports-no-edge",
    why: "core/ is the pure decisions; it imports only core/. Pass data in from the edge.",
  },
  {
    part: "edge",
    may: ["core"],
    rule: "shared-edge-imports-no-caller",
    why: "edge/ (logger, X.509) is shared by every edge, so it imports none of them.",
  },
  {
    part: "crds",
    may: ["core", "edge"],
    rule: "shared-edge-imports-no-caller",
    why: "crds/ loads the API contract for every edge, so it imports none of them.",
  },
  {
    part: "operator/k8s",
    may: ["core", "edge", "crds"],
    rule: "adapter-imports-no-caller",
    why: "operator/k8s/ is the one adapter to the API server; its callers (controllers, certificate loop, webhook, CLI, main) import it, never the reverse.",
  },
  {
    part: "operator/controllers",
    may: ["core", "edge", "operator/k8s"],
    rule: "controllers-use-core-and-adapter",
    why: "a controller decides with core/ and acts through operator/k8s/; main.ts wires it to anything else.",
  },
  {
    part: "operator/certs",
    may: ["core", "edge", "operator/k8s"],
    rule: "controllers-use-core-and-adapter",
    why: "the certificate loop decides with core/certs and acts through operator/k8s/; main.ts hands it what the webhook needs.",
  },
  {
    part: "operator/audit",
    may: ["core", "edge", "operator/k8s"],
    rule: "controllers-use-core-and-adapter",
    why: "the audit sink judges events with core/audit and acts through operator/k8s/; main.ts wires it to the cache and the Event recorder.",
  },
  {
    part: "webhooks",
    may: ["core", "edge", "crds", "operator/k8s"],
    rule: "webhook-imports-no-operator-or-cli",
    why: "webhooks/ judges requests with core/ and reads the cluster through operator/k8s/ (ClusterView); only operator/main.ts wires it to the rest.",
  },
  {
    part: "cli",
    may: ["core", "edge", "crds", "operator/k8s"],
    rule: "cli-imports-no-webhook-or-operator",
    why: "nhictl calls core/ itself and reads a cluster through operator/k8s/; it never imports the webhook or the operator's process.",
  },
  {
    part: "operator/*",
    may: [
      "core",
      "edge",
      "crds",
      "operator/k8s",
      "operator/controllers",
      "operator/certs",
      "operator/audit",
      "webhooks",
    ],
    rule: "composition-root-imports-no-cli",
    why: "operator/main.ts and its modules compose the process; the CLI is another program.",
  },
];

const isDir = (p) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The tree's parts as [part, path-or-paths]: folders, and operator/* as the files directly in operator/. */
function partTargets(part) {
  if (part === "operator/*") {
    return readdirSync(join(ROOT, "operator"))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => `operator/${f}`);
  }
  return [part];
}

/** Every directory under `part` (itself included) that holds files of that part. */
function directoriesOf(part) {
  if (part === "operator/*") return ["operator"];
  const out = [];
  const walk = (rel) => {
    if (!isDir(join(ROOT, rel))) return;
    out.push(rel);
    for (const e of readdirSync(join(ROOT, rel)))
      if (isDir(join(ROOT, rel, e))) walk(`${rel}/${e}`);
  };
  walk(part);
  return out;
}

/** The regex for importing `target` (a folder or a .ts file) from a file in `dir`. */
function importRegex(dir, target) {
  let rel = posix.relative(dir, target);
  if (!rel.startsWith("..")) rel = `./${rel}`;
  if (target.endsWith(".ts")) return `^${escape(rel.replace(/\.ts$/, ""))}(\\.js)?$`;
  return `^${escape(rel)}(/|$)`;
}

const ALL_PARTS = LAYERS.map((l) => l.part);

/**
 * Flat-config objects, one per directory of each layer, each carrying the whole `no-restricted-imports`
 * setting for its files (a later object replaces an earlier one's options): `extra` (e.g. core's purity
 * patterns) plus one pattern per forbidden part.
 * @param {{ extraFor?: (part: string) => object[] }} [o]
 */
export function layerConfigs(o = {}) {
  const configs = [];
  for (const layer of LAYERS) {
    const forbidden = ALL_PARTS.filter((p) => p !== layer.part && !layer.may.includes(p));
    for (const dir of directoriesOf(layer.part)) {
      const patterns = [...(o.extraFor?.(layer.part) ?? [])];
      for (const part of forbidden) {
        for (const target of partTargets(part)) {
          patterns.push({
            regex: importRegex(dir, target),
            message: `layering rule '${layer.rule}': ${layer.part} may not import ${part}. ${layer.why} (docs/ARCHITECTURE.md, "Layers")`,
          });
        }
      }
      // A path that goes down and back up (`../k8s/../controllers/x.js`) would slip past the patterns.
      patterns.push({
        regex: "^(\\.\\.?/)*[^./][^/]*/(.*/)?\\.\\.?/",
        message:
          "layering rule 'normalized-imports': write relative imports without ./ or ../ after a folder name, so the layering rules can read them.",
      });
      configs.push({
        files: [`${dir}/*.ts`],
        rules: { "no-restricted-imports": ["error", { patterns }] },
      });
    }
  }
  return configs;
}
