// The decision for a write of a Role, ClusterRole, RoleBinding or ClusterRoleBinding: after the
// change, does any ServiceAccount — or any member group (core/rbac/groups.ts), which stands for all
// its members, present and future — hold more than its NHI declares or the catalogue allows?
import {
  describeGrant,
  describePermission,
  toPermission,
  uncoveredGrants,
} from "../rbac/scoped.js";
import { breakdown } from "../rbac/coverage.js";
import type { EffectivePermissionIndex, RbacChange } from "../rbac/effective.js";
import { BUILTIN_KUBERNETES_VERSION } from "../rbac/builtin-roles.js";
import {
  enclosingGroups,
  groupIdentity,
  groupsOfServiceAccount,
  memberGroup,
  type MemberGroup,
} from "../rbac/groups.js";
import type {
  ClusterRoleBinding,
  Grant,
  RoleBinding,
  RoleObjectRef,
  ScopedRule,
  ServiceAccountRef,
} from "../rbac/types.js";
import { newCatalogueHits, type CatalogueHit } from "./catalogue-hits.js";
import { DANGEROUS_GROUPS, DANGEROUS_USERS, DISCOVERY_ROLES } from "./catalogue.js";
import { runChain, type Check, type Finding } from "./chain.js";
import { describeObject, suggestScope } from "./describe.js";
import { modesFor, serviceAccountIdentity, type EffectivePolicy, type Mode } from "./settings.js";
import type { Decision, ObjectRef } from "./types.js";

/** What the decisions need of an NHI: which one it is, its ceiling, and whether it is enforced. */
export interface GoverningIdentity {
  nhi: { namespace: string; name: string };
  scopes: ScopedRule[];
  enforcement: Mode;
}

/**
 * Who holds grants, as the decisions judge them: one ServiceAccount, or a member group that stands
 * for every member, present and future (what it holds, each member holds).
 */
export type Holder = { serviceAccount: ServiceAccountRef } | { group: MemberGroup };

/** One ServiceAccount the write affects: what it holds now and what it would gain. */
export interface ServiceAccountChange {
  serviceAccount: ServiceAccountRef;
  before: Grant[];
  gained: Grant[];
}

/** One member group the write affects: what every member holds now through it and what each would gain. */
export interface GroupChange {
  group: MemberGroup;
  before: Grant[];
  gained: Grant[];
}

export type IdentityChange = ServiceAccountChange | GroupChange;

/** Every holder the index knows: the member groups bindings name, then the known ServiceAccounts. */
export function holdersOf(index: EffectivePermissionIndex): Holder[] {
  const groups = index.memberGroups().flatMap((name): Holder[] => {
    const group = memberGroup(name);
    return group ? [{ group }] : [];
  });
  return [
    ...groups,
    ...index.serviceAccounts().map((serviceAccount): Holder => ({ serviceAccount })),
  ];
}

/** What the holder holds in the index (a group: what every member holds through it). */
export function grantsOfHolder(index: EffectivePermissionIndex, holder: Holder): Grant[] {
  return "group" in holder
    ? index.grantsOfGroup(holder.group.name)
    : index.grantsOf(holder.serviceAccount);
}

/** The holder's identity in findings: "system:serviceaccount:<ns>:<name>" or "group:<name>". */
export function holderIdentity(holder: Holder): string {
  return "group" in holder
    ? groupIdentity(holder.group.name)
    : serviceAccountIdentity(holder.serviceAccount.namespace, holder.serviceAccount.name);
}

export interface RbacWriteInput {
  object: ObjectRef;
  /** The binding written, when the object is one (its group subjects are judged directly). */
  binding?: RoleBinding | ClusterRoleBinding;
  changes: IdentityChange[];
  governing: (sa: ServiceAccountRef) => GoverningIdentity | undefined;
  policy: EffectivePolicy;
  /** Labels of a namespace, for NHIPolicy per-namespace overrides; absent: cluster defaults apply. */
  namespaceLabels?: (namespace: string) => Record<string, string> | undefined;
  /**
   * The roles the written binding's roleRef may name: whether one exists (Kubernetes' defaults
   * count), and where that was looked up ("the manifests", "the cluster"), for the message.
   */
  roles?: RoleLookup;
}

export interface RoleLookup {
  exists: (ref: RoleObjectRef) => boolean;
  /** Where roles were looked up, as the message says it: "the manifests or the cluster". */
  searched: string;
  /** What else the reader can do, added to the fix ("if the cluster has it, check with --cluster"). */
  hint?: string;
}

