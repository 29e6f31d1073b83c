// Runtime detection over audit events: each event is judged against the identity's declaration
// (its NHI: scopes, credentials) and a little bounded state per identity (recent denials and
// Secret reads, tokens minted). Findings are aggregated per identity, rule and subject, with
// first/last seen and a count. Memory is bounded by the options, never by the input's length.
import { parseServiceAccountIdentity } from "../policy/settings.js";
import type { Severity } from "../policy/types.js";
import { controllerOwnerOf } from "../workloads/owner.js";
import { podTemplateOf, serviceAccountOf, WORKLOAD_KINDS } from "../workloads/pod-template.js";
import { isRecord } from "../json.js";
import type { Baseline, NewHabit } from "./baseline.js";
import type { DeclaredIdentity } from "./declarations.js";
export type { DeclaredIdentity } from "./declarations.js";
import type { AuditEvent } from "./event.js";
import {
  clientOf,
  describeRequest,
  grantFromReason,
  isHumanClient,
  permissionOf,
  withinScopes,
} from "./request.js";
import type { RequestPermission } from "./request.js";
import { AUDIT_RULES } from "./rules.js";
import type { AuditCategory, AuditRuleId } from "./rules.js";

/** Told every judged request with its permission (rightsize.ts's UsageRecorder). */
export interface UsageObserver {
  observe(e: AuditEvent, p: RequestPermission): void;
}

/** What detection may ask about the cluster. Pure lookups; the edge fills them. */
export interface AuditContext {
  /** The NHI claiming the ServiceAccount, if any. */
  declaration(namespace: string, serviceAccount: string): DeclaredIdentity | undefined;
  /** A pod's IPs; undefined when unknown (then no token-off-pod judgement is made). */
  podIPs?(namespace: string, pod: string): readonly string[] | undefined;
}

export interface DetectorOptions {
  enumeration: { threshold: number; distinctResources: number; windowSeconds: number };
  secretReads: { threshold: number; windowSeconds: number };
  /** Usernames whose TokenRequests are expected (the operator); kubelets (system:node:*) always are. */
  trustedMinters: readonly string[];
  maxIdentities: number;
  maxFindings: number;
  maxIssuedTokens: number;
  /** Distinct values kept per evidence field. */
  maxEvidence: number;
}

export const DEFAULT_DETECTOR_OPTIONS: DetectorOptions = {
  enumeration: { threshold: 5, distinctResources: 3, windowSeconds: 60 },
  secretReads: { threshold: 3, windowSeconds: 300 },
  trustedMinters: [],
  maxIdentities: 50_000,
  maxFindings: 10_000,
  maxIssuedTokens: 100_000,
  maxEvidence: 20,
};

export interface Evidence {
  verbs: string[];
  resources: string[];
  namespaces: string[];
  codes: number[];
  userAgents: string[];
  sourceIPs: string[];
  /** Bindings the API server named as allowing the requests. */
  grantedBy: string[];
  /** Credential kinds and pods: "pod-bound (pod shop/api-0)", "legacy (Secret api-legacy)". */
  credentials: string[];
}

export interface AuditFinding {
  /** The ServiceAccount's username. */
  identity: string;
  nhi?: string;
  rule: AuditRuleId;
  category: AuditCategory;
  severity: Severity;
  owasp: string[];
  title: string;
  /** The first occurrence, in words. */
  message: string;
  evidence: Evidence;
  firstSeen: string;
  lastSeen: string;
  count: number;
}

interface Hit {
  rule: AuditRuleId;
  /** What makes two hits of one rule the same finding (a permission, a client, a pod). */
  subject: string;
  severity: Severity;
  message: string;
  resources?: string[];
}

interface EvidenceSets {
  verbs: Set<string>;
  resources: Set<string>;
  namespaces: Set<string>;
  codes: Set<number>;
  userAgents: Set<string>;
  sourceIPs: Set<string>;
  grantedBy: Set<string>;
  credentials: Set<string>;
}

interface Aggregate {
  identity: string;
  nhi?: string;
  hit: Hit;
  evidence: EvidenceSets;
  first: number;
  last: number;
  count: number;
}

