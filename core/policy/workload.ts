// The decision for a Pod or a workload template (Deployment, Job, CronJob, …): does the pod run as
// its identity the way that identity's NHI declares, and does the request borrow a stronger one?
import { enforced, lifetimeOutcome, lifetimeProblem, nhiName } from "./nhi-standing.js";
import { imageMatchesAny } from "../nhi/images.js";
import type { NonHumanIdentity } from "../nhi/types.js";
import { selectorMatches } from "../labels.js";
import { BUILTIN_CLUSTER_ROLE_BINDINGS } from "../rbac/builtin-roles.js";
import { describeGrant, describePermission, uncoveredGrants } from "../rbac/scoped.js";
import type { Grant, ScopedRule, ServiceAccountRef } from "../rbac/types.js";
import {
  SERVICE_ACCOUNT_TOKEN_TYPE,
  type IdentityDirectory,
  type ServiceAccountObject,
  type WorkloadObject,
} from "../snapshot.js";
import {
  automountsToken,
  containersOf,
  podTemplateOf,
  secretReferences,
  serviceAccountOf,
} from "../workloads/pod-template.js";
import type { PodTemplate } from "../workloads/pod-template.js";
import { controllerOwnerOf, type ControllerOwner } from "../workloads/owner.js";
import { runChain, type Check, type Finding } from "./chain.js";
import { describeObject } from "./describe.js";
import {
  modesFor,
  parseServiceAccountIdentity,
  serviceAccountIdentity,
  type EffectivePolicy,
} from "./settings.js";
import type { Decision, ObjectRef } from "./types.js";

/** Who sent the request (AdmissionRequest.userInfo). */
export interface Requester {
  username: string;
  groups?: string[];
}

/** What the workload and token decisions look up. The webhook fills it from its cache, the CLI from manifests. */
export interface ClusterLookups {
  /** Effective permissions (EffectivePermissionIndex satisfies this). */
  index: { grantsOf(sa: ServiceAccountRef): Grant[] };
  directory: Pick<IdentityDirectory, "nhiFor" | "governing">;
  serviceAccount(namespace: string, name: string): ServiceAccountObject | undefined;
  /** The `type` of a Secret (never its data); undefined when unknown. */
  secretType(namespace: string, name: string): string | undefined;
  /** The ServiceAccount a kubernetes.io/service-account-token Secret belongs to; undefined for other or unknown Secrets. */
  tokenSecretAccount(namespace: string, name: string): string | undefined;
  namespaceLabels(namespace: string): Record<string, string> | undefined;
}

export interface WorkloadInput extends ClusterLookups {
  object: WorkloadObject;
  /** The namespace the pods run in (the object's, or the request's when the object omits it). */
  namespace: string;
  policy: EffectivePolicy;
  now: Date;
  requester?: Requester;
  /** On UPDATE, the object as it was: references it already had are judged as existing, not new. */
  oldObject?: WorkloadObject;
}

/**
 * Kubernetes' own controllers (with --use-service-account-credentials): the kube-system
 * ServiceAccounts the default `system:controller:*` ClusterRoleBindings name. Not every kube-system
 * account: a third-party operator installed there is judged like any other requester.
 */
const CONTROLLER_SERVICE_ACCOUNTS: ReadonlySet<string> = new Set(
  BUILTIN_CLUSTER_ROLE_BINDINGS.filter((b) => b.metadata.name.startsWith("system:controller:"))
    .flatMap((b) =>
      (b.subjects ?? []).filter(
        (x) => x.kind === "ServiceAccount" && x.namespace === "kube-system",
      ),
    )
    .map((x) => serviceAccountIdentity("kube-system", x.name)),
);

/** Controllers of the control plane create pods from templates that were judged when written. */
export function isControlPlaneRequester(r: Requester | undefined): boolean {
  if (!r) return false;
  return (
    CONTROLLER_SERVICE_ACCOUNTS.has(r.username) ||
    r.username === "system:kube-controller-manager" ||
    r.username.startsWith("system:node:")
  );
}

