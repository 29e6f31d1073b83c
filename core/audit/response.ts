// The response to runtime-detection findings (issue #11): how a finding is kept on its NHI
// (status.anomalies), what the BehaviourAnomalous condition says about them, and which action the
// NHI's spec.onAnomaly asks for. Pure: the sink and the reconcilers do the writing and the acting.
import type {
  AnomalyAction,
  AnomalyEvidence,
  AnomalyRecord,
  NHIOnAnomaly,
  NonHumanIdentity,
} from "../nhi/types.js";
import type { ConditionInput } from "../inventory/conditions.js";
import type { Severity } from "../policy/types.js";
import { parseTime } from "../rotation/state.js";
import { SEVERITIES, atLeast, type AuditFinding } from "./detect.js";

export const BEHAVIOUR_ANOMALOUS = "BehaviourAnomalous";
/** status.anomalies holds at most this many findings (the CRD's maxItems). */
export const MAX_ANOMALIES = 20;
/** BehaviourAnomalous stays True this long after a finding's last event (--audit-anomaly-window). */
export const DEFAULT_ANOMALY_WINDOW_MS = 24 * 3_600_000;

const ACTION_RANK: Record<AnomalyAction, number> = { Notify: 0, Rotate: 1, Suspend: 2 };

/**
 * The action spec.onAnomaly asks for a finding of `severity`: the strongest one set at that
 * severity or any lower one (`{medium: Rotate, high: Suspend}` rotates on medium, suspends on high
 * and critical); Notify when none applies.
 */
export function anomalyAction(on: NHIOnAnomaly | undefined, severity: Severity): AnomalyAction {
  let best: AnomalyAction = "Notify";
  for (const s of SEVERITIES) {
    const a = on?.[s];
    if (a !== undefined && atLeast(severity, s) && ACTION_RANK[a] > ACTION_RANK[best]) best = a;
  }
  return best;
}

/** The stronger of two actions. */
export function strongerAction(a: AnomalyAction, b: AnomalyAction): AnomalyAction {
  return ACTION_RANK[b] > ACTION_RANK[a] ? b : a;
}

function evidenceOf(f: AuditFinding): AnomalyEvidence {
  const e = f.evidence;
  const out: AnomalyEvidence = {};
  const cut = (xs: string[], max: number): string[] => xs.slice(0, 20).map((x) => x.slice(0, max));
  if (e.sourceIPs.length) out.sourceIPs = cut(e.sourceIPs, 64);
  if (e.userAgents.length) out.userAgents = cut(e.userAgents, 512);
  if (e.verbs.length) out.verbs = cut(e.verbs, 63);
  if (e.resources.length) out.resources = cut(e.resources, 512);
  if (e.namespaces.length) out.namespaces = cut(e.namespaces, 63);
  if (e.credentials.length) out.credentials = cut(e.credentials, 512);
  if (e.grantedBy.length) out.grantedBy = cut(e.grantedBy, 512);
  if (e.codes.length) out.codes = e.codes.slice(0, 20);
  return out;
}

/** A finding as status.anomalies keeps it; the id is stable across its later updates. */
export function anomalyRecordOf(f: AuditFinding): AnomalyRecord {
  return {
    id: `${f.rule}@${f.firstSeen}`.slice(0, 128),
    rule: f.rule,
    category: f.category,
    severity: f.severity,
    message: f.message.slice(0, 1024),
    firstSeen: f.firstSeen,
    lastSeen: f.lastSeen,
    count: f.count,
    evidence: evidenceOf(f),
  };
}

/**
 * status.anomalies with `f` in it: an existing record of the same finding is updated (last seen,
 * count, evidence, severity) and keeps its response; a new one is appended. Over MAX_ANOMALIES the
 * oldest by last seen go, answered ones first. Returns undefined when nothing changed.
 */
export function withFinding(
  existing: readonly AnomalyRecord[] | undefined,
  f: AuditFinding,
  max = MAX_ANOMALIES,
): AnomalyRecord[] | undefined {
  const next = anomalyRecordOf(f);
  const list = [...(existing ?? [])];
  const i = list.findIndex((a) => a.id === next.id);
  if (i >= 0) {
    const old = list[i] as AnomalyRecord;
    const merged: AnomalyRecord = {
      ...next,
      ...(old.response ? { response: old.response } : {}),
    };
    if (JSON.stringify(merged) === JSON.stringify(old)) return undefined;
    list[i] = merged;
  } else {
    list.push(next);
  }
  while (list.length > max) {
    const victims = list.filter((a) => a.response !== undefined);
    const pool = victims.length > 0 ? victims : list;
    const oldest = pool.reduce((a, b) =>
      (parseTime(b.lastSeen) ?? 0) < (parseTime(a.lastSeen) ?? 0) ? b : a,
    );
    list.splice(list.indexOf(oldest), 1);
  }
  return list;
}

