// What a person adopting manifests they did not write (a third-party chart) needs from a check's
// findings: a digest per identity (its critical/high permissions and every object that grants
// each), the findings with repeats of one identity+permission folded together, and an NHIPolicy
// whose exemptions accept exactly the rules found for exactly the ServiceAccounts found, with an
// expiry so the acceptance is reviewed again. Pure: callers render it (cli/format.ts).
import type { NHIPolicy, PolicyExemption } from "../nhi/types.js";
import { NHI_API_VERSION } from "../nhi/types.js";
import { describeObject } from "./describe.js";
import { ADMISSION_RULE_IDS } from "./nhi-write.js";
import { parseServiceAccountIdentity } from "./settings.js";
import { GROUP_NAMESPACE_SERVICE_ACCOUNTS_PREFIX, parseGroupIdentity } from "../rbac/groups.js";
import type { ObjectRef, Severity } from "./types.js";

/** The parts of a finding these functions read (the core's Violation with the CLI's permission list fits). */
export interface DigestFinding {
  rule: string;
  severity: Severity;
  /** Any subject string: "system:serviceaccount:ns:name", a group, whatever the finding names. */
  identity?: string;
  object: ObjectRef;
  permissions: readonly string[];
  /** False for a finding that only warns; default true. */
  denied?: boolean;
}

export interface PermissionDigest {
  /** The worst severity any finding gave this permission. */
  severity: Severity;
  /** "get secrets cluster-wide"; the rule id when the finding names no permission. */
  permission: string;
  rules: string[];
  /** The distinct objects whose findings name the permission (the bindings that grant it), first seen first. */
  grantedBy: ObjectRef[];
  /** Some finding of it denies (a violation), rather than only warning. */
  denied: boolean;
}

export interface IdentityDigest {
  identity: string;
  severity: Severity;
  permissions: PermissionDigest[];
}

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3 };
const worse = (a: Severity, b: Severity): Severity => (SEVERITY_RANK[b] < SEVERITY_RANK[a] ? b : a);
const sameRef = (a: ObjectRef, b: ObjectRef): boolean =>
  a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;

/**
 * Critical and high findings per identity: one entry per permission, with every object that grants
 * it. Identities by worst severity, then name; permissions likewise.
 */
export function identityDigest(findings: readonly DigestFinding[]): IdentityDigest[] {
  return digestOf(findings.filter((f) => SEVERITY_RANK[f.severity] <= SEVERITY_RANK.high));
}

