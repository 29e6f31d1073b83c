// A fast reader for the plain shape most manifests have (issue 14): block mappings and sequences,
// single-line flow collections, plain and simple quoted scalars. The `yaml` library reads 20,000
// objects in about 3 s and allocates gigabytes of short-lived tokens doing it; this reads them in a
// small fraction of that. It is not a YAML parser: anything it is not sure of — anchors, tags, block
// scalars, multi-line scalars or flow collections, escapes, merge keys, odd keys, anything
// malformed — makes it give up (FastYamlUnsupported), and the caller reads that document with
// `yaml`, which also reports every error. Plain scalars resolve with `yaml`'s own YAML 1.1 schema
// tags, so `yes`, `0755` or `1_000` mean what they mean there. test/cli/yaml-fast.test.ts compares
// both readers on the project's fixtures and on generated edge cases.
import { Document, isScalar } from "yaml";

/** Thrown when the fast reader is not sure; the caller falls back to `yaml`. */
export class FastYamlUnsupported extends Error {}
const unsupported = (why: string): never => {
  throw new FastYamlUnsupported(why);
};

const SCHEMA = new Document(null, { version: "1.1" }).schema;
const SCHEMA_OPTIONS = { intAsBigInt: false };
/** The YAML 1.1 tags `yaml` tries on a plain scalar, in its order (compose-scalar's findScalarTagByTest). */
const VALUE_TAGS = SCHEMA.tags.filter((t) => t.default === true && t.test !== undefined);
const KEY_TAGS = SCHEMA.tags.filter(
  (t) => (t.default === true || t.default === "key") && t.test !== undefined,
);
/**
 * First characters any of those tags' patterns can match (null, bool, int, float, timestamp, `<<`):
 * a plain scalar starting otherwise is a string without testing them all.
 */
const TYPED_FIRST = new Set("~nNyYtTfFoO0123456789+-.<");

type Plain = string | number | boolean | null;

function resolvePlain(text: string, atKey: boolean): Plain {
  if (text !== "" && !TYPED_FIRST.has(text.charAt(0))) return text;
  const tag = (atKey ? KEY_TAGS : VALUE_TAGS).find((t) => t.test?.test(text));
  if (tag === undefined) return text;
  if (tag.tag === "tag:yaml.org,2002:str") return text;
  let failed = false;
  // A scalar tag's resolve takes the source text (a collection tag's would take a node).
  const resolve = tag.resolve as (s: string, onError: () => void, o: object) => unknown;
  const res = resolve(text, () => (failed = true), SCHEMA_OPTIONS);
  const value: unknown = isScalar(res) ? res.value : res;
  if (failed) unsupported("scalar tag error");
  if (
    value === null ||
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && tag.tag !== "tag:yaml.org,2002:timestamp")
  )
    return value;
  return unsupported(`scalar resolves to ${tag.tag}`);
}

/** Where a document's keys and items start, for line numbers; collected only when asked. */
export interface Offsets {
  /** Offset of each key, per mapping (by the object it became). */
  keys: WeakMap<object, Map<string, number>>;
  /** Offset of each item, per sequence. */
  items: WeakMap<object, number[]>;
}

export interface FastDocument {
  value: unknown;
  /** Offset of the first character of the document's content (yaml's contents.range[0]). */
  start: number;
  /** The comment lines before the content, '#' removed, joined by newlines (for Helm's "# Source:"). */
  comment: string;
}

const SPACE = 32;
const NL = 10;
const HASH = 35;
const DASH = 45;
const COLON = 58;

/** Characters that cannot start a plain scalar here (YAML's c-indicators, '-' '?' ':' handled apart). */
const INDICATOR = new Set(",[]{}#&*!|>'\"%@`");

class Reader {
  private p: number;
  constructor(
    private readonly text: string,
    private readonly start: number,
    private readonly end: number,
    private readonly offsets: Offsets | undefined,
    private readonly strings: Map<string, string> | undefined,
  ) {
    this.p = start;
  }

  /**
   * One string for each repeated value ("v1", "ServiceAccount", a namespace): a large stream holds
   * the same few values thousands of times, and each read would otherwise be its own copy.
   */
  private intern<T>(v: T): T {
    if (typeof v !== "string" || this.strings === undefined || v.length > 64) return v;
    const known = this.strings.get(v);
    if (known !== undefined) return known as T;
    this.strings.set(v, v);
    return v;
  }

  private eol(from: number): number {
    const i = this.text.indexOf("\n", from);
    return i < 0 || i > this.end ? this.end : i;
  }

  private indentAt(lineStart: number): number {
    let i = lineStart;
    while (i < this.end && this.text.charCodeAt(i) === SPACE) i++;
    return i - lineStart;
  }