const isGroup = (change: IdentityChange): change is GroupChange => "group" in change;
const identityOf = holderIdentity;
/** Who gains, for messages: the account's identity, or the group's members. */
const whoGains = (change: IdentityChange): string =>
  isGroup(change) ? `${change.group.members} (group ${change.group.name})` : identityOf(change);
/** The namespace whose NHIPolicy overrides apply: the account's, or the one namespace a group's members are in. */
const namespaceOf = (change: IdentityChange): string | undefined => {
  if (!isGroup(change)) return change.serviceAccount.namespace;
  const ns = change.group.serviceAccountNamespace;
  return ns === "*" ? undefined : ns;
};
/** The member groups, other than the holder itself, that contain every member of the holder. */
export function widerGroupsOf(holder: Holder): string[] {
  return "group" in holder
    ? enclosingGroups(holder.group.name).slice(1)
    : groupsOfServiceAccount(holder.serviceAccount.namespace);
}
/** The input's group changes by group name, once per input (a write may reach thousands of accounts). */
const groupChangesMemo = new WeakMap<RbacWriteInput, Map<string, GroupChange>>();
/** Member groups of the input that contain every member of `change`'s holder (other than itself). */
const containingGroups = (input: RbacWriteInput, change: IdentityChange): GroupChange[] => {
  let byName = groupChangesMemo.get(input);
  if (!byName) {
    byName = new Map(input.changes.filter(isGroup).map((c) => [c.group.name, c]));
    groupChangesMemo.set(input, byName);
  }
  const groups = byName;
  return widerGroupsOf(change).flatMap((g) => groups.get(g) ?? []);
};

const nhiName = (g: GoverningIdentity): string =>
  `NonHumanIdentity ${g.nhi.namespace}/${g.nhi.name}`;

const newHitsMemo = new WeakMap<IdentityChange, CatalogueHit<Grant>[]>();

/**
 * Catalogue entries the change newly reaches. Only where something was gained can a hit be new: the
 * cluster-wide grants plus those in the namespaces of the gained grants give exactly the same hits
 * there as the identity's full grant list (a namespaced hit is judged on its namespace's grants and
 * the cluster-wide ones; supersession hides per place), so the rest is left out. Memoised per change:
 * the critical and the unclaimed-high checks both ask. Exported for its property test only.
 */
export function newHits(change: IdentityChange): CatalogueHit<Grant>[] {
  const memo = newHitsMemo.get(change);
  if (memo) return memo;
  const places = new Set(change.gained.map((g) => g.namespace));
  const relevant = places.has("*")
    ? (): boolean => true
    : (g: Grant): boolean => g.namespace === "*" || places.has(g.namespace);
  const before = change.before.filter(relevant);
  const hits = newCatalogueHits(before, change.gained);
  newHitsMemo.set(change, hits);
  return hits;
}

function hitPermission(hit: CatalogueHit<Grant>): string {
  const first = hit.permissions[0];
  const atomic = first ? breakdown(first)[0] : undefined;
  return atomic ? describePermission(toPermission(atomic, hit.namespace)) : hit.entry.title;
}

function hitFinding(
  input: RbacWriteInput,
  change: IdentityChange,
  hit: CatalogueHit<Grant>,
  outcome: Finding["outcome"],
  ceiling: string,
): Finding {
  const identity = identityOf(change);
  const permission = hitPermission(hit);
  const through = hit.grants.map(describeGrant).join("; ");
  return {
    outcome,
    rule: hit.entry.id,
    severity: hit.entry.severity,
    object: input.object,
    identity,
    permission,
    message: `${describeObject(input.object)} would give ${whoGains(change)} ${hit.entry.title.toLowerCase()} (${permission}, through ${through}): ${hit.entry.why}. ${ceiling}`,
    fix: hit.entry.fix,
  };
}

/**
 * The catalogue hits the change newly reaches that no group containing its holder reports too: the
 * finding for "every ServiceAccount in namespace shop" says it for each account of shop, once.
 */
function ownNewHits(input: RbacWriteInput, change: IdentityChange): CatalogueHit<Grant>[] {
  const wider = containingGroups(input, change).map(
    (c) => new Set(newHits(c).map((h) => `${h.entry.id}@${h.namespace}`)),
  );
  const hits = newHits(change);
  return wider.length === 0
    ? hits
    : hits.filter((h) => !wider.some((w) => w.has(`${h.entry.id}@${h.namespace}`)));
}

