// The inventory's findings as wgpolicyk8s.io/v1alpha2 PolicyReports (the format Kyverno and Trivy
// write), one per namespace, so existing report UIs show them. Pure: inventory in, reports out.
import type { Inventory, IdentityRecord } from "../../../core/inventory/inventory.js";
import type { TlsCertificateRecord } from "../../../core/inventory/tls.js";
import { CATALOGUE_BY_ID } from "../../../core/policy/catalogue.js";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../../../core/rotation/state.js";
import type { AnomalyRecord } from "../../../core/nhi/types.js";
import { AUDIT_RULES, type AuditRuleId } from "../../../core/audit/rules.js";

/** An NHI's recent runtime-detection findings (status.anomalies within the window). */
export type AnomaliesOf = (namespace: string, nhi: string) => readonly AnomalyRecord[];

export const REPORT_NAME = "nhi-operator";
export const REPORT_API = "wgpolicyk8s.io/v1alpha2";

export interface ReportResult {
  source: string;
  policy: string;
  rule: string;
  result: "pass" | "fail" | "warn" | "error" | "skip";
  severity: "critical" | "high" | "medium" | "low" | "info";
  category: string;
  message: string;
  scored: boolean;
  resources: { apiVersion: string; kind: string; name: string; namespace: string }[];
  timestamp: { seconds: number; nanos: number };
  properties?: Record<string, string>;
}

export interface PolicyReport {
  apiVersion: typeof REPORT_API;
  kind: "PolicyReport";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  summary: { pass: number; fail: number; warn: number; error: number; skip: number };
  results: ReportResult[];
}

/** Runtime-detection findings (the audit sink's, on the NHI's status) as results of policy nhi-runtime. */
function anomalyResults(
  anomalies: readonly AnomalyRecord[],
  base: Omit<ReportResult, "policy" | "rule" | "result" | "severity" | "category" | "message">,
): ReportResult[] {
  return anomalies.map((a) => {
    const rule = AUDIT_RULES[a.rule as AuditRuleId] as
      (typeof AUDIT_RULES)[AuditRuleId] | undefined;
    const e = a.evidence ?? {};
    const properties: Record<string, string> = {
      ...base.properties,
      firstSeen: a.firstSeen,
      lastSeen: a.lastSeen,
      count: String(a.count),
    };
    if (e.sourceIPs?.length) properties.sourceIPs = e.sourceIPs.join(", ");
    if (e.userAgents?.length) properties.userAgents = e.userAgents.join(", ");
    if (e.credentials?.length) properties.credentials = e.credentials.join(", ");
    if (a.response)
      properties.response = `${a.response.action}: ${a.response.message}`.slice(0, 1024);
    return {
      ...base,
      policy: "nhi-runtime",
      rule: a.rule,
      result: a.severity === "high" || a.severity === "critical" ? "fail" : "warn",
      severity: a.severity,
      category: rule?.owasp[0]?.split(":")[0]
        ? `OWASP ${rule.owasp[0].split(":")[0]}`
        : "OWASP NHI",
      message: a.message,
      properties,
    };
  });
}

function resultsOf(r: IdentityRecord, seconds: number, anomaliesOf?: AnomaliesOf): ReportResult[] {
  const resource =
    r.nhi !== undefined
      ? [
          { apiVersion: "v1", kind: "ServiceAccount", name: r.name, namespace: r.namespace },
          {
            apiVersion: "nhi.io/v1alpha1",
            kind: "NonHumanIdentity",
            name: r.nhi,
            namespace: r.namespace,
          },
        ]
      : [{ apiVersion: "v1", kind: "ServiceAccount", name: r.name, namespace: r.namespace }];
  const base = {
    source: "nhi-operator",
    scored: true,
    resources: resource,
    timestamp: { seconds, nanos: 0 },
    properties: { riskScore: String(r.risk.score ?? 0), phase: r.phase },
  };
  const out: ReportResult[] = [];
  if (r.shadow && r.exists)
    out.push({
      ...base,
      policy: "nhi-claimed",
      rule: "shadow-identity",
      result: "warn",
      severity: "medium",
      category: "OWASP NHI1",
      message: `ServiceAccount ${r.name} is not claimed by any NonHumanIdentity: no owner, purpose or ceiling`,
    });
  if (r.excessTotal > 0)
    out.push({
      ...base,
      policy: "nhi-scopes",
      rule: "scope-exceeded",
      result: "fail",
      severity: "high",
      category: "OWASP NHI5",
      message: `${r.excessTotal} permission(s) beyond the declared scopes of NonHumanIdentity ${r.nhi ?? ""}`,
    });
  for (const h of r.catalogue) {
    const e = CATALOGUE_BY_ID.get(h.id);
    out.push({
      ...base,
      policy: "nhi-catalogue",
      rule: h.id,
      result: h.exempt ? "skip" : h.severity === "critical" ? "fail" : "warn",
      severity: h.severity,
      category: e?.owasp[0]?.split(" ")[0]?.replace(":2025", "") ?? "OWASP NHI5",
      message: `${e?.title ?? h.id} ${h.namespace === "*" ? "cluster-wide" : `in namespace ${h.namespace}`}: ${e?.why ?? ""}`,
    });
  }
  if (r.legacyTokens.length > 0)
    out.push({
      ...base,
      policy: "nhi-credentials",
      rule: "legacy-token",
      result: "warn",
      severity: "high",
      category: "OWASP NHI7",
      message: `${r.legacyTokens.length} long-lived legacy token Secret(s): ${r.legacyTokens.map((t) => t.name).join(", ")}`,
    });
  for (const c of r.credentials) {
    if (c.health === "Fresh") continue;
    out.push({
      ...base,
      policy: "nhi-credentials",
      rule: `credential-${c.health.toLowerCase()}`,
      result: c.health === "Expired" || c.health === "Failing" ? "fail" : "warn",
      severity: c.health === "Expired" ? "high" : "medium",
      category: "OWASP NHI7",
      message: c.message,
    });
  }
  if (r.phase === "Unused")
    out.push({
      ...base,
      policy: "nhi-lifetime",
      rule: "unused",
      result: "warn",
      severity: "low",
      category: "OWASP NHI1",
      message: r.reason,
    });
  if (r.phase === "Orphaned" || r.phase === "Expired")
    out.push({
      ...base,
      policy: "nhi-lifetime",
      rule: r.phase.toLowerCase(),
      result: "fail",
      severity: "medium",
      category: "OWASP NHI1",
      message: r.reason,
    });
  if (r.reuse)
    out.push({
      ...base,
      policy: "nhi-usage",
      rule: "reuse",
      result: "warn",
      severity: "medium",
      category: "OWASP NHI9",
      message: `shared by ${r.workloads.length} workloads: ${r.workloads.slice(0, 5).join(", ")}`,
    });
  if (out.length === 0 && r.exists)
    out.push({
      ...base,
      policy: "nhi-inventory",
      rule: "governed",
      result: "pass",
      severity: "info",
      category: "OWASP NHI",
      message: `${r.name} is within its declaration`,
    });
  if (r.nhi !== undefined && anomaliesOf)
    out.push(...anomalyResults(anomaliesOf(r.namespace, r.nhi), base));
  return out;
}

