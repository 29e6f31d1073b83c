// `nhictl check`: judge a set of manifests with the decisions the webhook makes (core/policy).
//
// How a manifest set is judged. The manifests are the desired state of the objects they contain;
// the live cluster (--cluster) supplies everything else (the "base"). RBAC is judged per binding:
// every binding in the manifests is a write, and what it gives each ServiceAccount is judged
// against what that account already holds in the base, with decideRbacWrite — the webhook's own
// chain. A finding therefore points at the binding that grants the permission (the Role that
// defines it is a related location); a permission granted by two bindings is reported at both,
// since removing either alone would not fix it. A base binding whose role the manifests widen (or
// feed through aggregation) is judged the same way and reported at the manifest role. Catalogue
// entries that need two permissions from different bindings (CSR approval) are found by a second
// pass over each account's combined gains. Workloads and token Secrets go through decideWorkload
// and decideSecretWrite; NHIs and NHIPolicies through decideNHIWrite / decideNHIPolicyWrite.
import { addsCapability, transitiveEscalationFindings } from "../core/graph/escalation.js";
import { IdentityGraph } from "../core/graph/graph.js";
import { catalogueHits } from "../core/policy/catalogue-hits.js";
import { decideNHIPolicyWrite, decideNHIWrite, scopeGrants } from "../core/policy/nhi-write.js";
import {
  decideRbacWrite,
  grantsOfHolder,
  holderIdentity,
  holdersOf,
  widerGroupsOf,
  type Holder,
  type IdentityChange,
  type RoleLookup,
} from "../core/policy/rbac-write.js";
import { groupIdentity } from "../core/rbac/groups.js";
import { CLI_DEFAULTS, resolvePolicy, type EffectivePolicy } from "../core/policy/settings.js";
import { foldFindings } from "../core/policy/chain.js";
import { unclaimedServiceAccounts } from "../core/policy/unclaimed.js";
import type { Decision, Severity, Violation } from "../core/policy/types.js";
import { decideWorkload, type ClusterLookups } from "../core/policy/workload.js";
import { decideSecretWrite } from "../core/policy/token.js";
import type { NHIValidator } from "../core/nhi/validate.js";
import type { NHIPolicy, NonHumanIdentity } from "../core/nhi/types.js";
import { uncoveredRules } from "../core/rbac/coverage.js";
import { bindingKeyOf, type EffectivePermissionIndex } from "../core/rbac/effective.js";
import type { ClusterRole, ClusterRoleBinding, Grant, RoleBinding } from "../core/rbac/types.js";
import { selectorMatches } from "../core/labels.js";
import {
  emptySnapshot,
  identityDirectory,
  indexSnapshot,
  overlaySnapshot,
  snapshotWithout,
  type ClusterSnapshot,
  type IdentityDirectory,
} from "../core/snapshot.js";
import { podTemplateOf, serviceAccountOf } from "../core/workloads/pod-template.js";
import type { Location } from "./load.js";
import {
  definedBy,
  locationOf,
  refKey,
  type ManifestObject,
  type ManifestSet,
} from "./snapshot.js";

/** A finding as the CLI reports it: the core's Violation plus where to fix it. */
export interface CliFinding extends Violation {
  /** The manifest location of the object; absent when the object comes from the cluster. */
  location?: Location;
  /** Other places involved (the Role that defines a permission a binding grants, a second binding). */
  related: { location: Location; message: string }[];
  /** Every permission of the finding: the core reports one finding per atomic permission, the CLI folds them per object, identity and rule. */
  permissions: string[];
}

export interface CheckReport {
  violations: CliFinding[];
  warnings: CliFinding[];
  /** Objects judged, files read. */
  objects: number;
  files: string[];
  policySources: string[];
}