/** Per identity and permission, whatever the severity. */
function digestOf(findings: readonly DigestFinding[]): IdentityDigest[] {
  const byIdentity = new Map<string, Map<string, PermissionDigest>>();
  for (const f of findings) {
    if (f.identity === undefined) continue;
    const perms = byIdentity.get(f.identity) ?? new Map<string, PermissionDigest>();
    byIdentity.set(f.identity, perms);
    for (const permission of f.permissions.length > 0 ? f.permissions : [f.rule]) {
      const d = perms.get(permission) ?? {
        severity: f.severity,
        permission,
        rules: [],
        grantedBy: [],
        denied: false,
      };
      perms.set(permission, d);
      d.severity = worse(d.severity, f.severity);
      d.denied ||= f.denied !== false;
      if (!d.rules.includes(f.rule)) d.rules.push(f.rule);
      if (!d.grantedBy.some((r) => sameRef(r, f.object))) d.grantedBy.push(f.object);
    }
  }
  const bySeverity =
    <T extends { severity: Severity }>(key: (x: T) => string) =>
    (a: T, b: T): number =>
      SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
      (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  return [...byIdentity]
    .map(([identity, perms]): IdentityDigest => {
      const permissions = [...perms.values()].sort(bySeverity((p) => p.permission));
      return {
        identity,
        severity: permissions.reduce<Severity>((s, p) => worse(s, p.severity), "low"),
        permissions,
      };
    })
    .sort(bySeverity((d) => d.identity));
}

export interface FoldedFinding<T> {
  /** The first finding of the group; it stands for all. */
  finding: T;
  /** The other findings of the same identity, rule and permissions (other bindings granting the same). */
  repeats: T[];
}

/**
 * Folds findings of the same identity, rule and permissions into one (a permission granted by five
 * bindings is one thing to decide, with five places to change). Findings without an identity are
 * never folded. Order: first appearance.
 */
export function foldRepeats<T extends DigestFinding>(findings: readonly T[]): FoldedFinding<T>[] {
  const groups = new Map<string, FoldedFinding<T>>();
  const out: FoldedFinding<T>[] = [];
  for (const f of findings) {
    const key =
      f.identity === undefined
        ? undefined
        : JSON.stringify([f.identity, f.rule, [...f.permissions].sort()]);
    const g = key === undefined ? undefined : groups.get(key);
    if (g) {
      g.repeats.push(f);
      continue;
    }
    const fresh: FoldedFinding<T> = { finding: f, repeats: [] };
    if (key !== undefined) groups.set(key, fresh);
    out.push(fresh);
  }
  return out;
}

export interface AdoptionOptions {
  now: Date;
  /** Days until the exemptions lapse (expiresAt); default 90. */
  validForDays?: number;
  /** metadata.name of the policy; default adopt-<namespace> when every identity shares one, else adopt-third-party. */
  name?: string;
}

export interface Adoption<T> {
  /** The NHIPolicy that accepts the covered findings; absent when no finding can be exempted. */
  policy?: NHIPolicy;
  /** Findings not accepted: no identity, a group of every namespace or with people among its members, or a rule an exemption may not name. */
  uncovered: T[];
}

/** The CRD's limits (crds/nhipolicies.nhi.io.yaml): exemptions ≤ 128, rules ≤ 64, reason ≤ 1024. */
const MAX_EXEMPTIONS = 128;
const MAX_RULES = 64;
const MAX_REASON = 1024;
const SERVICE_ACCOUNT_GLOB = /^[-a-z0-9*?]+\/[-.a-z0-9*?]+$/;
const EXEMPTABLE: ReadonlySet<string> = new Set(ADMISSION_RULE_IDS);
const DAY_MS = 86_400_000;

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/**
 * What an exemption names to accept a finding of `identity`: "ns/name" for a ServiceAccount, "ns/*"
 * for the group of every ServiceAccount of one namespace (an exemption covers a group only when it
 * covers every member: core/policy/settings.ts). Undefined for groups of every namespace or with
 * people among their members: those stay findings to fix, not something to paste unread.
 */
function exemptableRef(identity: string): string | undefined {
  const sa = parseServiceAccountIdentity(identity);
  if (sa) return `${sa.namespace}/${sa.name}`;
  const group = parseGroupIdentity(identity);
  const ns = group?.serviceAccountNamespace;
  if (!group || group.users || ns === undefined || ns === "*") return undefined;
  return `${ns}/*`;
}

/**
 * An NHIPolicy with one exemption per ServiceAccount (or namespace's ServiceAccount group) that has denying findings: exactly that
 * account, exactly the rules found for it, the permissions and granting objects in the reason, and
 * an expiry. An exemption cannot be narrower than identity × rule (the CRD has no per-permission
 * field), so the reason records what was accepted for the reviewer.
 */
export function adoptionPolicy<T extends DigestFinding>(
  violations: readonly T[],
  options: AdoptionOptions,
): Adoption<T> {
  const uncovered: T[] = [];
  const byAccount = new Map<string, T[]>();
  for (const v of violations) {
    const ref = v.identity === undefined ? undefined : exemptableRef(v.identity);
    if (ref === undefined || !SERVICE_ACCOUNT_GLOB.test(ref) || !EXEMPTABLE.has(v.rule)) {
      uncovered.push(v);
      continue;
    }
    byAccount.set(ref, [...(byAccount.get(ref) ?? []), v]);
  }
  const accounts = [...byAccount.keys()].sort();
  for (const ref of accounts.slice(MAX_EXEMPTIONS)) uncovered.push(...(byAccount.get(ref) ?? []));
  const kept = accounts.slice(0, MAX_EXEMPTIONS);
  if (kept.length === 0) return { uncovered };

  const expiresAt = new Date(options.now.getTime() + (options.validForDays ?? 90) * DAY_MS)
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z");
  const exemptions = kept.map((ref): PolicyExemption => {
    const found = byAccount.get(ref) ?? [];
    const rules = [...new Set(found.map((f) => f.rule))].sort().slice(0, MAX_RULES);
    const [ns = "", name = ""] = ref.split("/");
    const digest = digestOf(found)[0];
    const accepted = (digest?.permissions ?? []).map(
      (p) => `${p.permission} (${p.grantedBy.map(describeObject).join(", ")})`,
    );
    const who =
      name === "*"
        ? `every ServiceAccount in namespace ${ns} (group ${GROUP_NAMESPACE_SERVICE_ACCOUNTS_PREFIX}${ns})`
        : `ServiceAccount ${ns}/${name}`;
    const reason = clip(
      `Accepted when adopting third-party manifests for ${who}: ${accepted.join("; ")}. Review before it expires.`,
      MAX_REASON,
    );
    return { serviceAccounts: [ref], rules, reason, expiresAt };
  });
  const namespaces = [...new Set(kept.map((r) => r.split("/")[0] ?? ""))];
  const name =
    options.name ??
    (namespaces.length === 1 ? clip(`adopt-${namespaces[0] ?? ""}`, 253) : "adopt-third-party");
  return {
    policy: {
      apiVersion: NHI_API_VERSION,
      kind: "NHIPolicy",
      metadata: {
        name,
        annotations: { "nhi.io/generated-by": "nhictl check --suggest-exemptions" },
      },
      spec: { exemptions },
    },
    uncovered,
  };
}
