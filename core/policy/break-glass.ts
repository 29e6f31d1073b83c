// Break-glass: who may override a denial with an annotated, recorded reason. The edge (webhook)
// gathers the annotations and records each use; whether a use is allowed is decided here.
import type { BreakGlass } from "./settings.js";
import type { Requester } from "./workload.js";

/** What kind of identity sent a request, from its Kubernetes username and groups. */
export type RequesterKind = "ServiceAccount" | "Node" | "ControlPlane" | "Anonymous" | "User";

/** Components of the control plane that authenticate as themselves (not as ServiceAccounts). */
const CONTROL_PLANE_USERS = new Set([
  "system:kube-controller-manager",
  "system:kube-scheduler",
  "system:kube-proxy",
  "system:apiserver",
  "system:volume-scheduler",
]);
/** Groups every requester (or every anonymous one) is in: they name nobody in particular. */
const EVERYONE_GROUPS = new Set(["system:authenticated", "system:unauthenticated"]);

export function requesterKind(r: Requester): RequesterKind {
  const groups = r.groups ?? [];
  if (r.username.startsWith("system:serviceaccount:") || groups.includes("system:serviceaccounts"))
    return "ServiceAccount";
  if (r.username.startsWith("system:node:") || groups.includes("system:nodes")) return "Node";
  if (r.username === "system:anonymous" || groups.includes("system:unauthenticated"))
    return "Anonymous";
  if (CONTROL_PLANE_USERS.has(r.username)) return "ControlPlane";
  // Anything else comes from the cluster's authenticators for people (client certificates, OIDC, …).
  return "User";
}

export type BreakGlassOutcome =
  /** The requester may override the denial; the reason is recorded. */
  | { used: true; reason: string }
  /** The request asks for break-glass but may not have it: the denial stands, with this why. */
  | { used: false; refused: string }
  /** No break-glass configured or asked for. */
  | undefined;

const MAX_REASON = 256;

/**
 * Whether a denied request may break glass. Without `allowedGroups`, only human users may: a
 * ServiceAccount (the governed identity itself, a pipeline, a controller), a node or a control-plane
 * component never can, so break-glass cannot undo self-widening, critical grants or token limits for
 * the workloads they are meant to stop. With `allowedGroups`, only members may; a non-human requester
 * counts as named only through a group the policy lists that is not everyone's (`system:authenticated`).
 */
export function judgeBreakGlass(
  bg: BreakGlass | undefined,
  annotations: Readonly<Record<string, string>>,
  requester: Requester,
): BreakGlassOutcome {
  if (!bg) return undefined;
  const flag = annotations[bg.annotation];
  if (flag === undefined || flag === "" || flag === "false") return undefined;
  const reason = (annotations[bg.reasonAnnotation] ?? "").trim();
  if (reason === "")
    return {
      used: false,
      refused: `break-glass (${bg.annotation}) needs a reason: set the ${bg.reasonAnnotation} annotation`,
    };
  const kind = requesterKind(requester);
  const allowed = bg.allowedGroups ?? [];
  if (allowed.length > 0) {
    const named = (requester.groups ?? []).filter(
      (g) => allowed.includes(g) && (kind === "User" || !EVERYONE_GROUPS.has(g)),
    );
    if (named.length === 0) {
      return {
        used: false,
        refused: `break-glass is reserved to members of ${allowed.join(", ")}; ${requester.username} is not one${kind === "User" ? "" : ` (a ${kind} is named only by a group other than system:authenticated)`}`,
      };
    }
  } else if (kind !== "User") {
    return {
      used: false,
      refused: `break-glass is reserved to human users: ${requester.username} is a ${kind}, and NHIPolicy spec.breakGlass.allowedGroups names no group of it`,
    };
  }
  return {
    used: true,
    reason: reason.length <= MAX_REASON ? reason : `${reason.slice(0, MAX_REASON - 1)}…`,
  };
}