export interface CheckOptions {
  /** NHIPolicies from --policy. */
  policies: NHIPolicy[];
  /** Unclaimed ServiceAccounts fail the check (requireClaim: Enforce) instead of warning. */
  strict: boolean;
  now: Date;
  /** The live cluster's state (--cluster); objects the manifests also define are replaced by theirs. */
  cluster?: ClusterSnapshot;
}

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3 };
const RBAC_BINDING = new Set(["RoleBinding", "ClusterRoleBinding"]);

/** Everything the checks look up, over the merged state. */
export interface Judged {
  merged: ClusterSnapshot;
  /** The effective permissions of the merged state (lookups.index, with its full interface). */
  index: EffectivePermissionIndex;
  policy: EffectivePolicy;
  directory: IdentityDirectory;
  lookups: ClusterLookups;
}

export function prepare(set: ManifestSet, options: CheckOptions): Judged {
  const merged = overlaySnapshot(options.cluster ?? emptySnapshot(), set.snapshot, definedBy(set));
  let policy = resolvePolicy([...options.policies, ...merged.policies], CLI_DEFAULTS, options.now);
  if (options.strict) policy = { ...policy, requireClaim: "Enforce" };
  const directory = identityDirectory(merged.nhis);
  const index = indexSnapshot(merged);
  const nsLabels = new Map(
    merged.namespaces.map((n) => [n.metadata.name, n.metadata.labels ?? {}]),
  );
  const sas = new Map(
    merged.serviceAccounts.map((s) => [
      `${s.metadata.namespace ?? "default"}/${s.metadata.name}`,
      s,
    ]),
  );
  const secretTypes = new Map(
    merged.secrets.map((s) => [`${s.metadata.namespace ?? "default"}/${s.metadata.name}`, s.type]),
  );
  const lookups: ClusterLookups = {
    index,
    directory,
    serviceAccount: (ns, name) => sas.get(`${ns}/${name}`),
    secretType: (ns, name) => secretTypes.get(`${ns}/${name}`),
    namespaceLabels: (ns) => nsLabels.get(ns),
  };
  return { merged, index, policy, directory, lookups };
}

// ---------------------------------------------------------------------------------------------

class Collector {
  readonly violations: CliFinding[] = [];
  readonly warnings: CliFinding[] = [];
  private readonly seen = new Set<string>();

  add(decision: Decision, at: (v: Violation) => Pick<CliFinding, "location" | "related">): void {
    for (const v of decision.violations) this.push(this.violations, v, at);
    for (const w of decision.warnings) this.push(this.warnings, w, at);
  }

  has(rule: string, identity: string | undefined): boolean {
    return (
      this.violations.some((v) => v.rule === rule && v.identity === identity) ||
      this.warnings.some((v) => v.rule === rule && v.identity === identity)
    );
  }

  private push(
    into: CliFinding[],
    v: Violation,
    at: (v: Violation) => Pick<CliFinding, "location" | "related">,
  ): void {
    const where = at(v);
    const key = JSON.stringify([
      v.rule,
      v.object.kind,
      v.object.namespace,
      v.object.name,
      v.identity,
      v.permission,
      v.message,
    ]);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    into.push({ ...v, ...where, permissions: v.permission ? [v.permission] : [] });
  }
}

