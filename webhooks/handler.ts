// AdmissionReview in, AdmissionReview out: parse, pick the check for the resource, ask the core,
// apply dry-run/break-glass/exempt namespaces, and answer the way kubectl users expect. No I/O but
// logging and metrics; every failure becomes a clear answer, never a crash or a silent allow.
import type { NHIValidator } from "../core/nhi/validation.js";
import { globMatches } from "../core/glob.js";
import { judgeBreakGlass } from "../core/policy/break-glass.js";
import type { EffectivePolicy } from "../core/policy/settings.js";
import type { Decision, Violation } from "../core/policy/types.js";
import type { ClusterView } from "../operator/k8s/cache/view.js";
import { isRecord } from "../core/json.js";
import {
  parseReview,
  resourceLabel,
  reviewResponse,
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReviewResponse,
} from "./admission/review.js";
import { ADMISSION_CHECKS, workloadAnnotations, type AdmissionCheck } from "./checks/index.js";
import { isBad } from "./checks/types.js";
import type { Log } from "../edge/log.js";
import type { WebhookMetrics } from "./metrics.js";
import { metricResource } from "./config.js";

export interface HandlerDeps {
  view: ClusterView;
  validator: NHIValidator;
  clock?: () => Date;
  logger: Log;
  metrics?: WebhookMetrics;
  checks?: readonly AdmissionCheck[];
}

export interface HandlerResult {
  /** HTTP status: 200 with a review, or 400 when the body is unusable and has no uid to answer. */
  status: number;
  body: AdmissionReviewResponse | { error: string };
}

const MAX_VIOLATIONS_IN_MESSAGE = 5;
const MAX_WARNINGS = 12;
const MAX_WARNING_LENGTH = 500;

type Result =
  | "allowed"
  | "warned"
  | "denied"
  | "invalid"
  | "error"
  | "break_glass"
  | "exempt"
  | "unjudged"
  | "not_ready";

const truncate = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

function describeRequest(req: AdmissionRequest): string {
  const where = req.namespace ? `${req.namespace}/` : "";
  return `${req.operation} ${req.kind.kind}${req.subResource ? `/${req.subResource}` : ""} ${where}${req.name ?? ""}`.trim();
}

function denialMessage(req: AdmissionRequest, violations: Violation[]): string {
  const lines = violations
    .slice(0, MAX_VIOLATIONS_IN_MESSAGE)
    .map((v) => `[${v.rule}] ${v.message} Fix: ${v.fix}.`);
  if (violations.length > MAX_VIOLATIONS_IN_MESSAGE)
    lines.push(`…and ${violations.length - MAX_VIOLATIONS_IN_MESSAGE} more violations.`);
  return `nhi-operator denied ${describeRequest(req)}: ${lines.join(" ")}`;
}

/** HTTP-like status for a denial, as kubectl shows it: 422 for invalid NHI objects, 403 for policy. */
function statusFor(violations: Violation[]): { code: number; reason: string } {
  if (violations.some((v) => v.rule === "internal-error"))
    return { code: 500, reason: "InternalError" };
  if (violations.length > 0 && violations.every((v) => v.rule.endsWith("-invalid")))
    return { code: 422, reason: "Invalid" };
  return { code: 403, reason: "Forbidden" };
}

function annotationsOf(req: AdmissionRequest): Record<string, string> {
  const obj = req.object;
  const own =
    isRecord(obj) && isRecord(obj.metadata) && isRecord(obj.metadata.annotations)
      ? obj.metadata.annotations
      : {};
  const merged: Record<string, string> = {};
  for (const a of [...workloadAnnotations(req), own])
    for (const [k, v] of Object.entries(a)) if (typeof v === "string") merged[k] = v;
  return merged;
}