interface IdentityState {
  /** The ServiceAccount the username names (parsed once). */
  sa: { namespace: string; name: string };
  /** Recent denied requests (time, resource), oldest first, at most a few windows' worth. */
  denied: { time: number; resource: string }[];
  /** Recent Secret reads by name → time. */
  secretReads: Map<string, number>;
  /** The previous event's User-Agent, its client and whether a person runs it (most events repeat it). */
  userAgent?: string;
  client: string;
  human: boolean;
}

interface IssuedToken {
  minter: string;
  serviceAccount: string;
  time: number;
}

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
export const SEVERITIES: readonly Severity[] = ["low", "medium", "high", "critical"];
export const atLeast = (s: Severity, floor: Severity): boolean =>
  SEVERITY_RANK[s] >= SEVERITY_RANK[floor];
const lower = (s: Severity): Severity => SEVERITIES[Math.max(0, SEVERITY_RANK[s] - 1)] ?? s;

const WRITE_VERBS = new Set([
  "create",
  "update",
  "patch",
  "delete",
  "deletecollection",
  "bind",
  "escalate",
]);
const WORKLOAD_RESOURCES = new Map(
  Object.entries(WORKLOAD_KINDS).map(([kind, k]) => [
    `${k.apiVersion.includes("/") ? k.apiVersion.split("/")[0] : ""}/${k.resource}`,
    kind,
  ]),
);
const NODE_PREFIX = "system:node:";

const resourceName = (e: AuditEvent): string => {
  const r = e.objectRef;
  if (!r) return e.requestURI.split("?")[0] ?? "";
  const base = r.apiGroup ? `${r.resource}.${r.apiGroup}` : r.resource;
  return r.subresource ? `${base}/${r.subresource}` : base;
};

function credentialLabel(e: AuditEvent, namespace: string): string {
  const c = e.credential;
  switch (c.kind) {
    case "pod-bound":
      return `pod-bound token (pod ${namespace}/${c.pod}${c.node ? ` on ${c.node}` : ""})`;
    case "legacy":
      return `legacy Secret token${c.secret ? ` (Secret ${namespace}/${c.secret})` : ""}`;
    case "unbound":
      return "unbound TokenRequest token";
    default:
      return "other credential";
  }
}

/** Keeps a Map under `max` entries by dropping the least recently set. */
function touch<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
}

export class AuditDetector {
  private readonly opts: DetectorOptions;
  private readonly identities = new Map<string, IdentityState>();
  private readonly aggregates = new Map<string, Aggregate>();
  private readonly issued = new Map<string, IssuedToken>();
  /** Findings that grew since takeUpdated() last ran (keys of aggregates; bounded by maxFindings). */
  private readonly touched = new Set<string>();
  /** auditIDs whose ResponseStarted was judged: their ResponseComplete is the same request. */
  private readonly started = new Map<string, true>();
  /** Events judged, and findings not kept because maxFindings was reached. */
  eventsSeen = 0;
  findingsDropped = 0;
  readonly baseline: Baseline | undefined;
  readonly usage: UsageObserver | undefined;

  constructor(
    private readonly context: AuditContext,
    options: Partial<DetectorOptions> = {},
    learned: {
      /** The learned habits behind `new-behaviour`; without one that rule is off. */
      baseline?: Baseline;
      /** What each identity exercised, for rightsizing (rightsize.ts UsageRecorder). */
      usage?: UsageObserver;
    } = {},
  ) {
    this.opts = { ...DEFAULT_DETECTOR_OPTIONS, ...options };
    this.baseline = learned.baseline;
    this.usage = learned.usage;
  }