/** The RBAC pass: every binding the manifests add or change, judged as a write. */
function checkRbac(
  set: ManifestSet,
  judged: Judged,
  cluster: ClusterSnapshot | undefined,
  out: Collector,
): void {
  const { merged, policy, directory, lookups } = judged;
  const full = judged.index;
  const base = cluster ? indexSnapshot(snapshotWithout(cluster, definedBy(set))) : undefined;
  // Group subjects (system:serviceaccounts:<ns>) expand to known accounts: make every account a
  // workload runs as, or an NHI governs, known too.
  for (const w of merged.workloads) {
    const t = podTemplateOf(w);
    if (t)
      full.addServiceAccount({
        namespace: w.metadata.namespace ?? "default",
        name: serviceAccountOf(t.spec),
      });
  }
  for (const n of merged.nhis)
    full.addServiceAccount({
      namespace: n.metadata.namespace ?? "default",
      name: n.spec.serviceAccountName,
    });

  interface Write {
    object: ManifestObject | undefined;
    binding?: RoleBinding | ClusterRoleBinding;
    ref: { kind: string; namespace?: string; name: string };
    changes: Map<string, IdentityChange>;
    related: CliFinding["related"];
  }
  const writes = new Map<string, Write>();
  const manifestBinding = (g: Grant): ManifestObject | undefined => set.locate(g.binding);
  const roleRelated = (role: {
    kind: string;
    namespace?: string;
    name: string;
  }): CliFinding["related"] => {
    const r = set.locate(role);
    return r
      ? [
          {
            location: r.location,
            message: `${role.kind} ${role.namespace ? `${role.namespace}/` : ""}${role.name} defines the permissions`,
          },
        ]
      : [];
  };
  // Every manifest binding is a write, also when it reaches no known account (its group subjects are judged).
  for (const m of set.objects) {
    if (!RBAC_BINDING.has(m.ref.kind) || m.ref.apiVersion !== "rbac.authorization.k8s.io/v1")
      continue;
    const b = m.obj as unknown as RoleBinding | ClusterRoleBinding;
    writes.set(refKey(m.ref), {
      object: m,
      binding: b,
      ref: m.ref,
      changes: new Map(),
      related: roleRelated({
        kind: b.roleRef.kind,
        namespace: b.roleRef.kind === "Role" ? m.ref.namespace : undefined,
        name: b.roleRef.name,
      }),
    });
  }
  /** Combined gains per holder, for catalogue entries that need several bindings. */
  const combined = new Map<string, { holder: Holder; before: Grant[]; gained: Grant[] }>();

  // Every holder: the member groups bindings name (each stands for all its members, present and
  // future, whether or not any is in the manifests) and every known account.
  for (const holder of holdersOf(full)) {
    const grants = grantsOfHolder(full, holder);
    if (grants.length === 0) continue;
    const before = base ? grantsOfHolder(base, holder) : [];
    const beforeByBinding = new Map(before.map((g) => [bindingKeyOf(g.binding), g]));
    for (const g of grants) {
      const bm = manifestBinding(g);
      let gained: Grant;
      let key: string;
      if (bm) {
        gained = g;
        key = refKey(bm.ref);
      } else {
        // A base binding: only what the manifests add to its role counts, reported at the manifest role.
        const old = beforeByBinding.get(bindingKeyOf(g.binding));
        const delta = old ? uncoveredRules(old.rules, g.rules) : g.rules;
        if (delta.length === 0) continue;
        gained = { ...g, rules: delta };
        const roleObj =
          set.locate(g.role) ?? feedingClusterRole(set, full.clusterRole(g.role.name), g);
        key = roleObj ? refKey(roleObj.ref) : bindingKeyOf(g.binding);
        if (!writes.has(key)) {
          writes.set(key, {
            object: roleObj,
            ref: roleObj?.ref ?? {
              kind: g.binding.kind,
              namespace: g.binding.namespace,
              name: g.binding.name,
            },
            changes: new Map(),
            related: [],
          });
        }
      }
      const w = writes.get(key);
      if (!w) continue;
      const k = holderIdentity(holder);
      const change: IdentityChange = w.changes.get(k) ?? { ...holder, before, gained: [] };
      change.gained.push(gained);
      w.changes.set(k, change);
      const c = combined.get(k) ?? { holder, before, gained: [] };
      c.gained.push(gained);
      combined.set(k, c);
    }
  }

  const namespaceLabels = lookups.namespaceLabels;
  // Roles a manifest binding may name: the manifests', the cluster's (--cluster) and Kubernetes' defaults.
  const roles: RoleLookup = cluster
    ? { exists: (ref) => full.rulesOf(ref) !== undefined, searched: "the manifests or the cluster" }
    : {
        exists: (ref) => full.rulesOf(ref) !== undefined,
        searched: "the manifests",
        hint: "if the cluster already has it, run nhictl check with --cluster",
      };
  // The identity graph before (the cluster without the manifests' objects) and after (merged), built
  // only when some write adds a capability: the attack paths each write opens (transitive-escalation).
  let graphs: { before: IdentityGraph; after: IdentityGraph } | undefined;
  const graphsNow = (): { before: IdentityGraph; after: IdentityGraph } => {
    const baseSnapshot = cluster ? snapshotWithout(cluster, definedBy(set)) : emptySnapshot();
    graphs ??= {
      before: IdentityGraph.fromSnapshot(baseSnapshot, base ?? indexSnapshot(baseSnapshot)),
      after: IdentityGraph.fromSnapshot(merged, full),
    };
    return graphs;
  };
  for (const w of writes.values()) {
    const changes = [...w.changes.values()];
    const decision = decideRbacWrite({
      object: w.ref,
      ...(w.binding ? { binding: w.binding } : {}),
      changes,
      governing: directory.governing,
      policy,
      namespaceLabels,
      roles,
    });
    const where = (): Pick<CliFinding, "location" | "related"> => ({
      ...(w.object ? { location: w.object.location } : {}),
      related: w.related,
    });
    out.add(decision, where);
    if (!addsCapability(changes)) continue;
    const { before, after } = graphsNow();
    const paths = transitiveEscalationFindings({
      graph: before,
      after,
      changes,
      governing: directory.governing,
      object: w.ref,
      mode: policy.transitiveEscalation,
    });
    if (paths.length > 0) out.add(foldFindings(paths, policy), where);
  }

  // Second pass: catalogue entries reached only by the combination of several writes.
  for (const c of combined.values()) {
    if (c.gained.length < 2) continue;
    const hits = catalogueHits(c.gained);
    const identity = holderIdentity(c.holder);
    // Not again for a member when a group that contains it reported the same entry (groups come first).
    const reporters = [identity, ...widerGroupsOf(c.holder).map(groupIdentity)];
    const fresh = hits.filter(
      (h) => h.grants.length > 1 && !reporters.some((who) => out.has(h.entry.id, who)),
    );
    if (fresh.length === 0) continue;
    const wanted = new Set(fresh.map((h) => h.entry.id));
    const firstGrant = fresh[0]?.grants[0];
    if (!firstGrant) continue;
    const primary = set.locate(firstGrant.binding);
    const decision = decideRbacWrite({
      object: primary?.ref ?? {
        kind: firstGrant.binding.kind,
        namespace: firstGrant.binding.namespace,
        name: firstGrant.binding.name,
      },
      changes: [{ ...c.holder, before: c.before, gained: c.gained }],
      governing: directory.governing,
      policy,
      namespaceLabels,
    });
    const keepOnly = (vs: Violation[]): Violation[] =>
      vs.filter((v) => wanted.has(v.rule) && v.identity === identity);
    const others = fresh
      .flatMap((h) => h.grants.slice(1))
      .map((g) => set.locate(g.binding))
      .filter((m): m is ManifestObject => m !== undefined);
    out.add(
      {
        allowed: false,
        violations: keepOnly(decision.violations),
        warnings: keepOnly(decision.warnings),
      },
      () => ({
        ...(primary ? { location: primary.location } : {}),
        related: others.map((m) => ({
          location: m.location,
          message: `${m.ref.kind} ${m.ref.namespace ? `${m.ref.namespace}/` : ""}${m.ref.name} grants the other part`,
        })),
      }),
    );
  }
}