  /**
   * Moves p to the start of the next line holding content (skipping blank and comment lines) and
   * returns its indent, or -1 at the end. Comment lines are passed to `comments` when given.
   */
  private nextContentLine(comments?: string[]): number {
    while (this.p < this.end) {
      const ind = this.indentAt(this.p);
      const c = this.p + ind;
      const e = this.eol(this.p);
      if (c >= e) {
        this.p = e + 1;
        continue;
      }
      if (this.text.charCodeAt(c) === HASH) {
        comments?.push(this.text.slice(c + 1, e));
        this.p = e + 1;
        continue;
      }
      return ind;
    }
    return -1;
  }

  document(): FastDocument | undefined {
    const comments: string[] = [];
    const ind = this.nextContentLine(comments);
    if (ind < 0) {
      if (comments.length > 0) unsupported("document of only comments");
      return undefined;
    }
    // Without a "---" before it, `yaml` gives comments right above the content to the first key.
    if (this.start === 0 && comments.length > 0) unsupported("comment before an implicit document");
    const start = this.p + ind;
    const value = this.block(ind, start);
    if (this.nextContentLine() >= 0) unsupported("content after the root node");
    return { value, start, comment: comments.join("\n") };
  }

  /** A block node whose first line's content starts at `at` (column `indent`). */
  private block(indent: number, at: number): unknown {
    const c = this.text.charCodeAt(at);
    if (c === DASH && this.isBlank(at + 1)) return this.sequence(indent, at);
    if (this.keyEnd(at) < 0) unsupported("a block scalar or something else than a mapping");
    return this.mapping(indent, at);
  }

  /** True when `i` is a space, the line's end, or the region's end. */
  private isBlank(i: number): boolean {
    if (i >= this.end) return true;
    const c = this.text.charCodeAt(i);
    return c === SPACE || c === NL;
  }

  /**
   * When the line from `at` is "key: ..." (a plain or simple quoted key), the offset just past
   * the ':'; otherwise -1.
   */
  private keyEnd(at: number): number {
    const e = this.eol(at);
    const c = this.text.charAt(at);
    if (c === '"' || c === "'") {
      const close = this.quotedEnd(at, e);
      let i = close;
      while (i < e && this.text.charCodeAt(i) === SPACE) i++;
      return i < e && this.text.charCodeAt(i) === COLON && this.isBlank(i + 1) ? i + 1 : -1;
    }
    if (INDICATOR.has(c) || c === "-" || c === "?" || c === ":") return -1;
    for (let i = at; i < e; i++) {
      const ch = this.text.charCodeAt(i);
      if (ch === COLON && this.isBlank(i + 1)) return i + 1;
      if (ch === HASH && this.text.charCodeAt(i - 1) === SPACE) return -1;
    }
    return -1;
  }

  /** Offset just past the closing quote of a single-line quoted scalar at `at`. */
  private quotedEnd(at: number, e: number): number {
    const q = this.text.charAt(at);
    for (let i = at + 1; i < e; i++) {
      const ch = this.text.charAt(i);
      if (q === '"' && ch === "\\") unsupported("escape");
      if (ch === q) {
        if (q === "'" && this.text.charAt(i + 1) === "'") {
          i++;
          continue;
        }
        return i + 1;
      }
    }
    return unsupported("multi-line quoted scalar");
  }

  private quoted(at: number, close: number): string {
    const inner = this.text.slice(at + 1, close - 1);
    return this.text.charAt(at) === "'" ? inner.replaceAll("''", "'") : inner;
  }

  /** The key at `at` (a line's content), ending just before `colon`. */
  private key(at: number, colon: number): string {
    const c = this.text.charAt(at);
    if (c === '"' || c === "'") return this.quoted(at, this.quotedEnd(at, colon));
    const raw = this.text.slice(at, colon).trimEnd();
    if (raw.length > 1024) unsupported("long implicit key");
    const k = resolvePlain(raw, true);
    if (typeof k !== "string" || k === "__proto__") unsupported("key that is not a string");
    return k as string;
  }