/** Findings the operator has not answered yet (no response recorded). */
export function unanswered(anomalies: readonly AnomalyRecord[] | undefined): AnomalyRecord[] {
  return (anomalies ?? []).filter((a) => a.response === undefined);
}

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

/** "token-off-pod" → "TokenOffPod" (a condition reason is CamelCase). */
export function ruleReason(rule: string): string {
  const r = rule
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== "")
    .map((w) => (w[0] ?? "").toUpperCase() + w.slice(1))
    .join("");
  return /^[A-Za-z]/.test(r) ? r : `Rule${r}`;
}

/** One line of evidence for people: where from, which client, which credential, how many events. */
export function evidenceSummary(a: AnomalyRecord): string {
  const e = a.evidence ?? {};
  const parts: string[] = [];
  if (e.sourceIPs?.length) parts.push(`from ${e.sourceIPs.join(", ")}`);
  if (e.userAgents?.length) parts.push(`client ${e.userAgents.join(", ")}`);
  if (e.credentials?.length) parts.push(`with ${e.credentials.join(", ")}`);
  if (e.verbs?.length && e.resources?.length)
    parts.push(`${e.verbs.join("/")} ${e.resources.slice(0, 5).join(", ")}`);
  if (e.codes?.length) parts.push(`answered ${e.codes.join(", ")}`);
  parts.push(`${a.count} event(s) ${a.firstSeen} – ${a.lastSeen}`);
  return parts.join("; ");
}

/**
 * BehaviourAnomalous: True while a finding's last event is within `windowMs` of `now` (reason: the
 * worst such finding's rule, message: its words and evidence, then the others' rules); False with
 * reason NoRecentFinding once the window has passed; absent while the identity never had a finding.
 */
export function anomalyCondition(
  anomalies: readonly AnomalyRecord[] | undefined,
  now: number,
  windowMs: number = DEFAULT_ANOMALY_WINDOW_MS,
): ConditionInput | undefined {
  const all = anomalies ?? [];
  if (all.length === 0) return undefined;
  const recent = all.filter((a) => (parseTime(a.lastSeen) ?? 0) + windowMs > now);
  if (recent.length === 0) {
    const last = all.reduce((a, b) =>
      (parseTime(b.lastSeen) ?? 0) > (parseTime(a.lastSeen) ?? 0) ? b : a,
    );
    return {
      type: BEHAVIOUR_ANOMALOUS,
      status: "False",
      reason: "NoRecentFinding",
      message: `no runtime-detection finding within the last ${Math.round(windowMs / 60_000)} min; the last one (${last.rule}) was seen ${last.lastSeen}`,
    };
  }
  const worst = recent.reduce((a, b) =>
    SEVERITY_RANK[b.severity] > SEVERITY_RANK[a.severity] ||
    (SEVERITY_RANK[b.severity] === SEVERITY_RANK[a.severity] &&
      (parseTime(b.lastSeen) ?? 0) > (parseTime(a.lastSeen) ?? 0))
      ? b
      : a,
  );
  const others = recent.filter((a) => a !== worst).map((a) => `${a.rule} (${a.severity})`);
  const response = worst.response
    ? ` Response: ${worst.response.action} at ${worst.response.at}: ${worst.response.message}.`
    : "";
  return {
    type: BEHAVIOUR_ANOMALOUS,
    status: "True",
    reason: ruleReason(worst.rule),
    message: `${worst.rule} (${worst.severity}): ${worst.message}. Evidence: ${evidenceSummary(worst)}.${response}${others.length > 0 ? ` Also: ${others.join(", ")}.` : ""}`,
  };
}

/** When BehaviourAnomalous would turn False by the clock alone (the latest last-seen plus the window). */
export function anomalyConditionChangesAt(
  anomalies: readonly AnomalyRecord[] | undefined,
  now: number,
  windowMs: number = DEFAULT_ANOMALY_WINDOW_MS,
): number | undefined {
  const ends = (anomalies ?? [])
    .map((a) => (parseTime(a.lastSeen) ?? 0) + windowMs)
    .filter((t) => t > now);
  return ends.length > 0 ? Math.max(...ends) : undefined;
}

/** The pod a pod-bound token belongs to, from a finding's evidence ("pod-bound token (pod ns/name on node)"). */
export function replayedPods(a: AnomalyRecord): { namespace: string; name: string }[] {
  const out: { namespace: string; name: string }[] = [];
  for (const c of a.evidence?.credentials ?? []) {
    const m = /^pod-bound token \(pod ([^/\s]+)\/([^\s)]+)/.exec(c);
    if (m?.[1] && m[2]) out.push({ namespace: m[1], name: m[2] });
  }
  return out;
}