/** A manifest ClusterRole that feeds (through its labels) the aggregated ClusterRole a grant comes from. */
function feedingClusterRole(
  set: ManifestSet,
  aggregated: ClusterRole | undefined,
  g: Grant,
): ManifestObject | undefined {
  const selectors = aggregated?.aggregationRule?.clusterRoleSelectors ?? [];
  if (g.role.kind !== "ClusterRole" || selectors.length === 0) return undefined;
  return set.objects.find(
    (m) =>
      m.ref.kind === "ClusterRole" &&
      selectors.some((s) =>
        selectorMatches(s, (m.obj.metadata as { labels?: Record<string, string> }).labels ?? {}),
      ),
  );
}

/** A finding's field path, from the core's "<Kind> ns/name is invalid: <path>: <message>". */
function invalidPath(message: string): string | undefined {
  const m = / is invalid: (\S+?): /.exec(message);
  return m?.[1] === "(object)" ? "" : m?.[1];
}

/** The first scope that reaches the catalogue entry titled `title` on its own, for the finding's line. */
function scopeIndexOf(nhi: NonHumanIdentity, title: string | undefined): number | undefined {
  const scopes = nhi.spec.scopes ?? [];
  const i = scopes.findIndex((s) =>
    catalogueHits(scopeGrants([s])).some((h) => h.entry.title === title),
  );
  return i < 0 ? undefined : i;
}