  private mapping(indent: number, firstAt: number): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    const keys = this.offsets ? new Map<string, number>() : undefined;
    if (keys) this.offsets?.keys.set(map, keys);
    let at = firstAt;
    for (;;) {
      const afterColon = this.keyEnd(at);
      if (afterColon < 0) unsupported("not a mapping entry");
      const key = this.key(at, afterColon - 1);
      if (Object.prototype.hasOwnProperty.call(map, key)) unsupported("duplicate key");
      keys?.set(key, at);
      map[key] = this.value(indent, afterColon);
      const ind = this.nextContentLine();
      if (ind < indent) return map;
      if (ind > indent) unsupported("more indented line after a value");
      at = this.p + indent;
      if (this.text.charCodeAt(at) === DASH && this.isBlank(at + 1))
        unsupported("item in a mapping");
    }
  }

  /**
   * A mapping value after the ':' at `from` (a key at column `indent`): on this line, or a block
   * node on the next. Leaves p at the start of the line after the value.
   */
  private value(indent: number, from: number): unknown {
    const e = this.eol(from);
    let i = from;
    while (i < e && this.text.charCodeAt(i) === SPACE) i++;
    if (i >= e || this.text.charCodeAt(i) === HASH) {
      this.p = e + 1;
      const ind = this.nextContentLine();
      if (ind < 0) return null;
      const at = this.p + ind;
      if (ind > indent) return this.block(ind, at);
      if (ind === indent && this.text.charCodeAt(at) === DASH && this.isBlank(at + 1))
        return this.sequence(ind, at);
      return null;
    }
    return this.inline(i, e);
  }

  /** A scalar or flow collection from `at` to the line's end `e` (a comment allowed after it). */
  private inline(at: number, e: number): unknown {
    const c = this.text.charAt(at);
    let value: unknown;
    let after: number;
    if (c === "{" || c === "[") {
      const r = this.flow(at, e);
      value = r.value;
      after = r.end;
    } else if (c === '"' || c === "'") {
      after = this.quotedEnd(at, e);
      value = this.intern(this.quoted(at, after));
    } else {
      if (INDICATOR.has(c) || c === "?" || c === ":" || (c === "-" && this.isBlank(at + 1)))
        unsupported("indicator");
      let stop = e;
      for (let i = at; i < e; i++) {
        const ch = this.text.charCodeAt(i);
        if (ch === HASH && this.text.charCodeAt(i - 1) === SPACE) {
          stop = i;
          break;
        }
        if (ch === COLON && this.isBlank(i + 1)) unsupported("':' in a plain scalar");
      }
      value = this.intern(resolvePlain(this.text.slice(at, stop).trimEnd(), false));
      after = stop;
    }
    let i = after;
    while (i < e && this.text.charCodeAt(i) === SPACE) i++;
    if (i < e && this.text.charCodeAt(i) !== HASH) unsupported("text after a value");
    if (i < e && this.text.charCodeAt(i - 1) !== SPACE) unsupported("'#' right after a value");
    this.p = e + 1;
    return value;
  }

  /**
   * A sequence as kept: a copy of exactly its length. An array grown by push keeps room for 17
   * items; the objects of a large manifest set hold a hundred thousand short lists.
   */
  private finished(items: unknown[], starts: number[] | undefined): unknown[] {
    const kept = items.slice();
    if (starts) this.offsets?.items.set(kept, starts);
    return kept;
  }

  private sequence(indent: number, firstAt: number): unknown[] {
    const items: unknown[] = [];
    const starts = this.offsets ? ([] as number[]) : undefined;
    let at = firstAt;
    for (;;) {
      // at: the '-' of an item, at column `indent`.
      const e = this.eol(at);
      let i = at + 1;
      while (i < e && this.text.charCodeAt(i) === SPACE) i++;
      if (i >= e || this.text.charCodeAt(i) === HASH) {
        this.p = e + 1;
        const ind = this.nextContentLine();
        if (ind <= indent) unsupported("empty sequence item");
        const start = this.p + ind;
        starts?.push(start);
        items.push(this.block(ind, start));
      } else {
        starts?.push(i);
        const c = this.text.charCodeAt(i);
        if (c === DASH && this.isBlank(i + 1)) unsupported("nested compact sequence");
        if (this.keyEnd(i) >= 0) items.push(this.mapping(i - this.lineStart(i), i));
        else items.push(this.inline(i, e));
      }
      const ind = this.nextContentLine();
      if (ind < indent) return this.finished(items, starts);
      if (ind > indent) unsupported("more indented line after an item");
      at = this.p + indent;
      if (!(this.text.charCodeAt(at) === DASH && this.isBlank(at + 1)))
        return this.finished(items, starts);
    }
  }

  private lineStart(i: number): number {
    return this.text.lastIndexOf("\n", i - 1) + 1;
  }

  /** A flow collection that ends on its line: `{ a: b, c: [d] }`. */
  private flow(at: number, e: number): { value: unknown; end: number } {
    const open = this.text.charAt(at);
    let i = at + 1;
    const skip = (): void => {
      while (i < e && this.text.charCodeAt(i) === SPACE) i++;
    };
    const scalar = (atKey: boolean): unknown => {
      const c = this.text.charAt(i);
      if (c === "{" || c === "[") {
        if (atKey) unsupported("collection as a key");
        const r = this.flow(i, e);
        i = r.end;
        return r.value;
      }
      if (c === '"' || c === "'") {
        const close = this.quotedEnd(i, e);
        const v = this.intern(this.quoted(i, close));
        i = close;
        return v;
      }
      if (INDICATOR.has(c) || c === "?" || c === ":" || c === "-" || i >= e)
        if (!(c === "-" && i + 1 < e && /[0-9.]/.test(this.text.charAt(i + 1))))
          unsupported("flow indicator");
      const s = i;
      while (i < e) {
        const ch = this.text.charAt(i);
        if (ch === "," || ch === "]" || ch === "}" || ch === "[" || ch === "{") break;
        if (ch === ":") {
          // A value indicator when followed by a space, a flow indicator or the line's end.
          const next = i + 1 < e ? this.text.charAt(i + 1) : " ";
          if (" ,[]{}".includes(next)) break;
        }
        if (ch === "#") unsupported("'#' in a flow scalar");
        i++;
      }
      const v = resolvePlain(this.text.slice(s, i).trimEnd(), atKey);
      return atKey ? v : this.intern(v);
    };
    const close = open === "{" ? "}" : "]";
    const map: Record<string, unknown> = {};
    const seq: unknown[] = [];
    const keys = this.offsets && open === "{" ? new Map<string, number>() : undefined;
    const starts = this.offsets && open === "[" ? ([] as number[]) : undefined;
    if (keys) this.offsets?.keys.set(map, keys);
    const value = (): unknown => (open === "{" ? map : this.finished(seq, starts));
    skip();
    if (this.text.charAt(i) === close) return { value: value(), end: i + 1 };
    for (;;) {
      skip();
      const start = i;
      if (open === "{") {
        const k = scalar(true);
        if (typeof k !== "string" || k === "__proto__") return unsupported("flow key");
        skip();
        if (this.text.charAt(i) !== ":" || !this.isBlank(i + 1)) unsupported("flow pair");
        i++;
        skip();
        if (Object.prototype.hasOwnProperty.call(map, k)) unsupported("duplicate key");
        keys?.set(k, start);
        const c = this.text.charAt(i);
        if (c === "," || c === "}") unsupported("empty flow value");
        map[k] = scalar(false);
      } else {
        starts?.push(start);
        seq.push(scalar(false));
      }
      skip();
      const c = this.text.charAt(i);
      if (i >= e) unsupported("multi-line flow collection");
      if (c === close) return { value: value(), end: i + 1 };
      if (c !== ",") unsupported("flow separator");
      i++;
      skip();
      if (this.text.charAt(i) === close || i >= e) unsupported("trailing comma");
    }
  }
}