const bindGroupFix = (g: MemberGroup): string =>
  `bind the role to the specific ServiceAccounts that need it instead of group ${g.name}`;

const isForbidden = (input: RbacWriteInput, hit: CatalogueHit<Grant>): boolean =>
  hit.entry.severity === "critical" || input.policy.forbidden.includes(hit.entry.id);

/** Critical catalogue permissions (and those a policy forbids) are denied for every ServiceAccount unless a policy exempts it. */
const criticalPermissions: Check<RbacWriteInput> = {
  name: "critical-permissions",
  run: (input) =>
    input.changes.flatMap((change) =>
      ownNewHits(input, change)
        .filter((hit) => isForbidden(input, hit))
        .map((hit) => {
          const ceiling =
            hit.entry.severity === "critical"
              ? "The escalation catalogue forbids this for every ServiceAccount."
              : `NHIPolicy ${input.policy.sources.join(", ")} forbids this for every ServiceAccount.`;
          const f = hitFinding(input, change, hit, "deny", ceiling);
          return isGroup(change)
            ? { ...f, fix: `${f.fix}; ${bindGroupFix(change.group)}` }
            : {
                ...f,
                fix: `${f.fix}; if ${f.identity} truly needs it, add an NHIPolicy exemption naming it and rule ${hit.entry.id}, with a reason`,
              };
        }),
    ),
};

/** A governed identity may not hold anything its NHI's scopes do not cover. */
const scopeExceeded: Check<RbacWriteInput> = {
  name: "scope-exceeded",
  run: (input) =>
    input.changes.flatMap((change) => {
      // A group has no NHI: no NHI can claim "every ServiceAccount of a namespace".
      const gov = isGroup(change) ? undefined : input.governing(change.serviceAccount);
      if (!gov) return [];
      const identity = identityOf(change);
      return uncoveredGrants(gov.scopes, change.gained).map((u): Finding => {
        const permission = describePermission(u.permission);
        return {
          outcome: gov.enforcement === "Audit" ? "warn" : "deny",
          rule: "scope-exceeded",
          severity: "high",
          object: input.object,
          identity,
          permission,
          message: `${describeObject(input.object)} would give ${identity} "${permission}" through ${describeGrant(u.grant)}, which ${nhiName(gov)} does not declare in spec.scopes (its ceiling).`,
          fix: `remove the permission from ${u.grant.role.kind} ${u.grant.role.namespace ? `${u.grant.role.namespace}/` : ""}${u.grant.role.name}, or widen ${nhiName(gov)} through a reviewed change: add the scope ${suggestScope(u.rule, u.namespace)}`,
        };
      });
    }),
};

/** High catalogue permissions need an NHI that declares them; an unclaimed identity — and a group — has none. */
const unclaimedHighPermissions: Check<RbacWriteInput> = {
  name: "unclaimed-high-permissions",
  run: (input) =>
    input.changes.flatMap((change) => {
      if (!isGroup(change) && input.governing(change.serviceAccount)) return [];
      const ns = namespaceOf(change);
      const mode = modesFor(
        input.policy,
        ns === undefined ? undefined : input.namespaceLabels?.(ns),
      ).unclaimedHighPermissions;
      const outcome = mode === "Enforce" ? "deny" : "warn";
      return ownNewHits(input, change)
        .filter((hit) => !isForbidden(input, hit))
        .map((hit) => {
          if (isGroup(change)) {
            const f = hitFinding(
              input,
              change,
              hit,
              outcome,
              "No NonHumanIdentity can claim a group, so nothing declares that its members may.",
            );
            return {
              ...f,
              fix: `${f.fix}; or ${bindGroupFix(change.group)}, and declare a NonHumanIdentity for each whose scopes include it`,
            };
          }
          const f = hitFinding(
            input,
            change,
            hit,
            outcome,
            "No NonHumanIdentity claims this ServiceAccount, so nothing declares that it may.",
          );
          return {
            ...f,
            fix: `${f.fix}; or declare a NonHumanIdentity for ${change.serviceAccount.namespace}/${change.serviceAccount.name} whose scopes include it`,
          };
        });
    }),
};