/** The object reference for messages; generateName objects have no name yet. */
export function objectRef(
  obj: {
    apiVersion?: string;
    kind: string;
    metadata?: { name?: string; generateName?: string; namespace?: string };
  },
  namespace?: string,
): ObjectRef {
  const m = obj.metadata ?? {};
  const name = m.name || (m.generateName ? `${m.generateName}<generated>` : "<unnamed>");
  const ns = m.namespace ?? namespace;
  // Built with one shape per branch, not by spreading: V8's optimized code gives an object spread
  // followed by a new property a fresh hidden class on every call, allocated in the old generation.
  const ref: ObjectRef = obj.apiVersion
    ? { apiVersion: obj.apiVersion, kind: obj.kind, name }
    : { kind: obj.kind, name };
  if (ns) ref.namespace = ns;
  return ref;
}

/**
 * A ServiceAccount's grants as the scopes that would cover exactly them. Kept per grants array (the
 * index's answers are memoised and frozen, replaced when they change), so the coverage memo of
 * rbac/scoped.ts, keyed by the scopes array, also holds across reviews.
 */
function grantsAsScopes(grants: readonly Grant[]): ScopedRule[] {
  let scopes = scopesOfGrants.get(grants);
  if (scopes === undefined) {
    // Object.assign, not a spread: V8's optimized code gives `{ ...r, namespaces }` a fresh hidden
    // class per call, allocated in the old generation.
    scopes = grants.flatMap((g) =>
      g.rules.map((r): ScopedRule => Object.assign({}, r, { namespaces: [g.namespace] })),
    );
    scopesOfGrants.set(grants, scopes);
  }
  return scopes;
}
const scopesOfGrants = new WeakMap<readonly Grant[], ScopedRule[]>();

/**
 * Escalation by borrowing an identity: a ServiceAccount requester makes something run as (or mint a
 * token for) `target`, which holds permissions beyond what the requester may hold — its NHI's scopes,
 * or, for an unclaimed requester, its own effective grants.
 */
export function borrowedIdentityFindings(
  lookups: ClusterLookups,
  policy: EffectivePolicy,
  requester: Requester | undefined,
  target: ServiceAccountRef,
  object: ObjectRef,
  action: string,
): Finding[] {
  if (!requester || isControlPlaneRequester(requester)) return [];
  const from = parseServiceAccountIdentity(requester.username);
  if (!from || (from.namespace === target.namespace && from.name === target.name)) return [];
  // Grants through groups the requester is in too (discovery roles for every account) are not borrowed.
  const shared = new Set([
    "group:system:authenticated",
    "group:system:serviceaccounts",
    `group:system:serviceaccounts:${from.namespace}`,
  ]);
  const targetGrants = lookups.index.grantsOf(target).filter((g) => !shared.has(g.via));
  if (targetGrants.length === 0) return [];
  const gov = lookups.directory.governing(from);
  const ceiling = gov ? gov.scopes : grantsAsScopes(lookups.index.grantsOf(from));
  const uncovered = uncoveredGrants(ceiling, targetGrants);
  if (uncovered.length === 0) return [];
  const first = uncovered[0];
  if (!first) return [];
  const outcome: Finding["outcome"] = gov
    ? gov.enforcement === "Audit"
      ? "warn"
      : "deny"
    : modesFor(policy, lookups.namespaceLabels(from.namespace)).unclaimedHighPermissions ===
        "Enforce"
      ? "deny"
      : "warn";
  const targetId = serviceAccountIdentity(target.namespace, target.name);
  const more = uncovered.length > 1 ? ` and ${uncovered.length - 1} more` : "";
  const ceilingName = gov
    ? `the scopes of NonHumanIdentity ${gov.nhi.namespace}/${gov.nhi.name}`
    : "its own RBAC permissions (no NonHumanIdentity claims it)";
  const permission = describePermission(first.permission);
  return [
    {
      outcome,
      rule: "borrowed-identity",
      severity: "high",
      object,
      identity: requester.username,
      permission,
      message: `${describeObject(object)}: ${requester.username} ${action} ${targetId}, which holds "${permission}" (through ${describeGrant(first.grant)})${more} beyond ${ceilingName}: running as a more powerful identity is an escalation.`,
      fix: `run it as a ServiceAccount whose permissions ${from.namespace}/${from.name} already may hold, or let a human or a more trusted pipeline deploy it${gov ? `, or widen NonHumanIdentity ${gov.nhi.namespace}/${gov.nhi.name} through a reviewed change` : ""}`,
    },
  ];
}

