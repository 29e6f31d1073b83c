// `nhictl audit analyze`: the operator's runtime detection (core/audit) over audit log files, line by
// line (memory does not grow with the file), plain or gzip, files or stdin. Output follows
// `nhictl check`: text for people, json with a top-level `findings` array for scripts.
import { createReadStream, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { stringify } from "yaml";
import {
  AUDIT_RULES,
  Baseline,
  atLeast,
  parseAuditLine,
  parseBaselineDocument,
} from "../core/audit/index.js";
import type {
  AuditDetector,
  AuditFinding,
  BaselineOptions,
  BaselineStats,
  RightsizeProposal,
} from "../core/audit/index.js";
import type { Severity } from "../core/policy/types.js";
import { COLOR, PLAIN, plural } from "./format.js";
import { InputError, STDIN, displayPath } from "./load.js";

export interface AnalyzeSummary {
  files: string[];
  lines: number;
  events: number;
  findingsDropped: number;
  baseline?: BaselineStats & { file?: string };
}

/**
 * `--baseline FILE`: the habits learned by earlier runs. A missing file starts a fresh baseline; a
 * damaged one too, after a warning naming the file and what is wrong (it is overwritten at the end).
 */
export function loadBaselineFile(
  file: string,
  options: Partial<BaselineOptions>,
  warn: (s: string) => void,
): Baseline {
  const baseline = new Baseline(options);
  if (!existsSync(file)) return baseline;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new InputError(
      displayPath(file),
      undefined,
      `cannot read the baseline: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const r = parseBaselineDocument(text, baseline.opts.maxHabits);
  if ("error" in r)
    warn(
      `nhictl: ${displayPath(file)}: not a baseline nhictl can use (${r.error}); starting a fresh one, written there at the end\n`,
    );
  else baseline.merge(r.document);
  baseline.dirty = false;
  return baseline;
}

/** Writes the baseline next to FILE, then renames it over FILE: a crash never leaves half a file. */
export function saveBaselineFile(file: string, baseline: Baseline): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(baseline.toDocument())}\n`);
  renameSync(tmp, file);
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
  const input = await decoded(raw);
  // Lines are cut from decoded chunks and judged synchronously, a chunk at a time: no per-line
  // promise or regular expression (readline's), which cost more than the judging. Chunks stay at
  // the stream's 64 KiB: larger strings go to V8's large-object space, freed only by full GCs
  // (1 MiB chunks raised the peak RSS by 70 MB over a million events).
  const decoder = new StringDecoder("utf8");
  let rest = "";
  const judge = (text: string, final: boolean): void => {
    let from = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", from)) {
      line(text.slice(from, nl > from && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl));
      from = nl + 1;
    }
    rest = text.slice(from);
    if (final && rest !== "") {
      line(rest);
      rest = "";
    }
  };
  const line = (text: string): void => {
    lineNo++;
    summary.lines++;
    const r = parseAuditLine(text);
    if (r === undefined) return;
    if ("error" in r) throw new InputError(shown, lineNo, r.error);
    detector.observe(r.event);
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer | string>) {
      const text = typeof chunk === "string" ? chunk : decoder.write(chunk);
      judge(rest === "" ? text : rest + text, false);
    }
    judge(rest + decoder.end(), true);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(
      shown,
      lineNo + 1,
      `cannot read: ${e instanceof Error ? e.message : String(e)}${String((e as { code?: unknown }).code).startsWith("Z_") ? " (a damaged gzip file?)" : ""}`,
    );
  } finally {
    raw.destroy();
  }
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
  const b = summary.baseline;
  // Said when there is something to say: a file in use, or a cap reached.
  if (b && (b.file !== undefined || b.identitiesRefused > 0 || b.habitsDropped > 0))
    out.push(
      p.dim(
        `baseline${b.file ? ` ${b.file}` : ""}: ${identitiesWord(b.identities)}, ${b.learning} still learning${b.identitiesRefused > 0 ? `, ${b.identitiesRefused} not tracked (identity cap)` : ""}${b.habitsDropped > 0 ? `, ${plural(b.habitsDropped, "habit")} over the per-identity cap` : ""}`,
      ),
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
        ...(summary.baseline ? { baseline: summary.baseline } : {}),
      },
    },
    null,
    2,
  )}\n`;
}

// ---------------------------------------------------------------------------------------------
// nhictl audit rightsize

export function formatRightsizeText(
  proposals: RightsizeProposal[],
  summary: AnalyzeSummary,
  color: boolean,
): string {
  const p = color ? COLOR : PLAIN;
  const out: string[] = [];
  for (const r of proposals) {
    out.push(
      `${p.bold(r.identity)}${r.nhi ? p.dim(` (NHI ${r.nhi})`) : p.dim(" (no NHI)")}: ${plural(r.events, "request")} ${r.since} → ${r.until}`,
    );
    if (r.saturated) {
      out.push(
        p.yellow("  used more distinct permissions than are kept: no narrower scope proposed"),
        "",
      );
      continue;
    }
    if (r.nhi) {
      out.push("  NHI scopes now:");
      out.push(indent(stringify(r.scopes ?? [], { lineWidth: 0 }), 4));
    }
    out.push("  scopes that would suffice:");
    out.push(
      indent(
        r.proposedScopes.length > 0 ? stringify(r.proposedScopes, { lineWidth: 0 }) : "[]\n",
        4,
      ),
    );
    out.push("  RBAC that would suffice:");
    out.push(
      indent(
        r.roles.map((role) => stringify(role, { lineWidth: 0 })).join("---\n") ||
          "# nothing: every request it made is allowed to everyone\n",
        4,
      ),
    );
    if (r.removed.length > 0) {
      out.push(
        `  ${p.red(`would remove (${r.removed.length}, granted but never used in the window):`)}`,
      );
      for (const x of r.removed) out.push(`    - ${x.permission}  ${p.dim(`(${x.grant})`)}`);
    } else out.push("  would remove nothing: every grant was used");
    out.push("");
  }
  out.push(
    `${identitiesWord(proposals.length)} with grants to narrow, from ${plural(summary.events, "event")} in ${plural(summary.files.length, "file")} (the window: what the log covers; a permission used less often than that looks unused)`,
  );
  return `${out.join("\n")}\n`;
}

export function formatRightsizeJson(
  proposals: RightsizeProposal[],
  summary: AnalyzeSummary,
): string {
  return `${JSON.stringify({ identities: proposals, summary: { events: summary.events, lines: summary.lines, files: summary.files } }, null, 2)}\n`;
}

const indent = (text: string, n: number): string =>
  text
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => `${" ".repeat(n)}${l}`)
    .join("\n");

const identitiesWord = (n: number): string => `${n} ${n === 1 ? "identity" : "identities"}`;