const TLS_RESULT: Record<
  TlsCertificateRecord["health"],
  Pick<ReportResult, "rule" | "result" | "severity"> | undefined
> = {
  Valid: { rule: "certificate-valid", result: "pass", severity: "info" },
  Expiring: { rule: "certificate-expiring", result: "warn", severity: "medium" },
  Expired: { rule: "certificate-expired", result: "fail", severity: "high" },
  Unreadable: { rule: "certificate-unreadable", result: "error", severity: "medium" },
  Unknown: undefined,
};

/**
 * A TLS Secret's certificate, on the Secret and the ServiceAccounts that hold it. One an NHI
 * declares is reported once, through that NHI's credential (nhi-credentials), not here.
 */
function tlsResultsOf(t: TlsCertificateRecord, seconds: number): ReportResult[] {
  const r = TLS_RESULT[t.health];
  if (r === undefined || t.nhi !== undefined) return [];
  const resources = [
    { apiVersion: "v1", kind: "Secret", name: t.secretName, namespace: t.namespace },
    ...t.serviceAccounts.map((name) => ({
      apiVersion: "v1",
      kind: "ServiceAccount",
      name,
      namespace: t.namespace,
    })),
  ];
  const properties: Record<string, string> = { secret: t.secretName };
  if (t.notAfter !== undefined) properties.notAfter = t.notAfter;
  if (t.workloads.length > 0) properties.workloads = t.workloads.slice(0, 10).join(", ");
  if (t.managedBy.length > 0) properties.managedBy = t.managedBy.join(", ");
  const held =
    t.serviceAccounts.length > 0
      ? ` (held by ServiceAccount ${t.serviceAccounts.join(", ")})`
      : " (no workload mounts it)";
  return [
    {
      source: "nhi-operator",
      policy: "nhi-certificates",
      ...r,
      category: "OWASP NHI7",
      scored: true,
      message: `${t.message}${held}`,
      resources,
      timestamp: { seconds, nanos: 0 },
      properties,
    },
  ];
}

/** One report per namespace with identities or TLS Secrets in it, results capped to keep objects small. */
export function policyReports(
  inv: Inventory,
  nowMs: number,
  maxResults = 1000,
  anomaliesOf?: AnomaliesOf,
): PolicyReport[] {
  const seconds = Math.floor(nowMs / 1000);
  const byNs = new Map<string, ReportResult[]>();
  for (const r of inv.identities)
    byNs.set(r.namespace, [
      ...(byNs.get(r.namespace) ?? []),
      ...resultsOf(r, seconds, anomaliesOf),
    ]);
  for (const t of inv.tlsCertificates) {
    const results = tlsResultsOf(t, seconds);
    if (results.length === 0) continue;
    const list = byNs.get(t.namespace);
    if (list) list.push(...results);
    else byNs.set(t.namespace, results);
  }
  return [...byNs]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([namespace, all]) => {
      const results = all.slice(0, maxResults);
      const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
      for (const x of all) summary[x.result]++;
      return {
        apiVersion: REPORT_API,
        kind: "PolicyReport",
        metadata: { name: REPORT_NAME, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
        summary,
        results,
      };
    });
}