/**
 * NonHumanIdentities and NHIPolicies in the manifests, written as the webhook judges them
 * (decideNHIWrite: schema, semantics, critical scopes; decideNHIPolicyWrite). With --cluster the
 * live object is the old one, so the widening rules (change requests) apply as in the cluster.
 */
function checkGovernanceObjects(
  set: ManifestSet,
  judged: Judged,
  options: CheckOptions,
  validator: NHIValidator,
  out: Collector,
): void {
  const live = (kind: string, ns: string | undefined, name: string): unknown => {
    const xs: { metadata: { namespace?: string; name: string } }[] =
      kind === "NonHumanIdentity"
        ? (options.cluster?.nhis ?? [])
        : (options.cluster?.policies ?? []);
    return xs.find((x) => x.metadata.name === name && x.metadata.namespace === ns);
  };
  for (const m of set.objects) {
    if (m.ref.apiVersion !== "nhi.io/v1alpha1") continue;
    const old = live(m.ref.kind, m.ref.namespace, m.ref.name);
    const common = {
      object: m.obj,
      validator,
      policy: judged.policy,
      now: options.now,
      ...(old !== undefined ? { oldObject: old } : {}),
    };
    const decision =
      m.ref.kind === "NonHumanIdentity"
        ? decideNHIWrite({ ...common, ...(m.ref.namespace ? { namespace: m.ref.namespace } : {}) })
        : decideNHIPolicyWrite(common);
    const parsed =
      m.ref.kind === "NonHumanIdentity"
        ? set.snapshot.nhis.find(
            (n) => n.metadata.name === m.ref.name && n.metadata.namespace === m.ref.namespace,
          )
        : undefined;
    out.add(decision, (v) => {
      let path: string | undefined;
      if (v.rule.endsWith("-invalid")) path = invalidPath(v.message);
      else if (v.rule === "nhi-critical-scope" && parsed) {
        const i = scopeIndexOf(parsed, v.permission);
        path = i === undefined ? "spec.scopes" : `spec.scopes[${i}]`;
      }
      return { location: locationOf(m, path), related: [] };
    });
  }
}

