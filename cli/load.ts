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
import { readFastDocument, splitDocuments, type Offsets, type Region } from "./yaml-fast.js";

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

/** Finds the offset (in the stream) of a path inside the document at text[start, end). */
type OffsetFinder = (
  start: number,
  end: number,
  segments: readonly (string | number)[],
) => number | undefined;

/**
 * An object with a lineOf that finds its document again by offsets. A class, not a closure per
 * object: a closure and its context cost twice the fields, for every object of a large set; and
 * built out here, not in parseStream's loop, so nothing can keep the document's syntax tree alive.
 */
class LoadedDocumentObject implements LoadedObject {
  constructor(
    readonly obj: Record<string, unknown>,
    readonly location: Location,
    private readonly base: readonly (string | number)[],
    private readonly start: number,
    private readonly end: number,
    private readonly find: OffsetFinder,
    private readonly lineAt: (offset: number | undefined) => number,
  ) {}

  lineOf(path: string): number {
    const offset = this.find(this.start, this.end, [...this.base, ...pathSegments(path)]);
    return offset === undefined ? this.location.line : this.lineAt(offset);
  }
}

/** The path of a document's own object (not an item of a List): shared, never written. */
const DOCUMENT_ROOT: readonly (string | number)[] = Object.freeze([]);

function loadedObject(
  obj: Record<string, unknown>,
  location: Location,
  base: readonly (string | number)[],
  start: number,
  end: number,
  find: OffsetFinder,
  lineAt: (offset: number | undefined) => number,
): LoadedObject {
  return new LoadedDocumentObject(
    obj,
    location,
    base.length === 0 ? DOCUMENT_ROOT : base,
    start,
    end,
    find,
    lineAt,
  );
}

/** A finder over `yaml`'s tree of the document at text[start, end), parsed again when asked. */
function yamlOffsetFinder(text: string): OffsetFinder {
  // The document parsed last: the findings of one object ask for several of its fields in a row.
  let reparsed: { start: number; root: YamlNode | undefined } | undefined;
  return (start, end, segments) => {
    if (reparsed?.start !== start) {
      const doc = parseDocument(text.slice(start, end), YAML_OPTIONS);
      reparsed = {
        start,
        root: doc.errors.length === 0 && doc.contents !== null ? doc.contents : undefined,
      };
    }
    const offset = reparsed.root && offsetOf(reparsed.root, segments);
    return offset === undefined ? undefined : start + offset;
  };
}

/** offsetOf over a document the fast reader read with offsets: the same walk, the same answer. */
function fastOffsetOf(
  value: unknown,
  rootStart: number,
  offsets: Offsets,
  segments: readonly (string | number)[],
): number {
  let node = value;
  let offset = rootStart;
  for (const seg of segments) {
    if (Array.isArray(node)) {
      const at = typeof seg === "number" ? offsets.items.get(node)?.[seg] : undefined;
      if (at === undefined) break;
      offset = at;
      node = node[seg as number];
    } else if (isRecord(node)) {
      const at = typeof seg === "string" ? offsets.keys.get(node)?.get(seg) : undefined;
      if (at === undefined) break;
      offset = at;
      node = node[seg as string];
    } else break;
  }
  return offset;
}

/** A finder that reads the document at text[start, end) again with the fast reader, keeping offsets. */
function fastOffsetFinder(text: string): OffsetFinder {
  let last: { start: number; value: unknown; rootStart: number; offsets: Offsets } | undefined;
  return (start, end, segments) => {
    if (last?.start !== start) {
      const offsets: Offsets = { keys: new WeakMap(), items: new WeakMap() };
      const doc = readFastDocument(text, start, end, { offsets });
      if (doc === undefined) return undefined;
      last = { start, value: doc.value, rootStart: doc.start, offsets };
    }
    return fastOffsetOf(last.value, last.rootStart, last.offsets, segments);
  };
}

/** Every how many lines lineIndex keeps a line start. */
const LINES_PER_MARK = 64;

/**
 * The 1-based line of an offset in `text`, from the start of every 64th line in a typed array (a
 * 100,000-object stream has over a million lines: a start for each was 5 MB kept for the run) and
 * the newlines counted from there.
 */