/** Binding a role to a group of people or to everyone gives power no NHI declares. */
const dangerousGroupSubject: Check<RbacWriteInput> = {
  name: "dangerous-group-subject",
  run: (input) => {
    const b = input.binding;
    if (!b || (b.roleRef.kind === "ClusterRole" && DISCOVERY_ROLES.has(b.roleRef.name))) return [];
    return (b.subjects ?? []).flatMap((s) => {
      const who =
        s.kind === "Group"
          ? DANGEROUS_GROUPS.get(s.name)
          : s.kind === "User"
            ? DANGEROUS_USERS.get(s.name)
            : undefined;
      if (who === undefined) return [];
      const subject = `${s.kind === "Group" ? "group" : "user"} ${s.name}`;
      return [
        {
          outcome: "deny",
          rule: "binding-dangerous-group",
          severity: "critical",
          object: input.object,
          identity: s.kind === "Group" ? `group:${s.name}` : s.name,
          permission: `${b.roleRef.kind} ${b.roleRef.name}`,
          message: `${describeObject(input.object)} binds ${b.roleRef.kind} ${b.roleRef.name} to ${subject} (${who}).`,
          fix: `bind the role to the specific ServiceAccounts that need it instead of ${subject}`,
        } satisfies Finding,
      ];
    });
  },
};

/** The role a binding's roleRef names: a RoleBinding's Role is in its own namespace; a ClusterRoleBinding can name only a ClusterRole. */
export function boundRole(b: RoleBinding | ClusterRoleBinding): RoleObjectRef {
  return b.roleRef.kind === "Role"
    ? { kind: "Role", namespace: b.metadata.namespace ?? "", name: b.roleRef.name }
    : { kind: "ClusterRole", name: b.roleRef.name };
}

/**
 * A binding to a role that exists nowhere grants nothing now, and everything that role will hold
 * once someone creates it: nothing about it can be judged, so say so instead of passing silently.
 * A warning, not a denial: a chart may bind a role another chart creates.
 */
const unresolvedRoleRef: Check<RbacWriteInput> = {
  name: "unresolved-role-ref",
  run: (input) => {
    const b = input.binding;
    const lookup = input.roles;
    if (!b || !lookup) return [];
    const ref = boundRole(b);
    const invalid = b.kind === "ClusterRoleBinding" && ref.kind === "Role";
    if (!invalid && lookup.exists(ref)) return [];
    const role = describeObject(ref);
    const subjects = (b.subjects ?? []).map(
      (s) => `${s.kind} ${s.namespace ? `${s.namespace}/` : ""}${s.name}`,
    );
    const given = subjects.length > 0 ? subjects.join(", ") : "no subject";
    return [
      {
        outcome: "warn",
        rule: "unresolved-role-ref",
        severity: "medium",
        object: input.object,
        permission: role,
        message: invalid
          ? `${describeObject(input.object)} references Role ${b.roleRef.name}, but a ClusterRoleBinding can only reference a ClusterRole: the API server rejects it, and its permissions are unknown.`
          : `${describeObject(input.object)} binds ${role} to ${given}, but the permissions of ${role} are unknown: it is defined nowhere in ${lookup.searched}, nor is it one of Kubernetes' ${BUILTIN_KUBERNETES_VERSION} default roles. Whatever it holds once created, ${subjects.length === 1 ? "that subject gets" : "these subjects get"}.`,
        fix: invalid
          ? `reference a ClusterRole, or use a RoleBinding in the Role's namespace`
          : `check the roleRef name for a typo, or add the ${ref.kind} to what is checked so its permissions can be judged; if another chart or operator creates it, review that definition before granting it${lookup.hint ? `; ${lookup.hint}` : ""}`,
      },
    ];
  },
};

export const RBAC_WRITE_CHECKS: readonly Check<RbacWriteInput>[] = [
  dangerousGroupSubject,
  unresolvedRoleRef,
  criticalPermissions,
  scopeExceeded,
  unclaimedHighPermissions,
];

/**
 * Gathers, from the current index, what `change` would give each affected holder: the member groups
 * its bindings name (first: their findings stand for every member) and each known ServiceAccount.
 */
export function identityChanges(
  index: EffectivePermissionIndex,
  change: RbacChange,
): IdentityChange[] {
  const gains = index.whatIfHolders(change);
  const groups = [...gains.groups].flatMap(([name, gained]): GroupChange[] => {
    const group = memberGroup(name);
    return group ? [{ group, before: index.grantsOfGroup(name), gained }] : [];
  });
  const accounts = [...gains.serviceAccounts].map(([key, gained]): ServiceAccountChange => {
    const slash = key.indexOf("/");
    const serviceAccount = { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
    return { serviceAccount, before: index.grantsOf(serviceAccount), gained };
  });
  return [...groups, ...accounts];
}

export function decideRbacWrite(input: RbacWriteInput): Decision {
  return runChain(RBAC_WRITE_CHECKS, input, input.policy);
}