function checkWorkloadsAndSecrets(
  set: ManifestSet,
  judged: Judged,
  options: CheckOptions,
  out: Collector,
): void {
  const { policy, lookups } = judged;
  const runsAs = new Set<string>();
  for (const w of set.snapshot.workloads) {
    const ns = w.metadata.namespace ?? "default";
    const m = set.locate({ kind: w.kind, namespace: ns, name: w.metadata.name });
    const t = podTemplateOf(w);
    if (t) runsAs.add(`${ns}/${serviceAccountOf(t.spec)}`);
    const decision = decideWorkload({
      ...lookups,
      object: w,
      namespace: ns,
      policy,
      now: options.now,
    });
    // Point at the pod's serviceAccountName (or the deepest part of the template path that exists).
    const templatePath = t ? t.path.replace(/^\$\.?/, "") : "";
    const field = `${templatePath === "" ? "" : `${templatePath}.`}spec.serviceAccountName`;
    out.add(decision, () => ({ ...(m ? { location: locationOf(m, field) } : {}), related: [] }));
  }
  for (const s of set.snapshot.secrets) {
    const ns = s.metadata.namespace ?? "default";
    const m = set.locate({ kind: "Secret", namespace: ns, name: s.metadata.name });
    const decision = decideSecretWrite({
      secret: s,
      namespace: ns,
      directory: judged.directory,
      namespaceLabels: lookups.namespaceLabels,
      policy,
    });
    out.add(decision, () => ({ ...(m ? { location: m.location } : {}), related: [] }));
  }
  for (const f of unclaimedServiceAccounts({
    accounts: set.snapshot.serviceAccounts,
    runsAs,
    directory: judged.directory,
    policy,
  })) {
    const m = set.locate(f.object);
    if (!m) continue;
    out.add(foldFindings([{ ...f, object: m.ref }], policy), () => ({
      location: m.location,
      related: [],
    }));
  }
}

function checkDuplicates(set: ManifestSet, out: Collector, policy: EffectivePolicy): void {
  for (const { first, again } of set.duplicates) {
    const name = `${again.ref.kind} ${again.ref.namespace ? `${again.ref.namespace}/` : ""}${again.ref.name}`;
    out.add(
      foldFindings(
        [
          {
            outcome: "warn",
            rule: "duplicate-object",
            severity: "low",
            object: again.ref,
            message: `${name} is defined twice; the later definition replaces the earlier one (as a second kubectl apply would), and only it is judged.`,
            fix: "keep one definition of the object",
          },
        ],
        policy,
      ),
      () => ({
        location: again.location,
        related: [{ location: first.location, message: "first definition" }],
      }),
    );
  }
}

/**
 * One finding per object, identity and rule: a Role that grants ten verbs beyond an NHI's scopes is
 * one thing to fix, not ten. The first message stands for the group; the permissions are listed.
 */
function fold(findings: CliFinding[]): CliFinding[] {
  const groups = new Map<string, CliFinding>();
  for (const f of findings) {
    const key = JSON.stringify([
      f.rule,
      f.object.kind,
      f.object.namespace,
      f.object.name,
      f.identity,
      f.location?.file,
      f.location?.line,
    ]);
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { ...f, permissions: [...f.permissions] });
      continue;
    }
    for (const p of f.permissions) if (!g.permissions.includes(p)) g.permissions.push(p);
  }
  return [...groups.values()].map((g) => {
    if (g.permissions.length <= 1) return g;
    const shown = g.permissions.slice(0, 8).join("; ");
    const more = g.permissions.length > 8 ? `; and ${g.permissions.length - 8} more` : "";
    return {
      ...g,
      message: `${g.message} In all ${g.permissions.length} permissions: ${shown}${more}.`,
    };
  });
}

const bySeverityThenPlace = (a: CliFinding, b: CliFinding): number =>
  SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
  (a.location?.file ?? "~").localeCompare(b.location?.file ?? "~") ||
  (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
  a.rule.localeCompare(b.rule);

export function runCheck(
  set: ManifestSet,
  files: string[],
  options: CheckOptions,
  validator: NHIValidator,
): CheckReport {
  const judged = prepare(set, options);
  const out = new Collector();
  checkGovernanceObjects(set, judged, options, validator, out);
  checkRbac(set, judged, options.cluster, out);
  checkWorkloadsAndSecrets(set, judged, options, out);
  checkDuplicates(set, out, judged.policy);
  return {
    violations: fold(out.violations).sort(bySeverityThenPlace),
    warnings: fold(out.warnings).sort(bySeverityThenPlace),
    objects: set.objects.length,
    files,
    policySources: judged.policy.sources,
  };
}