export function createAdmissionHandler(deps: HandlerDeps): (body: unknown) => HandlerResult {
  const checks = deps.checks ?? ADMISSION_CHECKS;
  const clock = deps.clock ?? (() => new Date());
  const { logger, metrics } = deps;

  return (body: unknown): HandlerResult => {
    const started = performance.now();
    const parsed = parseReview(body);
    if (!parsed.ok) {
      metrics?.badRequests.inc({ reason: parsed.uid ? "bad_request" : "no_uid" });
      logger.warn("rejected a malformed AdmissionReview", {
        uid: parsed.uid,
        problem: parsed.message,
      });
      if (!parsed.uid) return { status: 400, body: { error: `nhi-operator: ${parsed.message}` } };
      return {
        status: 200,
        body: reviewResponse({
          uid: parsed.uid,
          allowed: false,
          status: {
            code: 400,
            reason: "BadRequest",
            message: `nhi-operator: malformed AdmissionReview: ${parsed.message}`,
          },
        }),
      };
    }
    const req = parsed.request;
    // Metric labels come from a fixed set; the full name stays in logs and messages.
    const resource = resourceLabel(req);
    const label = metricResource(resource);
    /** Who wrote what, for every log entry of this review. */
    const request = {
      uid: req.uid,
      resource,
      operation: req.operation,
      namespace: req.namespace,
      name: req.name,
      user: req.userInfo.username,
    };
    const finish = (
      response: Omit<AdmissionResponse, "uid">,
      result: Result,
      rules: string[] = [],
      extra: Record<string, unknown> = {},
    ): HandlerResult => {
      const seconds = (performance.now() - started) / 1000;
      metrics?.decisions.inc({
        resource: label,
        operation: req.operation,
        result,
        rule: rules[0] ?? "none",
      });
      metrics?.latency.observe({ resource: label }, seconds);
      const level =
        result === "allowed" || result === "exempt" || result === "unjudged"
          ? "debug"
          : result === "error"
            ? "error"
            : "info";
      // Most decisions are debug-level allows: skip building and streaming an entry nobody keeps.
      if (logger.isLevelEnabled?.(level) === false)
        return { status: 200, body: reviewResponse({ uid: req.uid, ...response }) };
      logger[level]("admission decision", {
        ...request,
        dryRun: req.dryRun,
        result,
        rules,
        ms: Math.round(seconds * 1e5) / 100,
        ...extra,
      });
      return { status: 200, body: reviewResponse({ uid: req.uid, ...response }) };
    };

    if (!deps.view.synced()) {
      return finish(
        {
          allowed: false,
          status: {
            code: 503,
            reason: "ServiceUnavailable",
            message: "nhi-operator: its cluster cache has not synced yet; retry in a few seconds",
          },
        },
        "not_ready",
      );
    }
    const check = checks.find((c) => c.handles(req));
    if (!check) {
      // Deletes and connects never escalate; anything else reaching us means the webhook's rules and the checks disagree.
      const writes = req.operation === "CREATE" || req.operation === "UPDATE";
      return finish(
        {
          allowed: true,
          ...(writes
            ? {
                warnings: [
                  `nhi-operator does not judge ${resource}; its webhook rules should not send it`,
                ],
              }
            : {}),
        },
        "unjudged",
      );
    }
    const now = clock();
    let policy: EffectivePolicy;
    let decision: Decision;
    try {
      policy = deps.view.policyAt(now);
      if (
        req.namespace &&
        req.resource.group !== "nhi.io" &&
        policy.exemptNamespaces.some((g) => globMatches(g, req.namespace ?? ""))
      ) {
        return finish(
          { allowed: true, auditAnnotations: { decision: "exempt-namespace" } },
          "exempt",
        );
      }
      const d = check.decide(req, { view: deps.view, validator: deps.validator, now, policy });
      if (isBad(d)) {
        return finish(
          {
            allowed: false,
            status: {
              code: 400,
              reason: "BadRequest",
              message: `nhi-operator cannot judge ${describeRequest(req)}: ${d.bad}`,
            },
          },
          "invalid",
          [],
          { problem: d.bad },
        );
      }
      decision = d;
    } catch (err) {
      // A bug, not a verdict: deny so nothing unjudged gets through, and say so.
      const why = err instanceof Error ? err.message : String(err);
      return finish(
        {
          allowed: false,
          status: {
            code: 500,
            reason: "InternalError",
            message: `nhi-operator failed to judge ${describeRequest(req)} (${truncate(why, 200)}); the request was denied because it could not be judged`,
          },
        },
        "error",
        [],
        { error: why },
      );
    }
    for (const v of decision.violations)
      metrics?.findings.inc({ resource: label, rule: v.rule, outcome: "deny" });
    for (const w of decision.warnings)
      metrics?.findings.inc({ resource: label, rule: w.rule, outcome: "warn" });

    const warnings = decision.warnings
      .slice(0, MAX_WARNINGS)
      .map((w) => truncate(`[${w.rule}] ${w.message}`, MAX_WARNING_LENGTH));
    const warnRules = decision.warnings.map((w) => w.rule);
    const audit: Record<string, string> = {};
    if (warnRules.length > 0) audit.warnings = truncate([...new Set(warnRules)].join(","), 1000);
    const owner = decision.judgedByOwner;
    // A controller made it from this owner's template: recorded, so the audit log says why it passed.
    const ownerNote = owner
      ? { "judged-by-owner": `${owner.kind} ${owner.namespace ?? ""}/${owner.name}` }
      : {};
    Object.assign(audit, ownerNote);

    if (decision.allowed) {
      return finish(
        {
          allowed: true,
          ...(warnings.length > 0 ? { warnings } : {}),
          ...(Object.keys(audit).length > 0
            ? {
                auditAnnotations: {
                  decision: warnRules.length > 0 ? "allowed-with-warnings" : "allowed",
                  ...audit,
                },
              }
            : {}),
        },
        warnRules.length > 0 ? "warned" : "allowed",
        warnRules,
        ownerNote,
      );
    }
    const rules = decision.violations.map((v) => v.rule);
    const bg = judgeBreakGlass(policy.breakGlass, annotationsOf(req), req.userInfo);
    if (bg?.used) {
      metrics?.breakGlass.inc({ resource: label });
      logger.warn("break-glass override", {
        ...request,
        rules,
        reason: bg.reason,
        dryRun: req.dryRun,
      });
      return finish(
        {
          allowed: true,
          warnings: [
            truncate(
              `nhi-operator: break-glass by ${req.userInfo.username} overrides ${[...new Set(rules)].join(", ")} (reason: ${bg.reason}); this is recorded`,
              MAX_WARNING_LENGTH,
            ),
            ...warnings,
          ],
          auditAnnotations: {
            ...audit,
            decision: "break-glass",
            "break-glass-rules": truncate([...new Set(rules)].join(","), 1000),
            "break-glass-reason": bg.reason,
            "break-glass-user": req.userInfo.username,
          },
        },
        "break_glass",
        rules,
      );
    }
    const status = statusFor(decision.violations);
    const message =
      denialMessage(req, decision.violations) + (bg && !bg.used ? ` (${bg.refused})` : "");
    return finish(
      {
        allowed: false,
        status: { ...status, message },
        ...(warnings.length > 0 ? { warnings } : {}),
        auditAnnotations: {
          ...audit,
          decision: "denied",
          violations: truncate([...new Set(rules)].join(","), 1000),
        },
      },
      status.code === 500 ? "error" : "denied",
      rules,
    );
  };
}