/** The gathered facts every workload check reads. */
interface Prepared {
  input: WorkloadInput;
  object: ObjectRef;
  template: PodTemplate;
  sa: ServiceAccountRef;
  identity: string;
  nhi: NonHumanIdentity | undefined;
  where: string;
}

const nhiLifetime: Check<Prepared> = {
  name: "nhi-lifetime",
  run: ({ input, object, nhi, identity, where }) => {
    if (!nhi) return [];
    const problem = lifetimeProblem(nhi, input.now);
    if (!problem) return [];
    return [
      {
        outcome: lifetimeOutcome(nhi, problem),
        rule: problem.rule,
        severity: "high",
        object,
        identity,
        message: `${describeObject(object)} would run pods${where} as ${identity}, but ${problem.why}.`,
        fix:
          problem.rule === "nhi-suspended"
            ? `resolve the incident and set spec.suspended: false on ${nhiName(nhi)}, or run the workload as another identity`
            : `renew ${nhiName(nhi)} (extend spec.lifetime.expiresAt through a reviewed change) or retire the workload`,
      },
    ];
  },
};

const workloadSelector: Check<Prepared> = {
  name: "workload-selector",
  run: ({ object, nhi, identity, template, where }) => {
    const selector = nhi?.spec.workloads?.podSelector;
    if (!nhi || !selector || selectorMatches(selector, template.labels)) return [];
    return [
      {
        outcome: enforced(nhi),
        rule: "workload-selector",
        severity: "high",
        object,
        identity,
        message: `${describeObject(object)} would run pods${where} as ${identity} with labels ${JSON.stringify(template.labels)}, which do not match spec.workloads.podSelector ${JSON.stringify(selector)} of ${nhiName(nhi)}.`,
        fix: `label the pod template to match the podSelector, or run it as its own ServiceAccount instead of reusing ${identity}`,
      },
    ];
  },
};

const workloadImages: Check<Prepared> = {
  name: "workload-images",
  run: ({ object, nhi, identity, template, where }) => {
    const globs = nhi?.spec.workloads?.images;
    if (!nhi || !globs) return [];
    return containersOf(template.spec)
      .filter((c) => typeof c.image !== "string" || !imageMatchesAny(globs, c.image))
      .map((c): Finding => ({
        outcome: enforced(nhi),
        rule: "workload-image",
        severity: "high",
        object,
        identity,
        message: `${describeObject(object)}: container ${c.name ?? "<unnamed>"} image ${JSON.stringify(c.image ?? "")}${where} is not allowed to run as ${identity}: ${nhiName(nhi)} allows only images ${globs.join(", ")}.`,
        fix: `use an image matching spec.workloads.images of ${nhiName(nhi)}, or add the image pattern there through a reviewed change`,
      }));
  },
};

const workloadAutomount: Check<Prepared> = {
  name: "workload-automount",
  run: ({ input, object, nhi, identity, template, sa, where }) => {
    if (!nhi || nhi.spec.workloads?.automountToken !== false) return [];
    const account = input.serviceAccount(sa.namespace, sa.name);
    if (!automountsToken(template.spec, account?.automountServiceAccountToken)) return [];
    return [
      {
        outcome: enforced(nhi),
        rule: "workload-automount",
        severity: "medium",
        object,
        identity,
        message: `${describeObject(object)} would mount the API token of ${identity} into its pods${where}, but ${nhiName(nhi)} sets spec.workloads.automountToken: false.`,
        fix: "set automountServiceAccountToken: false in the pod spec (or on the ServiceAccount)",
      },
    ];
  },
};

/**
 * New consumers of legacy token Secrets are denied. A workload that already consumed one at the
 * same place (same volume, env or envFrom entry) before this update only warns: rolling out an
 * existing consumer, or the operator switching it to a rotated successor (legacyTokens: Rotate),
 * must not be blocked — that would stop rotation, not token reuse.
 */
