// What nhictl reads before it parses: the manifest files under the given paths (symlinks followed,
// each file and folder once, so a link loop ends), refused above a size limit, and decoded as
// strict UTF-8 — bytes that are not are an error naming the file and offset, never replacement
// characters judged as names.
import {
  closeSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  statSync,
  type Stats,
} from "node:fs";
import { extname, join } from "node:path";

/** --max-bytes when not given: far above any rendered chart, far below what stalls a run. */
export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;
export const MANIFEST_EXTENSIONS: ReadonlySet<string> = new Set([".yaml", ".yml", ".json"]);

/** Thrown for input nhictl refuses; the caller turns it into its InputError (exit 2). */
export class ReadProblem extends Error {
  constructor(
    readonly path: string,
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

const UNITS: Readonly<Record<string, number>> = {
  "": 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  ki: 1024,
  mi: 1024 ** 2,
  gi: 1024 ** 3,
};

/** "1048576", "64Mi", "500k", "1G" → bytes; undefined when it is not a positive size. */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+)\s*([kmg]i?)?b?$/i.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] ?? NaN);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3 && n % 1024 ** 3 === 0) return `${n / 1024 ** 3} GiB`;
  if (n >= 1024 ** 2 && n % 1024 ** 2 === 0) return `${n / 1024 ** 2} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence; undefined when all do. */
export function invalidUtf8Offset(buf: Uint8Array): number | undefined {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i] ?? 0;
    if (b < 0x80) {
      i++;
      continue;
    }
    // Continuation count and the range of the second byte (no overlongs, no surrogates, ≤ U+10FFFF).
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b === 0xe0) [n, lo] = [2, 0xa0];
    else if (b === 0xed) [n, hi] = [2, 0x9f];
    else if (b >= 0xe1 && b <= 0xef) n = 2;
    else if (b === 0xf0) [n, lo] = [3, 0x90];
    else if (b >= 0xf1 && b <= 0xf3) n = 3;
    else if (b === 0xf4) [n, hi] = [3, 0x8f];
    else return i;
    for (let k = 1; k <= n; k++) {
      const c = buf[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return undefined;
}

/** Strict UTF-8 (a leading BOM dropped); invalid bytes are a ReadProblem naming the byte offset and line. */
export function decodeUtf8(buf: Buffer, path: string): string {
  const bad = invalidUtf8Offset(buf);
  if (bad !== undefined) {
    let line = 1;
    for (let i = 0; i < bad; i++) if (buf[i] === 0x0a) line++;
    throw new ReadProblem(
      path,
      `invalid UTF-8 at byte offset ${bad} (0x${(buf[bad] ?? 0).toString(16).padStart(2, "0")}): save the file as UTF-8`,
      line,
    );
  }
  const text = buf.toString("utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

const tooLarge = (path: string, size: string, maxBytes: number): ReadProblem =>
  new ReadProblem(
    path,
    `${size} is larger than --max-bytes ${maxBytes} (${formatBytes(maxBytes)}); split it, or raise --max-bytes if it is meant to be this large`,
  );

/** Reads one file: refused before reading when larger than maxBytes, then decoded as strict UTF-8. */
export function readManifestFile(path: string, shown: string, maxBytes: number): string {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    throw new ReadProblem(shown, `cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (st.size > maxBytes) throw tooLarge(shown, `${st.size} bytes`, maxBytes);
  let buf: Buffer;
  try {
    buf = readBounded(openSync(path, "r"), maxBytes, shown, true);
  } catch (e) {
    if (e instanceof ReadProblem) throw e;
    throw new ReadProblem(shown, `cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
  return decodeUtf8(buf, shown);
}

/** Reads a descriptor to its end, refusing (ReadProblem) once more than maxBytes arrive. */
export function readBounded(fd: number, maxBytes: number, shown: string, close: boolean): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue; // a non-blocking stdin not ready yet
        if ((e as NodeJS.ErrnoException).code === "EOF") break;
        throw e;
      }
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) throw tooLarge(shown, "the input", maxBytes);
    }
  } finally {
    if (close) closeSync(fd);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Every manifest file under `path` (recursively, sorted, hidden entries skipped), or `path` itself.
 * Symbolic links are followed; a folder or file reached a second time (a link loop, or two links to
 * one place) is read once. A dangling link named like a manifest is an error, not a silent skip.
 */
export function manifestFiles(path: string, seen: Set<string> = new Set()): string[] {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    throw new ReadProblem(path, "no such file or directory");
  }
  const real = realpathSync(path);
  if (seen.has(real)) return [];
  seen.add(real);
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (entry.name.startsWith(".")) continue;
    const full = join(path, entry.name);
    const manifestName = MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase());
    let isDir = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      try {
        isDir = statSync(full).isDirectory();
      } catch {
        if (manifestName)
          throw new ReadProblem(full, "is a symbolic link to nothing (dangling link)");
        continue;
      }
    }
    if (isDir) out.push(...manifestFiles(full, seen));
    else if (manifestName) {
      const realFile = realpathSync(full);
      if (seen.has(realFile)) continue;
      seen.add(realFile);
      out.push(full);
    }
  }
  return out;
}