function lineIndex(text: string): (offset: number | undefined) => number {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  // marks[k]: the offset where line k * LINES_PER_MARK + 1 starts.
  const marks = new Uint32Array(Math.floor(n / LINES_PER_MARK) + 1);
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) {
    line++;
    if ((line - 1) % LINES_PER_MARK === 0) marks[(line - 1) / LINES_PER_MARK] = i + 1;
  }
  return (offset) => {
    if (offset === undefined) return 1;
    // The last mark at or before offset.
    let lo = 0;
    let hi = marks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((marks[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    let at = lo * LINES_PER_MARK + 1;
    for (
      let i = text.indexOf("\n", marks[lo] ?? 0);
      i >= 0 && i < offset;
      i = text.indexOf("\n", i + 1)
    )
      at++;
    return at;
  };
}

/**
 * Parses one stream (a file's or stdin's text) into objects. Multi-document YAML, JSON, and
 * `kind: List` (also `*List`, as `kubectl get -o yaml` prints) are flattened; empty documents are
 * skipped. YAML 1.1, as kubectl reads manifests.
 *
 * What stays of a document is the object, its line, and where the document lies in the text; a
 * field's line (lineOf, asked only for objects with findings) reads that one document again.
 * Documents of the plain shape most manifests have are read by the fast reader (yaml-fast.ts);
 * the rest, and every stream with an error, by `yaml` (parseStreamWithYaml), whose errors and
 * results the fast path reproduces exactly.
 */
export function parseStream(text: string, file: string): LoadedObject[] {
  return parseStreamFast(text, file) ?? parseStreamWithYaml(text, file);
}

/**
 * The fast path: split at "---" lines, each document read by the fast reader or, when it gives
 * up, by `yaml` on that document's text. Undefined when the stream needs `yaml` as a whole — it
 * cannot be split by lines, or some document is bad (an error, or not an object): parsing it with
 * `yaml` then gives the error exactly as it always has.
 */
export function parseStreamFast(text: string, file: string): LoadedObject[] | undefined {
  const regions = splitDocuments(text);
  if (regions === undefined) return undefined;
  const lineAt = lineIndex(text);
  const fastFinder = fastOffsetFinder(text);
  const yamlFinder = yamlOffsetFinder(text);
  const out: LoadedObject[] = [];
  const strings = new Map<string, string>();
  for (const region of regions) {
    const doc = readRegion(text, region, strings);
    if (doc === "bad") return undefined;
    if (doc === undefined || doc.value === null || doc.value === undefined) continue;
    const { value } = doc;
    if (!isRecord(value)) return undefined;
    // `yaml` reads a document it is given with its "---" line, so comments attach as in the stream.
    const [find, start] = doc.fast ? [fastFinder, region.start] : [yamlFinder, region.marker];
    const at = (base: (string | number)[], o: Record<string, unknown>): LoadedObject => {
      const offset = base.length === 0 ? doc.start : find(start, region.end, base);
      const loc: Location = { file, line: lineAt(offset) };
      if (doc.origin !== undefined) loc.origin = doc.origin;
      return loadedObject(redact(o), loc, base, start, region.end, find, lineAt);
    };
    if (isListKind(value)) {
      const items = value.items as unknown[];
      if (items.some((item) => !isRecord(item) || isListKind(item))) return undefined;
      items.forEach((item, i) => out.push(at(["items", i], item as Record<string, unknown>)));
    } else {
      out.push(at([], value));
    }
  }
  return out;
}

interface RegionDocument {
  value: unknown;
  /** Offset of the content's first character in the stream. */
  start: number;
  origin: string | undefined;
  /** Read by the fast reader (else by `yaml`). */
  fast: boolean;
}

/** One document of the fast path; "bad" when `yaml` finds an error in it. */
function readRegion(
  text: string,
  region: Region,
  strings: Map<string, string>,
): RegionDocument | undefined | "bad" {
  try {
    const d = readFastDocument(text, region.start, region.end, { strings });
    return d && { value: d.value, start: d.start, origin: helmSource(d.comment), fast: true };
  } catch {
    // FastYamlUnsupported: not the plain shape. Anything else (a nesting too deep for the stack)
    // is no reason to fail either: the fast reader only saves time, `yaml` reads it.
  }
  const doc = parseDocument(text.slice(region.marker, region.end), YAML_OPTIONS);
  if (doc.errors.length > 0 || doc.warnings.length > 0) return "bad";
  const root = doc.contents;
  if (root === null) return undefined;
  try {
    return {
      value: doc.toJS({ maxAliasCount: 100 }),
      start: region.marker + (root.range?.[0] ?? 0),
      origin: helmSource(doc.commentBefore) ?? helmSource(root.commentBefore),
      fast: false,
    };
  } catch {
    return "bad";
  }
}

/** The whole stream through `yaml`'s composer, a document at a time (the reference behaviour). */
export function parseStreamWithYaml(text: string, file: string): LoadedObject[] {
  const lineCounter = new LineCounter();
  const lineAt = (offset: number | undefined): number =>
    offset === undefined ? 1 : lineCounter.linePos(offset).line;
  const composer = new Composer(YAML_OPTIONS);
  const out: LoadedObject[] = [];
  const find = yamlOffsetFinder(text);
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
      return loadedObject(redact(o), loc, base, start, end, find, lineAt);
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