/** The legacy token Secrets a finding's evidence names ("legacy Secret token (Secret ns/name)"). */
export function replayedLegacySecrets(a: AnomalyRecord): { namespace: string; name: string }[] {
  const out: { namespace: string; name: string }[] = [];
  for (const c of a.evidence?.credentials ?? []) {
    const m = /^legacy Secret token \(Secret ([^/\s]+)\/([^\s)]+)\)/.exec(c);
    if (m?.[1] && m[2]) out.push({ namespace: m[1], name: m[2] });
  }
  return out;
}

/** Whether a finding's evidence holds a token that carried only a credential-id (detect's "unbound TokenRequest token"). */
export const replayedUnbound = (a: AnomalyRecord): boolean =>
  (a.evidence?.credentials ?? []).some((c) => c.startsWith("unbound TokenRequest token"));

/** What the response controller does about an NHI's unanswered findings. */
export interface ResponsePlan {
  /** Each unanswered finding and the action its severity asks for. */
  answers: { anomaly: AnomalyRecord; action: AnomalyAction }[];
  /** The strongest of them. */
  action: AnomalyAction;
  /** Rotate: pods whose bound token was replayed (deleting one revokes its token). */
  pods: { namespace: string; name: string }[];
  /** Rotate: legacy token Secrets whose token was replayed (replaced, then deleted: that revokes it). */
  legacySecrets: { namespace: string; name: string }[];
  /**
   * Rotate: a token with only a credential-id was replayed — unbound, or bound to a Secret (the audit
   * event does not tell which). A Secret-bound one of a declared ServiceAccountToken credential dies
   * with that credential's rotation; a truly unbound one only with its ServiceAccount (not done).
   */
  unbound: boolean;
}

const uniqueRefs = (
  refs: { namespace: string; name: string }[],
): { namespace: string; name: string }[] => {
  const seen = new Set<string>();
  return refs.filter((p) => {
    const k = `${p.namespace}/${p.name}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
};

/** The response to the NHI's unanswered findings per spec.onAnomaly; undefined when there are none. */
export function responsePlan(nhi: NonHumanIdentity): ResponsePlan | undefined {
  const pending = unanswered(nhi.status?.anomalies);
  if (pending.length === 0) return undefined;
  const answers = pending.map((anomaly) => ({
    anomaly,
    action: anomalyAction(nhi.spec.onAnomaly, anomaly.severity),
  }));
  const action = answers.reduce<AnomalyAction>((a, x) => strongerAction(a, x.action), "Notify");
  // Under Suspend the quarantine covers it: the pods keep running, their calls get 403.
  const rotated = answers.filter((x) => action === "Rotate" && x.action === "Rotate");
  const ns = nhi.metadata.namespace ?? "default";
  return {
    answers,
    action,
    pods: uniqueRefs(rotated.flatMap((x) => replayedPods(x.anomaly))),
    // Only the identity's own namespace: a finding never names another account's Secret, but the
    // evidence is text, and the response must not touch what the NHI does not govern.
    legacySecrets: uniqueRefs(rotated.flatMap((x) => replayedLegacySecrets(x.anomaly))).filter(
      (r) => r.namespace === ns,
    ),
    unbound: rotated.some((x) => replayedUnbound(x.anomaly)),
  };
}

/**
 * What Rotate can honestly say about a replayed token that carried only a credential-id (verified on
 * v1.35): one bound to a Secret stops when that Secret is deleted — the anchors of a declared
 * ServiceAccountToken credential are, once its re-issued token is verified; a truly unbound one
 * stays valid until it expires, and nothing short of deleting the ServiceAccount (every token of
 * the account, its pods' included) revokes it. Rotate does not do that.
 */
export function unboundTokenNote(nhi: NonHumanIdentity): string {
  const declared = (nhi.spec.credentials ?? []).filter((c) => c.type === "ServiceAccountToken");
  const mine =
    declared.length > 0
      ? `if it is a token of credential ${declared.map((c) => c.name).join(", ")}, it stops when that credential's re-issue is verified and its anchor Secret deleted; `
      : "";
  return `a replayed token without a pod or Secret name (TokenRequest) was NOT revoked: ${mine}one minted without a bound object stays valid until it expires — only deleting ServiceAccount ${nhi.metadata.namespace ?? "default"}/${nhi.spec.serviceAccountName} (which revokes every token of the account, its pods' included) would stop it, and Rotate does not do that; Suspend refuses its requests (onAnomaly: Suspend)`;
}

/** status.anomalies with the answered findings' response recorded; undefined when none is left to answer. */
export function withResponses(
  anomalies: readonly AnomalyRecord[] | undefined,
  answers: readonly { id: string; action: AnomalyAction; message: string }[],
  at: string,
): AnomalyRecord[] | undefined {
  const byId = new Map(answers.map((a) => [a.id, a]));
  let changed = false;
  const next = (anomalies ?? []).map((a) => {
    const r = byId.get(a.id);
    if (!r || a.response) return a;
    changed = true;
    return { ...a, response: { action: r.action, at, message: r.message.slice(0, 1024) } };
  });
  return changed ? next : undefined;
}
