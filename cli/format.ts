// Output formats of `nhictl check`: text (people), json (scripts), sarif (GitHub code scanning) and
// github (workflow-command annotations on the pull request's diff). Pure string builders.
import { Document, isScalar, visit } from "yaml";
import {
  foldRepeats,
  identityDigest,
  type Adoption,
  type DigestFinding,
  type IdentityDigest,
} from "../core/policy/adoption.js";
import { CATALOGUE_BY_ID } from "../core/policy/catalogue.js";
import { describeObject } from "../core/policy/describe.js";
import type { AttackPath } from "../core/policy/types.js";
import type { CheckReport, CliFinding } from "./check.js";
import { STDIN } from "./load.js";

export const FORMATS = ["text", "json", "sarif", "github"] as const;
export type Format = (typeof FORMATS)[number];

/** What the report is rendered with besides the findings. */
export interface ReportExtras {
  /** The NHIPolicy that would accept the violations (core/policy/adoption.ts adoptionPolicy). */
  adoption: Adoption<CliFinding>;
  /** --suggest-exemptions: print it (text) or include it (json). */
  suggest: boolean;
}

export const TOOL = {
  name: "nhictl",
  version: "0.1.0",
  informationUri: "https://github.com/nhi-operator/nhi-operator",
} as const;

const objectName = (f: CliFinding): string =>
  `${f.object.kind} ${f.object.namespace ? `${f.object.namespace}/` : ""}${f.object.name}`;
const where = (f: CliFinding): string =>
  f.location
    ? `${f.location.file}:${f.location.line}${f.location.origin ? ` (${f.location.origin})` : ""}`
    : "(live cluster)";

// ---------------------------------------------------------------------------------------------
// text

interface Paint {
  red(s: string): string;
  yellow(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}
const ansi =
  (code: string) =>
  (s: string): string =>
    `\u001b[${code}m${s}\u001b[0m`;
export const PLAIN: Paint = { red: (s) => s, yellow: (s) => s, bold: (s) => s, dim: (s) => s };
export const COLOR: Paint = {
  red: ansi("31"),
  yellow: ansi("33"),
  bold: ansi("1"),
  dim: ansi("2"),
};

function textFinding(
  f: CliFinding,
  p: Paint,
  level: "violation" | "warning",
  repeats: CliFinding[],
): string[] {
  const mark = level === "violation" ? p.red(`✖ ${f.severity}`) : p.yellow(`! ${f.severity}`);
  const lines = [`  ${mark} ${p.bold(f.rule)}  ${objectName(f)}  ${p.dim(where(f))}`];
  if (f.identity) lines.push(`      identity:   ${f.identity}`);
  if (f.permissions.length === 1) lines.push(`      permission: ${f.permissions[0] ?? ""}`);
  else if (f.permissions.length > 1)
    lines.push(
      `      permissions (${f.permissions.length}): ${f.permissions.slice(0, 4).join("; ")}${f.permissions.length > 4 ? "; …" : ""}`,
    );
  lines.push(`      ${f.message}`);
  for (const path of f.paths ?? []) {
    lines.push(`      path to ${path.to} (${plural(path.length, "hop")}):`);
    for (const hop of path.hops) lines.push(`        ${hop}`);
  }
  lines.push(`      fix: ${f.fix}`);
  for (const r of f.related)
    lines.push(p.dim(`      see: ${r.location.file}:${r.location.line} (${r.message})`));
  if (repeats.length > 0) {
    lines.push(
      `      the same for ${plural(repeats.length, "more object")}, each a place to change: ${repeats.map((r) => `${objectName(r)}${r.location ? p.dim(` (${r.location.file}:${r.location.line})`) : ""}`).join(", ")}`,
    );
  }
  return lines;
}

/** Findings by file, with repeats of one identity+rule+permission folded into their first. */
function grouped(findings: CliFinding[], p: Paint, level: "violation" | "warning"): string[] {
  const byFile = new Map<string, { finding: CliFinding; repeats: CliFinding[] }[]>();
  for (const g of foldRepeats(findings)) {
    const file = g.finding.location?.file ?? "(live cluster)";
    byFile.set(file, [...(byFile.get(file) ?? []), g]);
  }
  const out: string[] = [];
  for (const [file, gs] of byFile) {
    out.push(p.bold(file));
    for (const g of gs) out.push(...textFinding(g.finding, p, level, g.repeats));
    out.push("");
  }
  return out;
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

const digestInput = (report: CheckReport): DigestFinding[] => [
  ...report.violations,
  ...report.warnings.map((w) => ({ ...w, denied: false })),
];

/** One line per identity and critical/high permission: what it may do and every object that grants it. */
function textDigest(digest: IdentityDigest[], p: Paint): string[] {
  if (digest.length === 0) return [];
  const out = [p.bold(`Identities with critical or high permissions (${digest.length})`)];
  for (const d of digest) {
    out.push(`  ${d.identity}`);
    for (const perm of d.permissions) {
      const mark = perm.denied ? p.red(`✖ ${perm.severity}`) : p.yellow(`! ${perm.severity}`);
      const via = perm.grantedBy.length === 1 ? "" : `${perm.grantedBy.length} objects: `;
      out.push(
        `    ${mark} ${perm.permission} [${perm.rules.join(", ")}] — ${via}${perm.grantedBy.map(describeObject).join(", ")}`,
      );
    }
  }
  out.push("");
  return out;
}

function heading(word: string, findings: CliFinding[]): string {
  const folded = foldRepeats(findings).length;
  return `${word} (${findings.length}${folded < findings.length ? `; ${folded} after folding repeats of one identity and permission` : ""})`;
}

/** YAML with RFC 3339 times quoted: YAML 1.1 parsers (kubectl's) would read them as timestamps. */
function yamlDocument(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Scalar(_key, node) {
      if (
        isScalar(node) &&
        typeof node.value === "string" &&
        /^\d{4}-\d{2}-\d{2}T/.test(node.value)
      )
        node.type = "QUOTE_DOUBLE";
    },
  });
  return doc.toString({ lineWidth: 0 }).trimEnd();
}

