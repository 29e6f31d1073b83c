// `nhictl check`: judge a set of manifests with the decisions the webhook makes (core/policy).
//
// How a manifest set is judged. The manifests are the desired state of the objects they contain;
// the live cluster (--cluster) supplies everything else (the "base"). RBAC is judged per binding by
// core/policy/rbac-writes.ts judgeRbacWrites ("judge these writes", over the webhook's own
// decideRbacWrite chain); this file points its findings at manifest locations: the binding that
// grants a permission, the Role that defines it as a related location, the other binding of a
// finding that needs two. Workloads and token Secrets go through decideWorkload and
// decideSecretWrite; NHIs and NHIPolicies through decideNHIWrite / decideNHIPolicyWrite.
import { addsCapability, transitiveEscalationFindings } from "../core/graph/escalation.js";
import { IdentityGraph } from "../core/graph/graph.js";
import { catalogueHits } from "../core/policy/catalogue-hits.js";
import { decideNHIPolicyWrite, decideNHIWrite, scopeGrants } from "../core/policy/nhi-write.js";
import {
  CLI_DEFAULTS,
  transitiveEscalationFor,
  resolvePolicy,
  type EffectivePolicy,
} from "../core/policy/settings.js";
import { foldFindings } from "../core/policy/chain.js";
import { unclaimedServiceAccounts } from "../core/policy/unclaimed.js";
import { judgeRbacWrites } from "../core/policy/rbac-writes.js";
import type { Decision, Severity, Violation } from "../core/policy/types.js";
import { decideWorkload, type ClusterLookups } from "../core/policy/workload.js";
import { decideSecretWrite } from "../core/policy/token.js";
import type { NHIValidator } from "../core/nhi/validation.js";
import type { NHIPolicy, NonHumanIdentity } from "../core/nhi/types.js";
import type { EffectivePermissionIndex } from "../core/rbac/effective.js";
import type { RoleObjectRef } from "../core/rbac/types.js";
import {
  emptySnapshot,
  identityDirectory,
  indexSnapshot,
  overlaySnapshot,
  secretLookups,
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
  const secrets = secretLookups(merged.secrets);
  const lookups: ClusterLookups = {
    index,
    directory,
    serviceAccount: (ns, name) => sas.get(`${ns}/${name}`),
    secretType: secrets.secretType,
    tokenSecretAccount: secrets.tokenSecretAccount,
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

/** The RBAC pass: every binding the manifests add or change, judged as a write (core judgeRbacWrites). */
function checkRbac(
  set: ManifestSet,
  judged: Judged,
  cluster: ClusterSnapshot | undefined,
  out: Collector,
): void {
  const { merged, policy, directory, lookups } = judged;
  const after = judged.index;
  // Group subjects (system:serviceaccounts:<ns>) expand to known accounts: make every account a
  // workload runs as, or an NHI governs, known too.
  for (const w of merged.workloads) {
    const t = podTemplateOf(w);
    if (t)
      after.addServiceAccount({
        namespace: w.metadata.namespace ?? "default",
        name: serviceAccountOf(t.spec),
      });
  }
  for (const n of merged.nhis)
    after.addServiceAccount({
      namespace: n.metadata.namespace ?? "default",
      name: n.spec.serviceAccountName,
    });

  const exists = (ref: RoleObjectRef): boolean => after.rulesOf(ref) !== undefined;
  const baseSnapshot = cluster ? snapshotWithout(cluster, definedBy(set)) : undefined;
  const before = baseSnapshot ? indexSnapshot(baseSnapshot) : undefined;
  const judgedWrites = judgeRbacWrites({
    written: set.objects,
    after,
    ...(before ? { before } : {}),
    governing: directory.governing,
    policy,
    namespaceLabels: lookups.namespaceLabels,
    // Roles a manifest binding may name: the manifests', the cluster's (--cluster) and Kubernetes' defaults.
    roles: cluster
      ? { exists, searched: "the manifests or the cluster" }
      : {
          exists,
          searched: "the manifests",
          hint: "if the cluster already has it, run nhictl check with --cluster",
        },
    reported: (rule, identity) => out.has(rule, identity),
  });
  const named = (ref: Pick<ManifestObject["ref"], "kind" | "namespace" | "name">): string =>
    `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
  let graphs: { before: IdentityGraph; after: IdentityGraph } | undefined;
  for (const j of judgedWrites) {
    const at = set.locate(j.at);
    const role = j.definedBy ? set.locate(j.definedBy) : undefined;
    const related: CliFinding["related"] = [
      ...(role && j.definedBy
        ? [{ location: role.location, message: `${named(j.definedBy)} defines the permissions` }]
        : []),
      ...j.alsoGrantedBy.flatMap((ref) => {
        const m = set.locate(ref);
        return m
          ? [{ location: m.location, message: `${named(m.ref)} grants the other part` }]
          : [];
      }),
    ];
    const where = (): Pick<CliFinding, "location" | "related"> => ({
      ...(at ? { location: at.location } : {}),
      related,
    });
    out.add(j.decision, where);
    // The attack paths the write opens (transitive-escalation), over the identity graph before (the
    // cluster without the manifests' objects) and after (merged); built only when a write adds a capability.
    if (!addsCapability(j.changes)) continue;
    graphs ??= {
      before: IdentityGraph.fromSnapshot(
        baseSnapshot ?? emptySnapshot(),
        before ?? indexSnapshot(emptySnapshot()),
      ),
      after: IdentityGraph.fromSnapshot(merged, after),
    };
    const paths = transitiveEscalationFindings({
      graph: graphs.before,
      after: graphs.after,
      changes: j.changes,
      governing: directory.governing,
      object: j.at,
      mode: policy.transitiveEscalation,
      modeIn: (ns) => transitiveEscalationFor(policy, lookups.namespaceLabels(ns)),
    });
    if (paths.length > 0) out.add(foldFindings(paths, policy), where);
  }
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
  // Looked up by kind, namespace and name (a scan per object is quadratic on a large set); the
  // first of equal keys, as a scan finds it.
  const byName = (
    kind: string,
    xs: readonly { metadata: { namespace?: string; name: string } }[],
  ): Map<string, unknown> => {
    const m = new Map<string, unknown>();
    for (const x of xs) {
      const key = refKey({ kind, namespace: x.metadata.namespace, name: x.metadata.name });
      if (!m.has(key)) m.set(key, x);
    }
    return m;
  };
  const liveObjects = new Map([
    ...byName("NonHumanIdentity", options.cluster?.nhis ?? []),
    ...byName("NHIPolicy", options.cluster?.policies ?? []),
  ]);
  const parsedNhis = byName("NonHumanIdentity", set.snapshot.nhis) as Map<string, NonHumanIdentity>;
  const live = (kind: string, ns: string | undefined, name: string): unknown =>
    liveObjects.get(refKey({ kind, namespace: ns, name }));
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
    const parsed = m.ref.kind === "NonHumanIdentity" ? parsedNhis.get(refKey(m.ref)) : undefined;
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
      tokenSecretAccount: lookups.tokenSecretAccount,
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