  /** Judges one event; returns the findings it created (not the ones it only added to). */
  observe(e: AuditEvent): AuditFinding[] {
    if (e.stage === "RequestReceived") return [];
    if (e.stage === "ResponseStarted") touch(this.started, e.auditID, true, 10_000);
    else if (this.started.delete(e.auditID)) return [];
    this.eventsSeen++;

    // A TokenRequest, by anyone: remembered so the token's later use can be joined to its minter.
    if (
      e.issuedCredentialId &&
      e.objectRef?.subresource === "token" &&
      e.objectRef.name &&
      e.objectRef.namespace
    ) {
      touch(
        this.issued,
        e.issuedCredentialId,
        {
          minter: e.username,
          serviceAccount: `${e.objectRef.namespace}/${e.objectRef.name}`,
          time: e.time,
        },
        this.opts.maxIssuedTokens,
      );
    }
    let state = this.identities.get(e.username);
    const sa = state?.sa ?? parseServiceAccountIdentity(e.username);
    if (!sa) return [];
    const declared = this.context.declaration(sa.namespace, sa.name);
    if (!state) state = { sa, denied: [], secretReads: new Map(), client: "", human: false };
    touch(this.identities, e.username, state, this.opts.maxIdentities);
    if (e.userAgent !== state.userAgent) {
      state.userAgent = e.userAgent;
      state.client = clientOf(e.userAgent);
      state.human = state.client !== "" && isHumanClient(state.client);
    }

    const p = permissionOf(e);
    this.usage?.observe(e, p);
    const inScope = declared !== undefined && withinScopes(declared.scopes, p);
    const c = e.credential;
    const podIPs = c.kind === "pod-bound" ? this.context.podIPs?.(sa.namespace, c.pod) : undefined;
    const hits = this.scopeHits(e, p, declared, inScope);
    // Pushed, not spread: most events hit nothing, and four spreads per event are garbage.
    for (const more of [
      this.credentialHits(e, sa, declared, podIPs, state),
      this.harvestingHits(e, p, sa, state, inScope),
      this.privilegeHits(e, sa, inScope),
    ])
      for (const h of more) hits.push(h);
    if (this.baseline) {
      const habits = this.baseline.observe(e.username, e, declared === undefined, podIPs);
      for (const n of habits) {
        // A replayed token is already reported by its own rule: the new habit adds nothing but noise.
        if (n.kind === "sources" && hits.some((h) => h.rule === "token-off-pod")) continue;
        if (n.kind === "clients" && hits.some((h) => h.rule === "human-client")) continue;
        hits.push(newHabitHit(e, n));
      }
    }
    const created: AuditFinding[] = [];
    for (const h of hits) {
      const f = this.record(e, sa.namespace, declared?.nhi, h);
      if (f) created.push(f);
    }
    return created;
  }

  // --- out of scope, enumeration ---------------------------------------------------------------

  private scopeHits(
    e: AuditEvent,
    p: RequestPermission,
    declared: DeclaredIdentity | undefined,
    inScope: boolean,
  ): Hit[] {
    const hits: Hit[] = [];
    const denied = e.code === 403 || e.decision === "forbid";
    if (declared && !inScope) {
      const what = describeRequest(p);
      hits.push({
        rule: "out-of-scope",
        subject: what,
        severity: denied ? "medium" : "high",
        message: denied
          ? `${what}: not in the scopes of NHI ${declared.nhi}, and denied by RBAC`
          : `${what}: not in the scopes of NHI ${declared.nhi}, yet allowed${grantFromReason(e.authorizationReason) ? ` by ${grantFromReason(e.authorizationReason)}` : ""}`,
      });
    }
    return hits;
  }

  private enumerationHit(e: AuditEvent, state: IdentityState): Hit[] {
    const { threshold, distinctResources, windowSeconds } = this.opts.enumeration;
    state.denied.push({ time: e.time, resource: resourceName(e) });
    const since = e.time - windowSeconds * 1000;
    while (
      state.denied.length > 0 &&
      ((state.denied[0]?.time ?? 0) < since || state.denied.length > threshold * 4)
    )
      state.denied.shift();
    const resources = [...new Set(state.denied.map((d) => d.resource))];
    if (state.denied.length < threshold || resources.length < distinctResources) return [];
    return [
      {
        rule: "enumeration",
        subject: "",
        severity: "high",
        resources,
        message: `${state.denied.length} denied requests over ${resources.length} resources within ${windowSeconds} s (${resources.slice(0, 5).join(", ")}${resources.length > 5 ? ", …" : ""})`,
      },
    ];
  }

