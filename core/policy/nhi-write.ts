// Decisions about writes of the governance objects themselves: a NonHumanIdentity (its scopes are a
// ceiling, so widening one is a privilege change) and an NHIPolicy (the guard rails).
import type { FieldError, NHIValidator } from "../nhi/validation.js";
import type { NHIPolicy, NonHumanIdentity } from "../nhi/types.js";
import { globMatches } from "../glob.js";
import { describePermission, uncoveredGrants } from "../rbac/scoped.js";
import type { Grant, ScopedRule } from "../rbac/types.js";
import { catalogueHits } from "./catalogue-hits.js";
import { CATALOGUE } from "./catalogue.js";
import { runChain, type Check, type Finding } from "./chain.js";
import { describeObject, suggestScope } from "./describe.js";
import {
  parseServiceAccountIdentity,
  serviceAccountIdentity,
  type EffectivePolicy,
} from "./settings.js";
import type { Decision, ObjectRef } from "./types.js";
import type { Requester } from "./workload.js";
import { isRecord } from "../json.js";

/** Ids an NHIPolicy exemption may name: the catalogue's and the admission checks'. */
export const ADMISSION_RULE_IDS: readonly string[] = [
  ...CATALOGUE.map((e) => e.id),
  "scope-exceeded",
  "binding-dangerous-group",
  "nhi-suspended",
  "nhi-expired",
  "workload-selector",
  "workload-image",
  "workload-automount",
  "token-secret-mount",
  "borrowed-identity",
  "unclaimed-service-account",
  "default-service-account",
  "token-ttl",
  "token-ttl-policy",
  "legacy-token-forbidden",
  "legacy-token-unclaimed",
  "nhi-self-widening",
  "nhi-change-request",
  "nhi-critical-scope",
];

export interface NHIWriteInput {
  /** The object as submitted (validated here, so unknown). */
  object: unknown;
  /** The stored object, on UPDATE. */
  oldObject?: unknown;
  /** The one validator the CLI uses too (createValidator over crds/). */
  validator: NHIValidator;
  policy: EffectivePolicy;
  now: Date;
  requester?: Requester;
  /** The request's namespace, when the object omits metadata.namespace. */
  namespace?: string;
}

function refOf(obj: unknown, kind: string, namespace?: string): ObjectRef {
  const m = isRecord(obj) && isRecord(obj.metadata) ? obj.metadata : {};
  const name = typeof m.name === "string" ? m.name : "<unnamed>";
  const ns = typeof m.namespace === "string" ? m.namespace : namespace;
  return { kind, name, ...(ns ? { namespace: ns } : {}) };
}

function invalidFindings(object: ObjectRef, errors: FieldError[], rule: string): Finding[] {
  return errors.map((e) => ({
    outcome: "deny",
    rule,
    severity: "medium",
    object,
    message: `${describeObject(object)} is invalid: ${e.path === "" ? "(object)" : e.path}: ${e.message}`,
    fix: e.fix,
  }));
}

/** NHI scopes as grants, so scope-vs-scope and catalogue questions reuse RBAC coverage. */
export function scopeGrants(scopes: readonly ScopedRule[]): Grant[] {
  return scopes.flatMap(({ namespaces, ...rule }) =>
    namespaces.map((ns): Grant => ({
      namespace: ns,
      rules: [rule],
      binding:
        ns === "*"
          ? { kind: "ClusterRoleBinding", name: "spec.scopes" }
          : { kind: "RoleBinding", namespace: ns, name: "spec.scopes" },
      role:
        ns === "*"
          ? { kind: "ClusterRole", name: "spec.scopes" }
          : { kind: "Role", namespace: ns, name: "spec.scopes" },
      via: "serviceaccount",
    })),
  );
}

interface PreparedNHI {
  input: NHIWriteInput;
  object: ObjectRef;
  nhi: NonHumanIdentity;
  old: NonHumanIdentity | undefined;
  identity: string;
  /** Scope permissions the write adds beyond the old object's (all of them on CREATE). */
  widened: ReturnType<typeof uncoveredGrants>;
}

const nhiName = (p: PreparedNHI): string => describeObject(p.object);