/**
 * Reads the document in text[start, end) — the lines between two "---" markers — or gives up
 * (FastYamlUnsupported). Undefined for a document without content.
 */
export function readFastDocument(
  text: string,
  start: number,
  end: number,
  options: { offsets?: Offsets; strings?: Map<string, string> } = {},
): FastDocument | undefined {
  return new Reader(text, start, end, options.offsets, options.strings).document();
}

/** A document's region: text[start, end) after its "---" line (or from the stream's start). */
export interface Region {
  /** Where the document's "---" line starts (= start for a first document without one). */
  marker: number;
  start: number;
  end: number;
}

/**
 * The regions between "---" lines, or undefined when the stream has anything that makes splitting
 * by lines unsafe (directives, "...", content on a "---" line, tabs, carriage returns, other line breaks
 * YAML 1.1 knows, control characters, a comment-only prelude before the first "---").
 */
export function splitDocuments(text: string): Region[] | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\t\r\u0085\u2028\u2029\ufeff\x00-\x08\x0b-\x1f\x7f]/.test(text)) return undefined;
  const regions: Region[] = [];
  let start = 0;
  let marker = 0;
  let sawMarker = false;
  for (let ls = 0; ls < text.length;) {
    let le = text.indexOf("\n", ls);
    if (le < 0) le = text.length;
    const c = text.charCodeAt(ls);
    if (c === 37 /* % */) return undefined;
    if ((c === DASH || c === 46) /* . */ && le - ls >= 3) {
      const head = text.slice(ls, ls + 3);
      if (head === "..." && (le === ls + 3 || text.charCodeAt(ls + 3) === SPACE)) return undefined;
      if (head === "---" && (le === ls + 3 || text.charCodeAt(ls + 3) === SPACE)) {
        if (text.slice(ls + 3, le).trim() !== "") return undefined;
        if (!sawMarker) {
          // Before the first marker: a document only when it has content; comments there would
          // belong to the next document in `yaml`, so those streams take the slow path.
          const pre = text.slice(0, ls);
          if (/^[ \t]*#/m.test(pre)) return undefined;
          if (pre.trim() !== "") regions.push({ marker: 0, start: 0, end: ls });
        } else regions.push({ marker, start, end: ls });
        sawMarker = true;
        marker = ls;
        start = le + 1;
      }
    }
    ls = le + 1;
  }
  if (!sawMarker) regions.push({ marker: 0, start: 0, end: text.length });
  else if (start < text.length) regions.push({ marker, start, end: text.length });
  return regions;
}
