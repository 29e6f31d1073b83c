// Reads manifests from files, folders and stdin into plain objects that remember where they came
// from (file, line, and the Helm template that rendered them), so every finding can point at the
// line a reviewer must change. Bad input is an InputError naming file and line (exit code 2).
//
// Secret values never leave this module: a Secret's data and stringData are dropped as soon as the
// document is converted, and parse errors are reported without the source excerpt yaml would quote.
import { relative, sep } from "node:path";
import {
  Composer,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  Parser,
  type Node as YamlNode,
} from "yaml";
import { isRecord } from "../core/json.js";
import { DEFAULT_MAX_BYTES, ReadProblem, manifestFiles, readManifestFile } from "./read.js";

export interface Location {
  /** Path relative to the working directory (forward slashes), or "<stdin>". */
  file: string;
  /** 1-based line of the object (or of the field a finding is about). */
  line: number;
  /** "templates/rbac.yaml" when a Helm "# Source:" comment names the template that rendered it. */
  origin?: string;
}

export interface LoadedObject {
  obj: Record<string, unknown>;
  location: Location;
  /** Line of a field inside the object, Kubernetes-style path ("spec.scopes[0].verbs"); the object's line when not found. */
  lineOf(path: string): number;
}

export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    message: string,
  ) {
    super(`${file}${line === undefined ? "" : `:${line}`}: ${message}`);
  }
}

export const STDIN = "<stdin>";