const selfWidening: Check<PreparedNHI> = {
  name: "nhi-self-widening",
  run: (p) => {
    const who = p.input.requester
      ? parseServiceAccountIdentity(p.input.requester.username)
      : undefined;
    if (!who || serviceAccountIdentity(who.namespace, who.name) !== p.identity) return [];
    const loosened: string[] = p.widened
      .slice(0, 3)
      .map((u) => `scope "${describePermission(u.permission)}"`);
    if (p.old && p.old.spec.enforcement !== "Audit" && p.nhi.spec.enforcement === "Audit")
      loosened.push("enforcement: Audit");
    if (p.old?.spec.suspended === true && p.nhi.spec.suspended !== true)
      loosened.push("suspended: false");
    if (
      (p.old?.spec.legacyTokens ?? "Forbid") === "Forbid" &&
      (p.nhi.spec.legacyTokens ?? "Forbid") !== "Forbid"
    )
      loosened.push(`legacyTokens: ${p.nhi.spec.legacyTokens ?? ""}`);
    if (loosened.length === 0) return [];
    return [
      {
        outcome: "deny",
        rule: "nhi-self-widening",
        severity: "critical",
        object: p.object,
        identity: p.identity,
        message: `${nhiName(p)}: ${p.identity} may not loosen its own NonHumanIdentity (${loosened.join(", ")}${p.widened.length > 3 ? `, and ${p.widened.length - 3} more scopes` : ""}): an identity that raises its own ceiling has none.`,
        fix: "have the NHI's owners change it through a reviewed pull request applied by another identity",
      },
    ];
  },
};

function compilePattern(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern);
  } catch {
    return undefined;
  }
}

const changeRequest: Check<PreparedNHI> = {
  name: "nhi-change-request",
  run: (p) => {
    const cr = p.input.policy.requireChangeRequest;
    if (!cr || !p.old || p.widened.length === 0) return [];
    const value = p.nhi.metadata.annotations?.[cr.annotation];
    const previous = p.old.metadata.annotations?.[cr.annotation];
    const pattern = cr.valuePattern === undefined ? undefined : compilePattern(cr.valuePattern);
    let problem: string | undefined;
    if (value === undefined || value === "") problem = `has no ${cr.annotation} annotation`;
    else if (cr.valuePattern !== undefined && !pattern?.test(value))
      problem = `has ${cr.annotation}: ${JSON.stringify(value)}, which does not match ${cr.valuePattern}`;
    else if (value === previous)
      problem = `reuses the change request ${JSON.stringify(value)} of an earlier change`;
    if (!problem) return [];
    const first = p.widened[0];
    return [
      {
        outcome: "deny",
        rule: "nhi-change-request",
        severity: "high",
        object: p.object,
        identity: p.identity,
        ...(first ? { permission: describePermission(first.permission) } : {}),
        message: `${nhiName(p)} widens its scopes (${p.widened
          .slice(0, 3)
          .map((u) => `"${describePermission(u.permission)}"`)
          .join(
            ", ",
          )}${p.widened.length > 3 ? ` and ${p.widened.length - 3} more` : ""}) but ${problem}; NHIPolicy ${p.input.policy.sources.join(", ")} requires a change-request reference for widening.`,
        fix: `annotate the NonHumanIdentity with ${cr.annotation}: <the approved change request>${cr.valuePattern ? ` (matching ${cr.valuePattern})` : ""}`,
      },
    ];
  },
};

const criticalScope: Check<PreparedNHI> = {
  name: "nhi-critical-scope",
  run: (p) => {
    const key = (h: { entry: { id: string }; namespace: string }): string =>
      `${h.entry.id}@${h.namespace}`;
    const before = new Set(catalogueHits(scopeGrants(p.old?.spec.scopes ?? [])).map(key));
    return catalogueHits(scopeGrants(p.nhi.spec.scopes ?? []))
      .filter(
        (h) =>
          !before.has(key(h)) &&
          (h.entry.severity === "critical" || p.input.policy.forbidden.includes(h.entry.id)),
      )
      .map((h): Finding => {
        const rule = h.permissions[0];
        return {
          outcome: "deny",
          rule: "nhi-critical-scope",
          severity: "critical",
          object: p.object,
          identity: p.identity,
          permission: h.entry.title,
          message: `${nhiName(p)} declares a scope that includes ${h.entry.title.toLowerCase()}${h.namespace === "*" ? " cluster-wide" : ` in namespace ${h.namespace}`}${rule ? ` (${suggestScope(rule, h.namespace)})` : ""}: ${h.entry.why}. ${h.entry.severity === "critical" ? "The escalation catalogue forbids it for every ServiceAccount" : `NHIPolicy ${p.input.policy.sources.join(", ")} forbids it`} unless an NHIPolicy exemption names the identity.`,
          fix: `${h.entry.fix}; if ${p.identity} truly needs it, add an NHIPolicy exemption naming it with rules [${h.entry.id}, nhi-critical-scope] and a reason`,
        };
      });
  },
};

export const NHI_WRITE_CHECKS: readonly Check<PreparedNHI>[] = [
  selfWidening,
  changeRequest,
  criticalScope,
];