  // --- token replay, human use ----------------------------------------------------------------

  private credentialHits(
    e: AuditEvent,
    sa: { namespace: string; name: string },
    declared: DeclaredIdentity | undefined,
    podIPs: readonly string[] | undefined,
    who: { client: string; human: boolean },
  ): Hit[] {
    const hits: Hit[] = [];
    const c = e.credential;
    const client = who.client;
    const fromOwnPod =
      podIPs !== undefined && e.sourceIP !== undefined && podIPs.includes(e.sourceIP);
    if (c.kind === "pod-bound" && podIPs !== undefined && podIPs.length > 0 && !fromOwnPod) {
      hits.push({
        rule: "token-off-pod",
        subject: c.pod,
        severity: "high",
        message: `the token of pod ${sa.namespace}/${c.pod} (${podIPs.join(", ")}) was used from ${e.sourceIP ?? "an unknown address"}${client ? ` by ${client}` : ""}`,
      });
    }
    if (who.human && !fromOwnPod) {
      hits.push({
        rule: "human-client",
        subject: client,
        severity: "high",
        message: `${client} used the identity's ${credentialLabel(e, sa.namespace)} from ${e.sourceIP ?? "an unknown address"}`,
      });
    }
    if (c.kind === "legacy" && declared && declared.legacyTokens === "Forbid") {
      hits.push({
        rule: "legacy-token",
        subject: c.secret ?? "",
        severity: "high",
        message: `${credentialLabel(e, sa.namespace)} authenticated, but NHI ${declared.nhi} has legacyTokens: Forbid`,
      });
    }
    if (c.kind === "unbound") {
      const minted = this.issued.get(c.id);
      const self = `${sa.namespace}/${sa.name}`;
      if (
        minted &&
        minted.serviceAccount === self &&
        minted.minter !== e.username &&
        !this.trustedMinter(minted.minter)
      ) {
        hits.push({
          rule: "token-minted-elsewhere",
          subject: minted.minter,
          severity: "high",
          message: `a token ${minted.minter} minted for ${self} was used from ${e.sourceIP ?? "an unknown address"}${client ? ` by ${client}` : ""}`,
        });
      } else if (
        declared &&
        !declared.declaresTokens &&
        !(minted && this.trustedMinter(minted.minter))
      ) {
        hits.push({
          rule: "unbound-token",
          subject: "",
          severity: "medium",
          message: `an unbound token authenticated, but NHI ${declared.nhi} declares no ServiceAccountToken credential (its pods' bound tokens are the only expected ones)`,
        });
      }
    }
    return hits;
  }

  private trustedMinter(username: string): boolean {
    return username.startsWith(NODE_PREFIX) || this.opts.trustedMinters.includes(username);
  }

  // --- secret harvesting ----------------------------------------------------------------------