/** The suggested NHIPolicy, last, as a YAML document that starts at a line "---" (paste or sed it out). */
function textSuggestion(report: CheckReport, extras: ReportExtras): string[] {
  const { adoption } = extras;
  if (report.violations.length === 0) return [];
  if (!extras.suggest) {
    if (!adoption.policy) return [];
    return [
      "",
      "Adopting manifests you do not maintain (a third-party chart)? Run again with --suggest-exemptions for an NHIPolicy that accepts exactly these findings, to review and apply.",
    ];
  }
  const out = [""];
  const covered = report.violations.length - adoption.uncovered.length;
  if (adoption.uncovered.length > 0) {
    out.push(
      `Not covered by the suggestion (${adoption.uncovered.length}): no identity, a group of every namespace or with people among its members, or a rule no exemption may name; fix these in the manifests:`,
    );
    for (const f of adoption.uncovered)
      out.push(`  ${f.rule}  ${objectName(f)}${f.identity ? `  ${f.identity}` : ""}`);
  }
  if (!adoption.policy) return out;
  const exemptions = adoption.policy.spec.exemptions ?? [];
  // "ns/*" stands for a namespace's ServiceAccount group (core/policy/adoption.ts).
  const groups = exemptions.filter((e) => e.serviceAccounts?.[0]?.endsWith("/*")).length;
  const holders = [
    ...(exemptions.length > groups ? [plural(exemptions.length - groups, "ServiceAccount")] : []),
    ...(groups > 0 ? [plural(groups, "namespace group")] : []),
  ].join(" and ");
  out.push(
    `Suggested NHIPolicy: accepts exactly the ${plural(covered, "violation")} above (${holders}, only the rules found for each) until ${exemptions[0]?.expiresAt ?? "?"}.`,
    "Review it, save it (e.g. sed -n '/^---$/,$p'), then kubectl apply -f it or pass it with --policy:",
    "---",
    yamlDocument(adoption.policy),
  );
  return out;
}

