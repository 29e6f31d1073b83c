// `nhictl audit analyze`: the operator's runtime detection (core/audit) over audit log files, line by
// line (memory does not grow with the file), plain or gzip, files or stdin. Output follows
// `nhictl check`: text for people, json with a top-level `findings` array for scripts.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { AUDIT_RULES, atLeast, parseAuditLine } from "../core/audit/index.js";
import type { AuditDetector, AuditFinding } from "../core/audit/index.js";
import type { Severity } from "../core/policy/types.js";
import { COLOR, PLAIN, plural } from "./format.js";
import { InputError, STDIN, displayPath } from "./load.js";

export interface AnalyzeSummary {
  files: string[];
  lines: number;
  events: number;
  findingsDropped: number;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** The stream, gunzipped when its first bytes say gzip (whatever the file is called). */
async function decoded(input: Readable): Promise<Readable> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const first = await it.next();
  const head = first.done
    ? Buffer.alloc(0)
    : Buffer.isBuffer(first.value)
      ? first.value
      : Buffer.from(first.value);
  const rest = Readable.from(
    (async function* () {
      if (!first.done) yield head;
      for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
    })(),
    { objectMode: false },
  );
  return head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1] ? rest.pipe(createGunzip()) : rest;
}

/** Feeds every event of `file` ("-" = stdin) to the detector; a bad line is an InputError naming file and line. */
export async function analyzeFile(
  file: string,
  detector: AuditDetector,
  openStdin: () => Readable,
  summary: AnalyzeSummary,
): Promise<void> {
  const shown = file === "-" ? STDIN : displayPath(file);
  summary.files.push(shown);
  let raw: Readable;
  if (file === "-") raw = openStdin();
  else {
    raw = createReadStream(file);
    await new Promise<void>((resolve, reject) => {
      raw.once("open", () => resolve());
      raw.once("error", (e) =>
        reject(new InputError(shown, undefined, `cannot read: ${e.message}`)),
      );
    });
  }
  let lineNo = 0;
  let streamError: Error | undefined;
  const input = await decoded(raw);
  input.on("error", (e) => (streamError = e));
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      lineNo++;
      summary.lines++;
      const r = parseAuditLine(line);
      if (r === undefined) continue;
      if ("error" in r) throw new InputError(shown, lineNo, r.error);
      detector.observe(r.event);
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(
      shown,
      lineNo + 1,
      `cannot read: ${e instanceof Error ? e.message : String(e)}`,
    );
  } finally {
    lines.close();
    raw.destroy();
  }
  if (streamError)
    throw new InputError(
      shown,
      lineNo + 1,
      `cannot read: ${streamError.message} (a damaged gzip file?)`,
    );
  summary.events = detector.eventsSeen;
  summary.findingsDropped = detector.findingsDropped;
}

// ---------------------------------------------------------------------------------------------
// output

const listed = (label: string, xs: readonly (string | number)[], max = 4): string | undefined =>
  xs.length === 0
    ? undefined
    : `${label} ${xs.slice(0, max).join(", ")}${xs.length > max ? `, … (${xs.length})` : ""}`;

export function formatAuditText(
  findings: AuditFinding[],
  summary: AnalyzeSummary,
  failOn: Severity,
  color: boolean,
): string {
  const p = color ? COLOR : PLAIN;
  const failing = findings.filter((f) => atLeast(f.severity, failOn));
  const out: string[] = [];
  if (findings.length > 0) out.push(p.bold(`Findings (${findings.length})`), "");
  for (const f of findings) {
    const mark = atLeast(f.severity, failOn)
      ? p.red(`✖ ${f.severity}`)
      : p.yellow(`! ${f.severity}`);
    out.push(
      `  ${mark} ${p.bold(f.rule)}  ${f.identity}${f.nhi ? p.dim(` (NHI ${f.nhi})`) : p.dim(" (no NHI)")}`,
    );
    out.push(`      ${f.message}`);
    const e = f.evidence;
    const evidence = [
      listed("verbs", e.verbs),
      listed("resources", e.resources),
      listed("namespaces", e.namespaces),
      listed("codes", e.codes),
      listed("from", e.sourceIPs),
      listed("clients", e.userAgents, 2),
      listed("granted by", e.grantedBy, 2),
      listed("credentials", e.credentials, 2),
    ].filter((x) => x !== undefined);
    out.push(`      evidence:   ${evidence.join("; ")}`);
    out.push(
      `      seen:       ${f.firstSeen === f.lastSeen ? f.firstSeen : `${f.firstSeen} → ${f.lastSeen}`} (${plural(f.count, "event")})`,
    );
    out.push(p.dim(`      ${f.owasp.join(", ")}: ${AUDIT_RULES[f.rule].why}`));
    out.push(`      tune: ${AUDIT_RULES[f.rule].tune}`);
    out.push("");
  }
  const verdict = failing.length > 0 ? p.red("FAIL") : "PASS";
  const below = findings.length - failing.length;
  out.push(
    `${verdict}: ${plural(failing.length, "finding")} at or above ${failOn}${below > 0 ? ` (${below} below)` : ""} in ${plural(summary.events, "event")} from ${plural(summary.files.length, "file")}`,
  );
  if (summary.findingsDropped > 0)
    out.push(
      p.yellow(
        `${plural(summary.findingsDropped, "further finding")} not kept: the detector's finding limit was reached`,
      ),
    );
  return `${out.join("\n")}\n`;
}

export function formatAuditJson(
  findings: AuditFinding[],
  summary: AnalyzeSummary,
  failOn: Severity,
): string {
  return `${JSON.stringify(
    {
      findings,
      summary: {
        findings: findings.length,
        failing: findings.filter((f) => atLeast(f.severity, failOn)).length,
        failOn,
        events: summary.events,
        lines: summary.lines,
        files: summary.files,
        findingsDropped: summary.findingsDropped,
      },
    },
    null,
    2,
  )}\n`;
}
