// Transitive escalation (core/graph/escalation.ts) on the webhook's path: the attack paths a write
// opens, judged over the view's identity graph for the holders the write changes only. Writes the
// control plane makes (controllers, nodes: core/policy/workload.ts isControlPlaneRequester) are not
// judged here, as no other check judges them as their author.
import { foldFindings } from "../../core/policy/chain.js";
import { transitiveEscalationFindings } from "../../core/graph/escalation.js";
import type { GoverningIdentity, IdentityChange } from "../../core/policy/rbac-write.js";
import type { Decision, ObjectRef } from "../../core/policy/types.js";
import { transitiveEscalationFor } from "../../core/policy/settings.js";
import { isControlPlaneRequester } from "../../core/policy/workload.js";
import type { AdmissionRequest } from "../admission/review.js";
import type { AdmissionContext } from "./types.js";

/** `decision` with the transitive-escalation findings of the write added (denials under Enforce). */
export function withTransitiveEscalation(
  decision: Decision,
  req: AdmissionRequest,
  ctx: AdmissionContext,
  write: {
    object: ObjectRef;
    changes: readonly IdentityChange[];
    governing: (sa: { namespace: string; name: string }) => GoverningIdentity | undefined;
  },
): Decision {
  const graph = ctx.view.identityGraph?.();
  if (graph === undefined || write.changes.length === 0) return decision;
  if (isControlPlaneRequester(req.userInfo)) return decision;
  const findings = transitiveEscalationFindings({
    graph,
    changes: write.changes,
    governing: write.governing,
    object: write.object,
    mode: ctx.policy.transitiveEscalation,
    modeIn: (ns) => transitiveEscalationFor(ctx.policy, ctx.view.namespaceLabels(ns)),
  });
  if (findings.length === 0) return decision;
  const extra = foldFindings(findings, ctx.policy);
  return {
    ...decision,
    allowed: decision.allowed && extra.allowed,
    violations: [...decision.violations, ...extra.violations],
    warnings: [...decision.warnings, ...extra.warnings],
  };
}