export function formatText(report: CheckReport, color: boolean, extras?: ReportExtras): string {
  const p = color ? COLOR : PLAIN;
  const out: string[] = [...textDigest(identityDigest(digestInput(report)), p)];
  if (report.violations.length > 0) {
    out.push(p.red(p.bold(heading("Violations", report.violations))), "");
    out.push(...grouped(report.violations, p, "violation"));
  }
  if (report.warnings.length > 0) {
    out.push(p.yellow(p.bold(heading("Warnings", report.warnings))), "");
    out.push(...grouped(report.warnings, p, "warning"));
  }
  const policy =
    report.policySources.length > 0
      ? `NHIPolicy ${report.policySources.join(", ")}`
      : "built-in defaults";
  const verdict = report.violations.length > 0 ? p.red("FAIL") : "PASS";
  out.push(
    `${verdict}: ${plural(report.violations.length, "violation")}, ${plural(report.warnings.length, "warning")} in ${plural(report.objects, "object")} from ${plural(report.files.length, "file")} (policy: ${policy})`,
  );
  if (extras) out.push(...textSuggestion(report, extras));
  return `${out.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------------
// json

export interface JsonFinding {
  kind: string;
  apiVersion?: string;
  namespace?: string;
  name: string;
  rule: string;
  severity: string;
  identity?: string;
  permission?: string;
  permissions: string[];
  message: string;
  fix: string;
  file?: string;
  line?: number;
  origin?: string;
  related: { file: string; line: number; message: string }[];
  /** transitive-escalation: the attack paths the change opens, one line per hop. */
  paths?: AttackPath[];
}

function jsonFinding(f: CliFinding): JsonFinding {
  const out: JsonFinding = {
    kind: f.object.kind,
    name: f.object.name,
    rule: f.rule,
    severity: f.severity,
    message: f.message,
    fix: f.fix,
    permissions: f.permissions,
    related: f.related.map((r) => ({
      file: r.location.file,
      line: r.location.line,
      message: r.message,
    })),
  };
  if (f.object.apiVersion) out.apiVersion = f.object.apiVersion;
  if (f.object.namespace) out.namespace = f.object.namespace;
  if (f.identity) out.identity = f.identity;
  if (f.permission) out.permission = f.permission;
  if (f.paths) out.paths = f.paths;
  if (f.location) {
    out.file = f.location.file;
    out.line = f.location.line;
    if (f.location.origin) out.origin = f.location.origin;
  }
  return out;
}

export function formatJson(report: CheckReport, extras?: ReportExtras): string {
  return `${JSON.stringify(
    {
      violations: report.violations.map(jsonFinding),
      warnings: report.warnings.map(jsonFinding),
      summary: {
        violations: report.violations.length,
        warnings: report.warnings.length,
        objects: report.objects,
        files: report.files,
        policy: report.policySources,
      },
      // Added fields: the per-identity digest, and with --suggest-exemptions the NHIPolicy document.
      digest: identityDigest(digestInput(report)),
      ...(extras?.suggest && extras.adoption.policy
        ? { suggestedPolicy: extras.adoption.policy }
        : {}),
    },
    null,
    2,
  )}\n`;
}

// ---------------------------------------------------------------------------------------------
// sarif 2.1.0

/** GitHub maps security-severity to its levels: ≥9 critical, ≥7 high, ≥4 medium, else low. */
const SECURITY_SEVERITY: Record<string, string> = {
  critical: "9.5",
  high: "8.0",
  medium: "5.0",
  low: "2.0",
};

const RULE_TEXT: Record<string, string> = {
  "scope-exceeded":
    "RBAC gives a governed identity more than its NonHumanIdentity's scopes declare",
  "binding-dangerous-group": "A binding gives a role to a group of people or to everyone",
  "unresolved-role-ref":
    "A binding names a role defined nowhere checked: its permissions are unknown",
  "nhi-invalid": "NonHumanIdentity does not validate against the CRD schema and semantic checks",
  "nhipolicy-invalid": "NHIPolicy does not validate against the CRD schema and semantic checks",
  "nhi-scope-critical": "A NonHumanIdentity declares a critical catalogue permission in its scopes",
  "unclaimed-service-account": "ServiceAccount not claimed by any NonHumanIdentity",
  "default-service-account": "Workload runs as the namespace's default ServiceAccount",
  "duplicate-object": "Object defined more than once",
  "token-secret-mount": "Pod mounts a long-lived ServiceAccount token Secret",
  "legacy-token-unclaimed": "Long-lived token Secret for an unclaimed ServiceAccount",
  "legacy-token-forbidden": "Long-lived token Secret forbidden by the NonHumanIdentity",
  "workload-selector": "Workload labels do not match the NonHumanIdentity's podSelector",
  "workload-image": "Container image not allowed by the NonHumanIdentity",
  "workload-automount": "Token automounted although the NonHumanIdentity forbids it",
  "nhi-suspended": "Workload runs as a suspended identity",
  "nhi-expired": "Workload runs as an expired identity",
};

function ruleDescription(id: string): string {
  const entry = CATALOGUE_BY_ID.get(id);
  return entry ? `${entry.title} (escalation catalogue, ${entry.severity})` : (RULE_TEXT[id] ?? id);
}

function uri(file: string): string {
  return file === STDIN ? "stdin" : file.split("/").map(encodeURIComponent).join("/");
}

export function formatSarif(report: CheckReport): string {
  const all: { f: CliFinding; level: "error" | "warning" }[] = [
    ...report.violations.map((f) => ({ f, level: "error" as const })),
    ...report.warnings.map((f) => ({ f, level: "warning" as const })),
  ];
  const ruleIds = [...new Set(all.map((x) => x.f.rule))].sort();
  const severityOf = new Map<string, string>();
  for (const { f } of all) {
    const prev = severityOf.get(f.rule);
    if (!prev || Number(SECURITY_SEVERITY[f.severity]) > Number(SECURITY_SEVERITY[prev]))
      severityOf.set(f.rule, f.severity);
  }
  const rules = ruleIds.map((id) => {
    const entry = CATALOGUE_BY_ID.get(id);
    const text = ruleDescription(id);
    return {
      id,
      name: id
        .split("-")
        .map((w) => (w[0] ?? "").toUpperCase() + w.slice(1))
        .join(""),
      shortDescription: { text },
      fullDescription: { text: entry ? `${entry.title}: ${entry.why}.` : text },
      help: { text: entry ? `Fix: ${entry.fix}.` : text },
      properties: {
        tags: ["security", "kubernetes", "non-human-identity", ...(entry ? entry.owasp : [])],
        "security-severity": SECURITY_SEVERITY[severityOf.get(id) ?? "medium"] ?? "5.0",
      },
    };
  });
  const physical = (file: string, line: number) => ({
    physicalLocation: {
      artifactLocation: { uri: uri(file), ...(file === STDIN ? {} : { uriBaseId: "%SRCROOT%" }) },
      region: { startLine: Math.max(1, line) },
    },
  });
  const results = all.map(({ f, level }) => ({
    ruleId: f.rule,
    ruleIndex: ruleIds.indexOf(f.rule),
    level,
    message: { text: `${f.message} Fix: ${f.fix}.` },
    locations: f.location ? [physical(f.location.file, f.location.line)] : [],
    ...(f.related.length > 0
      ? {
          relatedLocations: f.related.map((r, i) => ({
            id: i + 1,
            ...physical(r.location.file, r.location.line),
            message: { text: r.message },
          })),
        }
      : {}),
    // Stable across runs and line moves, so code scanning tracks one alert per object/identity/permission.
    partialFingerprints: {
      "nhiFinding/v1": [
        f.rule,
        f.object.kind,
        f.object.namespace ?? "",
        f.object.name,
        f.identity ?? "",
        f.permission ?? "",
      ].join("|"),
    },
    properties: {
      severity: f.severity,
      object: objectName(f),
      ...(f.identity ? { identity: f.identity } : {}),
      ...(f.permission ? { permission: f.permission } : {}),
    },
  }));
  const sarif = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: TOOL.name,
            version: TOOL.version,
            informationUri: TOOL.informationUri,
            rules,
          },
        },
        originalUriBaseIds: {
          "%SRCROOT%": { description: { text: "The directory nhictl ran in" } },
        },
        results,
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------
// github workflow commands

/** https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts escapeData / escapeProperty. */
const escapeData = (s: string): string =>
  s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escapeProperty = (s: string): string =>
  escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

export function formatGithub(report: CheckReport): string {
  const line = (cmd: "error" | "warning", f: CliFinding): string => {
    const props = [
      ...(f.location && f.location.file !== STDIN
        ? [`file=${escapeProperty(f.location.file)}`, `line=${f.location.line}`]
        : []),
      `title=${escapeProperty(`nhictl ${f.rule} (${f.severity}): ${objectName(f)}`)}`,
    ];
    return `::${cmd} ${props.join(",")}::${escapeData(`${f.message}\nFix: ${f.fix}`)}`;
  };
  const out = [
    ...report.violations.map((f) => line("error", f)),
    ...report.warnings.map((f) => line("warning", f)),
  ];
  out.push(
    `nhictl: ${plural(report.violations.length, "violation")}, ${plural(report.warnings.length, "warning")} in ${plural(report.objects, "object")}`,
  );
  return `${out.join("\n")}\n`;
}

export function formatReport(
  report: CheckReport,
  format: Format,
  color: boolean,
  extras?: ReportExtras,
): string {
  switch (format) {
    case "text":
      return formatText(report, color, extras);
    case "json":
      return formatJson(report, extras);
    case "sarif":
      return formatSarif(report);
    case "github":
      return formatGithub(report);
  }
}