  private harvestingHits(
    e: AuditEvent,
    p: RequestPermission,
    sa: { namespace: string; name: string },
    state: IdentityState,
    inScope: boolean,
  ): Hit[] {
    const hits: Hit[] = [];
    const denied = e.code === 403 || e.decision === "forbid";
    if (denied) hits.push(...this.enumerationHit(e, state));
    const ref = e.objectRef;
    if (
      ref?.apiGroup === "authorization.k8s.io" &&
      ref.resource === "selfsubjectrulesreviews" &&
      e.verb === "create"
    ) {
      hits.push({
        rule: "permission-probing",
        subject: "",
        severity: "low",
        message: "asked for the list of everything it may do (SelfSubjectRulesReview)",
      });
    }
    if (inScope || !ref || ref.apiGroup !== "") return hits;
    if (
      ref.resource === "secrets" &&
      !ref.subresource &&
      (e.verb === "list" || e.verb === "watch")
    ) {
      hits.push({
        rule: "secret-listing",
        subject: describeRequest(p),
        severity: denied ? "medium" : "high",
        message: `${e.verb} Secrets ${ref.namespace ? `in namespace ${ref.namespace}` : "in every namespace"}${denied ? " (denied)" : ""}`,
      });
    }
    if (ref.resource === "secrets" && !ref.subresource && e.verb === "get" && ref.name && !denied) {
      const { threshold, windowSeconds } = this.opts.secretReads;
      const since = e.time - windowSeconds * 1000;
      for (const [name, t] of state.secretReads) if (t < since) state.secretReads.delete(name);
      touch(state.secretReads, `${ref.namespace ?? ""}/${ref.name}`, e.time, threshold * 4);
      if (state.secretReads.size >= threshold) {
        hits.push({
          rule: "secret-reads",
          subject: "",
          severity: "medium",
          resources: [...state.secretReads.keys()].map((k) => `secrets/${k}`),
          message: `read ${state.secretReads.size} different Secrets within ${windowSeconds} s (${[...state.secretReads.keys()].slice(0, 5).join(", ")})`,
        });
      }
    }
    if (
      ref.resource === "serviceaccounts" &&
      ref.subresource === "token" &&
      e.verb === "create" &&
      (ref.name !== sa.name || ref.namespace !== sa.namespace)
    ) {
      hits.push({
        rule: "token-minting",
        subject: `${ref.namespace ?? ""}/${ref.name ?? ""}`,
        severity: denied ? "medium" : "high",
        message: `requested a token for ServiceAccount ${ref.namespace ?? ""}/${ref.name ?? ""}${denied ? " (denied)" : ""}`,
      });
    }
    return hits;
  }

  // --- privilege change -----------------------------------------------------------------------

  private privilegeHits(
    e: AuditEvent,
    sa: { namespace: string; name: string },
    inScope: boolean,
  ): Hit[] {
    const ref = e.objectRef;
    if (!ref || !WRITE_VERBS.has(e.verb)) return [];
    const denied = e.code === 403 || e.decision === "forbid";
    const what = `${e.verb} ${resourceName(e)}${ref.name ? ` ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}` : ""}`;
    if (!inScope && ref.apiGroup === "rbac.authorization.k8s.io") {
      return [
        {
          rule: "rbac-write",
          subject: what,
          severity: denied ? "high" : "critical",
          message: `${what}${denied ? " (denied)" : ""}`,
        },
      ];
    }
    if (!inScope && ref.apiGroup === "admissionregistration.k8s.io") {
      return [
        {
          rule: "webhook-write",
          subject: what,
          severity: denied ? "high" : "critical",
          message: `${what}${denied ? " (denied)" : ""}`,
        },
      ];
    }
    const kind = WORKLOAD_RESOURCES.get(`${ref.apiGroup}/${ref.resource}`);
    if (
      kind &&
      !ref.subresource &&
      (e.verb === "create" || e.verb === "update") &&
      isRecord(e.requestObject)
    ) {
      const obj = e.requestObject as { kind: string; metadata?: { ownerReferences?: unknown } };
      if (obj.kind !== kind || controllerOwnerOf(obj, e.username)) return [];
      const template = podTemplateOf(obj as Parameters<typeof podTemplateOf>[0]);
      if (!template) return [];
      const runsAs = serviceAccountOf(template.spec);
      if (runsAs === sa.name && (ref.namespace ?? sa.namespace) === sa.namespace) return [];
      return [
        {
          rule: "workload-as-other-identity",
          subject: `${ref.namespace ?? ""}/${runsAs}`,
          severity: denied ? lower("high") : "high",
          message: `${what} runs as ServiceAccount ${ref.namespace ?? ""}/${runsAs}${denied ? " (denied)" : ""}`,
        },
      ];
    }
    return [];
  }

  // --- aggregation ----------------------------------------------------------------------------

  private record(
    e: AuditEvent,
    namespace: string,
    nhi: string | undefined,
    h: Hit,
  ): AuditFinding | undefined {
    const key = `${e.username}\u0000${h.rule}\u0000${h.subject}`;
    let agg = this.aggregates.get(key);
    const isNew = agg === undefined;
    if (!agg) {
      if (this.aggregates.size >= this.opts.maxFindings) {
        this.findingsDropped++;
        return undefined;
      }
      agg = {
        identity: e.username,
        hit: h,
        first: e.time,
        last: e.time,
        count: 0,
        evidence: {
          verbs: new Set(),
          resources: new Set(),
          namespaces: new Set(),
          codes: new Set(),
          userAgents: new Set(),
          sourceIPs: new Set(),
          grantedBy: new Set(),
          credentials: new Set(),
        },
      };
      if (nhi) agg.nhi = nhi;
      this.aggregates.set(key, agg);
    }
    if (SEVERITY_RANK[h.severity] > SEVERITY_RANK[agg.hit.severity])
      agg.hit = { ...h, message: agg.hit.message };
    agg.count++;
    agg.first = Math.min(agg.first, e.time);
    agg.last = Math.max(agg.last, e.time);
    const add = <T>(set: Set<T>, v: T | undefined): void => {
      if (v !== undefined && v !== "" && set.size < this.opts.maxEvidence) set.add(v);
    };
    const ev = agg.evidence;
    add(ev.verbs, e.verb);
    for (const r of h.resources ?? [resourceName(e)]) add(ev.resources, r);
    add(ev.namespaces, e.objectRef?.namespace);
    add(ev.codes, e.code);
    add(ev.userAgents, e.userAgent);
    add(ev.sourceIPs, e.sourceIP);
    add(ev.grantedBy, grantFromReason(e.authorizationReason));
    add(ev.credentials, credentialLabel(e, namespace));
    if (isNew) return toFinding(agg);
    this.touched.add(key);
    return undefined;
  }

  /** The findings that grew (more events, a later last seen) since the last call; new ones are observe()'s. */
  takeUpdated(): AuditFinding[] {
    const out = [...this.touched].flatMap((k) => {
      const a = this.aggregates.get(k);
      return a ? [toFinding(a)] : [];
    });
    this.touched.clear();
    return out;
  }

  /** Every finding so far, worst first, then by identity and rule. */
  findings(): AuditFinding[] {
    return [...this.aggregates.values()]
      .map(toFinding)
      .sort(
        (a, b) =>
          SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
          a.identity.localeCompare(b.identity) ||
          a.rule.localeCompare(b.rule) ||
          a.message.localeCompare(b.message),
      );
  }
}