/** Kubernetes field path "spec.credentials[0].ttl" → ["spec", "credentials", 0, "ttl"]. */
export function pathSegments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.split(".")) {
    if (part === "") continue;
    const m = /^([^[]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1]) out.push(m[1]);
    for (const idx of (m[2] ?? "").matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** The deepest node along `segments` and the offset of its key (or of the item), for line numbers. */
function offsetOf(root: YamlNode, segments: readonly (string | number)[]): number | undefined {
  let node: unknown = root;
  let offset = root.range?.[0];
  for (const seg of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) break;
      if (isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
      node = pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      const item: unknown = node.items[seg];
      if (!item) break;
      if (isScalar(item) || isMap(item) || isSeq(item)) offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

/** "# Source: chart/templates/x.yaml" as Helm writes before each rendered document. */
function helmSource(comment: string | null | undefined): string | undefined {
  if (!comment) return undefined;
  const m = /^\s*Source:\s*(\S.*)$/m.exec(comment);
  return m?.[1]?.trim();
}

/** Drops values a Secret holds; keeps which keys exist (for checks that need them), never their content. */
function redact(obj: Record<string, unknown>): Record<string, unknown> {
  if (obj.kind !== "Secret") return obj;
  const { data, stringData, ...rest } = obj;
  const keys = [
    ...Object.keys(isRecord(data) ? data : {}),
    ...Object.keys(isRecord(stringData) ? stringData : {}),
  ];
  return keys.length > 0 ? { ...rest, dataKeys: [...new Set(keys)].sort() } : rest;
}

const isListKind = (obj: Record<string, unknown>): boolean =>
  typeof obj.kind === "string" && obj.kind.endsWith("List") && Array.isArray(obj.items);

const YAML_OPTIONS = { version: "1.1", prettyErrors: false, uniqueKeys: true } as const;

/**
 * An object with a lineOf that finds its document again by offsets. Built out here, not in
 * parseStream's loop, so the closure cannot keep the document's syntax tree alive.
 */
function loadedObject(
  obj: Record<string, unknown>,
  location: Location,
  base: readonly (string | number)[],
  start: number,
  end: number,
  rootAt: (start: number, end: number) => YamlNode | undefined,
  lineAt: (offset: number | undefined) => number,
): LoadedObject {
  const lineOf = (path: string): number => {
    const root = rootAt(start, end);
    const offset =
      root === undefined ? undefined : offsetOf(root, [...base, ...pathSegments(path)]);
    return offset === undefined ? location.line : lineAt(start + offset);
  };
  return { obj, location, lineOf };
}

/**
 * Parses one stream (a file's or stdin's text) into objects. Multi-document YAML, JSON, and
 * `kind: List` (also `*List`, as `kubectl get -o yaml` prints) are flattened; empty documents are
 * skipped. YAML 1.1, as kubectl reads manifests.
 *
 * Documents are composed one at a time and their syntax trees dropped once converted: what stays is
 * the object, its line, and where its document lies in the text. A field's line (lineOf, asked only
 * for objects with findings) parses that one document again.
 */
export function parseStream(text: string, file: string): LoadedObject[] {
  const lineCounter = new LineCounter();
  const lineAt = (offset: number | undefined): number =>
    offset === undefined ? 1 : lineCounter.linePos(offset).line;
  const composer = new Composer(YAML_OPTIONS);
  const out: LoadedObject[] = [];
  // The document lineOf parsed last: the findings of one object ask for several of its fields in a row.
  let reparsed: { start: number; root: YamlNode | undefined } | undefined;
  const rootAt = (start: number, end: number): YamlNode | undefined => {
    if (reparsed?.start !== start) {
      const doc = parseDocument(text.slice(start, end), YAML_OPTIONS);
      reparsed = {
        start,
        root: doc.errors.length === 0 && doc.contents !== null ? doc.contents : undefined,
      };
    }
    return reparsed.root;
  };
  let docNo = 0;
  for (const doc of composer.compose(new Parser(lineCounter.addNewLine).parse(text))) {
    docNo++;
    const err = doc.errors[0];
    if (err) {
      // err.message without prettyErrors carries no source excerpt: a broken Secret does not leak.
      throw new InputError(
        file,
        lineAt(err.pos[0]),
        `invalid YAML in document ${docNo}: ${err.message.split("\n")[0] ?? err.code}`,
      );
    }
    const root = doc.contents;
    if (root === null) continue;
    // After "---" the comment belongs to the document; before a first document without "---", to its contents.
    const origin = helmSource(doc.commentBefore) ?? helmSource(root.commentBefore);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw new InputError(
        file,
        lineAt(root.range?.[0]),
        `cannot read document ${docNo}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (value === null || value === undefined) continue;
    const line = lineAt(root.range?.[0]);
    if (!isRecord(value)) {
      throw new InputError(
        file,
        line,
        `document ${docNo} is not a Kubernetes object (a mapping with apiVersion and kind), it is ${Array.isArray(value) ? "a sequence" : `a ${typeof value}`}`,
      );
    }
    const [start, , end] = doc.range;
    const at = (
      node: YamlNode,
      base: (string | number)[],
      o: Record<string, unknown>,
    ): LoadedObject => {
      const loc: Location = { file, line: lineAt(offsetOf(root, base) ?? node.range?.[0]) };
      if (origin !== undefined) loc.origin = origin;
      return loadedObject(redact(o), loc, base, start, end, rootAt, lineAt);
    };
    if (isListKind(value)) {
      const items = value.items as unknown[];
      items.forEach((item, i) => {
        if (!isRecord(item))
          throw new InputError(
            file,
            lineAt(offsetOf(root, ["items", i])),
            `items[${i}] of the ${String(value.kind)} is not a Kubernetes object`,
          );
        if (isListKind(item))
          throw new InputError(
            file,
            lineAt(offsetOf(root, ["items", i])),
            `items[${i}] is a nested ${String(item.kind)}, which Kubernetes does not accept`,
          );
        out.push(at(root, ["items", i], item));
      });
    } else {
      out.push(at(root, [], value));
    }
  }
  return out;
}

export function displayPath(path: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, path);
  const shown = rel === "" || rel.startsWith("..") ? path : rel;
  return shown.split(sep).join("/");
}

export interface Sources {
  paths: string[];
  /** The text read from stdin, when `-f -` (or the path "-") was given. */
  stdin?: string;
  /** A larger file is refused (exit 2 naming it); default DEFAULT_MAX_BYTES. */
  maxBytes?: number;
}

export interface Loaded {
  objects: LoadedObject[];
  files: string[];
}

/** Loads every source in order (paths as given, stdin where "-" appears). */
export function loadSources(sources: Sources): Loaded {
  const objects: LoadedObject[] = [];
  const files: string[] = [];
  for (const p of sources.paths) {
    if (p === "-") {
      files.push(STDIN);
      for (const o of parseStream(sources.stdin ?? "", STDIN)) objects.push(o);
      continue;
    }
    let found: string[];
    try {
      found = manifestFiles(p);
    } catch (e) {
      throw e instanceof ReadProblem ? new InputError(displayPath(e.path), e.line, e.message) : e;
    }
    for (const f of found) {
      const shown = displayPath(f);
      let text: string;
      try {
        text = readManifestFile(f, shown, sources.maxBytes ?? DEFAULT_MAX_BYTES);
      } catch (e) {
        throw e instanceof ReadProblem ? new InputError(shown, e.line, e.message) : e;
      }
      files.push(shown);
      for (const o of parseStream(text, shown)) objects.push(o);
    }
  }
  return { objects, files };
}