const tokenSecretMount: Check<Prepared> = {
  name: "token-secret-mount",
  run: ({ input, object, template, identity, where }) => {
    const isToken = (name: string): boolean =>
      input.secretType(input.namespace, name) === SERVICE_ACCOUNT_TOKEN_TYPE;
    const oldTemplate = input.oldObject ? podTemplateOf(input.oldObject) : undefined;
    const existing = new Set(
      oldTemplate
        ? secretReferences(oldTemplate.spec)
            .filter((r) => isToken(r.secretName))
            .map((r) => r.via)
        : [],
    );
    return secretReferences(template.spec)
      .filter((ref) => isToken(ref.secretName))
      .map((ref): Finding => {
        const already = existing.has(ref.via);
        return {
          outcome: already ? "warn" : "deny",
          rule: "token-secret-mount",
          severity: "high",
          object,
          identity,
          permission: `read Secret ${input.namespace}/${ref.secretName}`,
          message: `${describeObject(object)} ${already ? "still consumes" : "mounts"} the long-lived ServiceAccount token Secret ${input.namespace}/${ref.secretName} (${ref.via})${where}: a pod may only use its own identity's projected token.`,
          fix: `remove the reference to ${ref.secretName}; run the pod as the ServiceAccount it needs (serviceAccountName) and use its projected token`,
        };
      });
  },
};

const borrowedIdentity: Check<Prepared> = {
  name: "borrowed-identity",
  run: ({ input, object, sa }) =>
    borrowedIdentityFindings(input, input.policy, input.requester, sa, object, "would run pods as"),
};

const unclaimedServiceAccount: Check<Prepared> = {
  name: "unclaimed-service-account",
  run: ({ input, object, sa, nhi, identity, where }) => {
    if (nhi) return [];
    const mode = modesFor(input.policy, input.namespaceLabels(sa.namespace)).requireClaim;
    if (mode === "Off") return [];
    const outcome: Finding["outcome"] = mode === "Enforce" ? "deny" : "warn";
    if (sa.name === "default") {
      return [
        {
          outcome,
          rule: "default-service-account",
          severity: "medium",
          object,
          identity,
          message: `${describeObject(object)} runs pods${where} as the namespace's default ServiceAccount ${identity}, which every pod without serviceAccountName shares and no NonHumanIdentity claims.`,
          fix: "give the workload its own ServiceAccount (spec.serviceAccountName) and declare a NonHumanIdentity for it",
        },
      ];
    }
    return [
      {
        outcome,
        rule: "unclaimed-service-account",
        severity: "medium",
        object,
        identity,
        message: `${describeObject(object)} runs pods${where} as ${identity}, which no NonHumanIdentity claims (NHIPolicy requireClaim: ${mode}).`,
        fix: `declare a NonHumanIdentity for ServiceAccount ${sa.namespace}/${sa.name} (owner, purpose, scopes)`,
      },
    ];
  },
};

export const WORKLOAD_CHECKS: readonly Check<Prepared>[] = [
  nhiLifetime,
  workloadSelector,
  workloadImages,
  workloadAutomount,
  tokenSecretMount,
  borrowedIdentity,
  unclaimedServiceAccount,
];

/**
 * For an object a controller made from its owner's template (core/workloads/owner.ts), the template
 * checks were applied when a person wrote the owner: what the owner's template carries is allowed.
 * What changed since is the identity's state: a CREATE is still refused while its NHI is suspended
 * (quarantine blocks new pods) or expired. A controller's UPDATE (scaling, adopting, removing a
 * finalizer) starts nothing new and is allowed, so quarantine never stalls a scale-down.
 */
const checksFor = (
  input: WorkloadInput,
  owner: ControllerOwner | undefined,
): readonly Check<Prepared>[] => {
  if (!owner) return WORKLOAD_CHECKS;
  return input.oldObject ? [] : [nhiLifetime];
};

export function decideWorkload(input: WorkloadInput): Decision {
  const template = podTemplateOf(input.object);
  if (!template) return { allowed: true, violations: [], warnings: [] };
  const owner = input.requester
    ? controllerOwnerOf(input.object, input.requester.username)
    : undefined;
  const sa = { namespace: input.namespace, name: serviceAccountOf(template.spec) };
  const prepared: Prepared = {
    input,
    template,
    sa,
    object: objectRef(input.object, input.namespace),
    identity: serviceAccountIdentity(sa.namespace, sa.name),
    nhi: input.directory.nhiFor(sa),
    where: template.path === "$" ? "" : ` (pod template ${template.path})`,
  };
  const decision = runChain(checksFor(input, owner), prepared, input.policy);
  if (!owner) return decision;
  const judgedByOwner: ObjectRef = {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.name,
    namespace: input.namespace,
  };
  decision.judgedByOwner = judgedByOwner; // runChain's fresh decision: added, not spread (see objectRef)
  return decision;
}