const HABIT_WORDS: Record<NewHabit["kind"], string> = {
  sources: "source",
  clients: "client",
  requests: "request",
};

function newHabitHit(e: AuditEvent, n: NewHabit): Hit {
  const writes = n.kind === "requests" && WRITE_VERBS.has(e.verb);
  return {
    rule: "new-behaviour",
    subject: `${n.kind} ${n.value}`,
    severity: n.kind === "requests" && !writes ? "low" : "medium",
    message: `new ${HABIT_WORDS[n.kind]} after its learning window: ${n.value}`,
  };
}

function toFinding(a: Aggregate): AuditFinding {
  const rule = AUDIT_RULES[a.hit.rule];
  const sorted = <T>(s: Set<T>): T[] => [...s].sort();
  const f: AuditFinding = {
    identity: a.identity,
    rule: rule.id,
    category: rule.category,
    severity: a.hit.severity,
    owasp: [...rule.owasp],
    title: rule.title,
    message: a.hit.message,
    evidence: {
      verbs: sorted(a.evidence.verbs),
      resources: sorted(a.evidence.resources),
      namespaces: sorted(a.evidence.namespaces),
      codes: [...a.evidence.codes].sort((x, y) => x - y),
      userAgents: sorted(a.evidence.userAgents),
      sourceIPs: sorted(a.evidence.sourceIPs),
      grantedBy: sorted(a.evidence.grantedBy),
      credentials: sorted(a.evidence.credentials),
    },
    firstSeen: new Date(a.first).toISOString(),
    lastSeen: new Date(a.last).toISOString(),
    count: a.count,
  };
  if (a.nhi) f.nhi = a.nhi;
  return f;
}