/** CREATE/UPDATE of a NonHumanIdentity: schema + semantics (the CLI's validator), then the widening checks. */
export function decideNHIWrite(input: NHIWriteInput): Decision {
  const object = refOf(input.object, "NonHumanIdentity", input.namespace);
  // "expiresAt is in the past" only for a new or changed expiry: editing an expired NHI must stay possible.
  const oldExpiry =
    isRecord(input.oldObject) &&
    isRecord(input.oldObject.spec) &&
    isRecord(input.oldObject.spec.lifetime)
      ? input.oldObject.spec.lifetime.expiresAt
      : undefined;
  const newExpiry =
    isRecord(input.object) && isRecord(input.object.spec) && isRecord(input.object.spec.lifetime)
      ? input.object.spec.lifetime.expiresAt
      : undefined;
  const parsed = input.validator.parseNonHumanIdentity(input.object, {
    ...(input.oldObject !== undefined ? { oldObject: input.oldObject } : {}),
    ...(input.oldObject === undefined || oldExpiry !== newExpiry ? { now: input.now } : {}),
  });
  if (!parsed.ok)
    return runChain(
      [{ name: "nhi-schema", run: () => invalidFindings(object, parsed.errors, "nhi-invalid") }],
      undefined,
      input.policy,
    );
  const nhi = parsed.value;
  // The stored object passed validation when it was written; read it leniently (defaults applied).
  const oldParsed =
    input.oldObject === undefined
      ? undefined
      : input.validator.parseNonHumanIdentity(input.oldObject);
  const old = oldParsed?.ok ? oldParsed.value : (input.oldObject as NonHumanIdentity | undefined);
  const namespace = nhi.metadata.namespace ?? input.namespace ?? "default";
  const prepared: PreparedNHI = {
    input,
    object: { ...object, namespace },
    nhi,
    old,
    identity: serviceAccountIdentity(namespace, nhi.spec.serviceAccountName),
    widened: uncoveredGrants(old?.spec.scopes ?? [], scopeGrants(nhi.spec.scopes ?? [])),
  };
  return runChain(NHI_WRITE_CHECKS, prepared, input.policy);
}

// ---------------------------------------------------------------------------------------------
// NHIPolicy
// ---------------------------------------------------------------------------------------------

/** As for an NHI (`policy`: the one in force before this write, for messages and exemptions); cluster-scoped, so no namespace. */
export type NHIPolicyWriteInput = Omit<NHIWriteInput, "namespace">;

interface PreparedPolicy {
  input: NHIPolicyWriteInput;
  object: ObjectRef;
  policy: NHIPolicy;
  old: NHIPolicy | undefined;
}

/** Whether a policy exempts the ServiceAccount, by namespace or name. */
function exempts(p: NHIPolicy | undefined, sa: { namespace: string; name: string }): boolean {
  if (!p) return false;
  const ref = `${sa.namespace}/${sa.name}`;
  return (
    (p.spec.exemptNamespaces ?? []).some((g) => globMatches(g, sa.namespace)) ||
    (p.spec.exemptions ?? []).some(
      (e) =>
        (e.namespaces ?? []).some((g) => globMatches(g, sa.namespace)) ||
        (e.serviceAccounts ?? []).some((g) => globMatches(g, ref)),
    )
  );
}

const policySelfExemption: Check<PreparedPolicy> = {
  name: "nhipolicy-self-exemption",
  run: (p) => {
    const who = p.input.requester
      ? parseServiceAccountIdentity(p.input.requester.username)
      : undefined;
    if (!who || !exempts(p.policy, who) || exempts(p.old, who)) return [];
    const identity = serviceAccountIdentity(who.namespace, who.name);
    return [
      {
        // No identity on the finding: an exemption must not be able to allow writing itself.
        outcome: "deny",
        rule: "nhipolicy-self-exemption",
        severity: "critical",
        object: p.object,
        message: `${describeObject(p.object)}: ${identity} may not write an NHIPolicy that exempts itself (its namespace or name).`,
        fix: "have a human or the GitOps pipeline add the exemption through a reviewed change",
      },
    ];
  },
};

export const NHIPOLICY_WRITE_CHECKS: readonly Check<PreparedPolicy>[] = [policySelfExemption];

export function decideNHIPolicyWrite(input: NHIPolicyWriteInput): Decision {
  const object = refOf(input.object, "NHIPolicy");
  const parsed = input.validator.parseNHIPolicy(input.object, {
    knownRuleIds: new Set(ADMISSION_RULE_IDS),
    ...(input.oldObject !== undefined ? { oldObject: input.oldObject } : {}),
  });
  if (!parsed.ok)
    return runChain(
      [
        {
          name: "nhipolicy-schema",
          run: () => invalidFindings(object, parsed.errors, "nhipolicy-invalid"),
        },
      ],
      undefined,
      input.policy,
    );
  const oldParsed =
    input.oldObject === undefined ? undefined : input.validator.parseNHIPolicy(input.oldObject);
  const prepared: PreparedPolicy = {
    input,
    object,
    policy: parsed.value,
    old: oldParsed?.ok ? oldParsed.value : (input.oldObject as NHIPolicy | undefined),
  };
  return runChain(NHIPOLICY_WRITE_CHECKS, prepared, input.policy);
}
