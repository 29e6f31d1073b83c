// The learned baseline behind the `new-behaviour` rule: per identity, the habits seen while it was
// learning (its first `learningSeconds` of activity, by event time), then every habit not seen
// before is new. Habits are what the declaration cannot say: for every identity its sources (its
// own pod, else the client's network) and clients (the User-Agent's program); for an unclaimed
// identity (no NHI to judge against) also its requests (verb, resource, namespace).
//
// Bounded: at most `maxIdentities` identities and `maxHabits` values of each kind per identity.
// At the identity cap, identities idle for `forgetSeconds` are forgotten first; when none is, the
// new identity is not tracked (counted in identitiesRefused). A kind that reaches its cap while
// learning is "too varied" — no baseline of it is meaningful — and gives no findings from then on
// (counted in habitsDropped); after learning a new value at the cap is still reported but not kept.
//
// The serialised form (`BaselineDocument`) is versioned and validated on load; a damaged one is a
// clear error, never a crash, and the caller starts afresh. Documents merge (union of habits,
// earliest first-seen), so replicas that each saw part of the stream can share one store.
import { isRecord } from "../json.js";
import type { AuditEvent } from "./event.js";
import { documentParts, parseDocumentEnvelope } from "./parts.js";
import { clientOf } from "./request.js";

export const BASELINE_API_VERSION = "nhi.io/audit-baseline/v1";

export const HABIT_KINDS = ["sources", "clients", "requests"] as const;
export type HabitKind = (typeof HABIT_KINDS)[number];

export interface BaselineOptions {
  /** How long an identity's habits are learned, from its first event (event time). */
  learningSeconds: number;
  /** Distinct values kept per habit kind and identity. */
  maxHabits: number;
  maxIdentities: number;
  /** An identity idle this long may be forgotten to make room at the identity cap. */
  forgetSeconds: number;
}

export const DEFAULT_BASELINE_OPTIONS: BaselineOptions = {
  learningSeconds: 24 * 3600,
  maxHabits: 64,
  maxIdentities: 20_000,
  forgetSeconds: 30 * 24 * 3600,
};

interface IdentityHabits {
  /** First and last event time, ms since the epoch. */
  first: number;
  last: number;
  sources: Set<string>;
  clients: Set<string>;
  requests: Set<string>;
  /** Kinds that reached maxHabits while learning: no findings of them. */
  saturated: Set<HabitKind>;
  /** The previous event's source and client (memo strings: compared by identity). */
  lastSource?: string;
  lastClient?: string;
  /** ...and the raw address ("own pod" for its own) and User-Agent they came from. */
  lastRawSource?: string;
  lastRawClient?: string;
}

/** One habit that was new, after learning. */
export interface NewHabit {
  kind: HabitKind;
  value: string;
}

export interface BaselineStats {
  identities: number;
  learning: number;
  identitiesRefused: number;
  identitiesForgotten: number;
  habitsDropped: number;
}

/** "own pod", or the client's network: IPv4 /24, IPv6 /64 (a rollout's new pod lands in it). */
export function sourceOf(e: AuditEvent, ownPodIPs: readonly string[] | undefined): string {
  const ip = e.sourceIP;
  if (ip === undefined) return "unknown";
  if (ownPodIPs?.includes(ip)) return OWN_POD;
  if (ip.includes(":")) {
    const groups = ip.split("::")[0]?.split(":") ?? [];
    return `${groups.slice(0, 4).join(":")}::/64`;
  }
  const octets = ip.split(".");
  return octets.length === 4 ? `${octets.slice(0, 3).join(".")}.0/24` : ip;
}

/** "get configmaps in shop", "list nodes cluster-wide", "get /healthz": the request, names dropped. */
export function requestHabitOf(e: AuditEvent): string {
  const r = e.objectRef;
  if (!r) return `${e.verb} ${e.requestURI.split("?")[0] ?? ""}`;
  const resource = `${r.apiGroup ? `${r.resource}.${r.apiGroup}` : r.resource}${r.subresource ? `/${r.subresource}` : ""}`;
  return `${e.verb} ${resource} ${r.namespace ? `in ${r.namespace}` : "cluster-wide"}`;
}

const OWN_POD = "own pod";

/** key → value, computed once while it stays under its size. */
class Memo {
  private readonly values = new Map<string, string>();
  constructor(
    private readonly compute: (e: AuditEvent) => string,
    private readonly max = 1 << 16,
  ) {}
  of(key: string, e: AuditEvent): string {
    let v = this.values.get(key);
    if (v === undefined) {
      if (this.values.size >= this.max) this.values.clear();
      v = this.compute(e);
      this.values.set(key, v);
    }
    return v;
  }
}

export class Baseline {
  readonly opts: BaselineOptions;
  private readonly identities = new Map<string, IdentityHabits>();
  identitiesRefused = 0;
  identitiesForgotten = 0;
  habitsDropped = 0;
  /** Set when a habit was learned; the store writes only then, and clears it. */
  dirty = false;

  constructor(options: Partial<BaselineOptions> = {}) {
    this.opts = { ...DEFAULT_BASELINE_OPTIONS, ...options };
  }

  /**
   * Learns the event's habits or, after the identity's learning window, returns the ones that are
   * new (and keeps them: each is reported once). `unclaimed`: the identity has no NHI, so its
   * requests are habits too.
   */
  observe(
    identity: string,
    e: AuditEvent,
    unclaimed: boolean,
    ownPodIPs: readonly string[] | undefined,
  ): NewHabit[] {
    let h = this.identities.get(identity);
    if (h === undefined) {
      if (!this.makeRoom(e.time)) {
        this.identitiesRefused++;
        return [];
      }
      h = {
        first: e.time,
        last: e.time,
        sources: new Set(),
        clients: new Set(),
        requests: new Set(),
        saturated: new Set(),
      };
      this.identities.set(identity, h);
    }
    if (e.time > h.last) h.last = e.time;
    if (e.time < h.first) h.first = e.time;
    const learning = e.time - h.first < this.opts.learningSeconds * 1000;
    const out: NewHabit[] = [];
    const own =
      ownPodIPs !== undefined && e.sourceIP !== undefined && ownPodIPs.includes(e.sourceIP);
    // Most events repeat the identity's previous address and User-Agent: a string comparison, no
    // lookup (hashing a fresh string per event was the largest cost left here; bench/audit.ts).
    const rawSource = own ? OWN_POD : (e.sourceIP ?? "");
    if (rawSource !== h.lastRawSource) {
      const source = own ? OWN_POD : this.networks.of(rawSource, e);
      if (source !== h.lastSource) {
        this.habit(h, h.sources, "sources", source, learning, out);
        h.lastSource = source;
      }
      h.lastRawSource = rawSource;
    }
    const rawClient = e.userAgent ?? "";
    if (rawClient !== h.lastRawClient) {
      const client = this.clients.of(rawClient, e);
      if (client !== h.lastClient) {
        this.habit(h, h.clients, "clients", client, learning, out);
        h.lastClient = client;
      }
      h.lastRawClient = rawClient;
    }
    if (unclaimed) this.habit(h, h.requests, "requests", this.request(e), learning, out);
    return out;
  }

  // Each event's habits are looked up, not built: the same few addresses, clients and requests
  // recur millions of times, and building their strings anew per event cost more than the rest of
  // detection (bench/audit.ts). The memos are bounded and cleared when full.
  private readonly networks = new Memo((e) => sourceOf(e, undefined));
  private readonly clients = new Memo((e) => clientOf(e.userAgent) || "(no User-Agent)");
  private readonly requests = new Map<string, Memo>();

  private request(e: AuditEvent): string {
    const r = e.objectRef;
    if (!r) return requestHabitOf(e);
    let byVerb = this.requests.get(e.verb);
    if (byVerb === undefined) {
      if (this.requests.size > 64) this.requests.clear();
      byVerb = new Memo(requestHabitOf);
      this.requests.set(e.verb, byVerb);
    }
    return byVerb.of(`${r.namespace ?? ""}/${r.apiGroup}/${r.resource}/${r.subresource ?? ""}`, e);
  }

  private habit(
    h: IdentityHabits,
    set: Set<string>,
    kind: HabitKind,
    value: string,
    learning: boolean,
    out: NewHabit[],
  ): void {
    if (set.has(value) || h.saturated.has(kind)) return;
    if (set.size >= this.opts.maxHabits) {
      this.habitsDropped++;
      if (learning) h.saturated.add(kind);
      else out.push({ kind, value });
      this.dirty = true;
      return;
    }
    set.add(value);
    this.dirty = true;
    if (!learning) out.push({ kind, value });
  }

  /** True when a new identity fits: under the cap, or after forgetting the idle ones. */
  private makeRoom(now: number): boolean {
    if (this.identities.size < this.opts.maxIdentities) return true;
    const idleSince = now - this.opts.forgetSeconds * 1000;
    for (const [id, h] of this.identities) {
      if (h.last < idleSince) {
        this.identities.delete(id);
        this.identitiesForgotten++;
        this.dirty = true;
      }
    }
    return this.identities.size < this.opts.maxIdentities;
  }

  /** Is the identity past its learning window at `time`? undefined: not tracked. */
  learned(identity: string, time: number): boolean | undefined {
    const h = this.identities.get(identity);
    return h === undefined ? undefined : time - h.first >= this.opts.learningSeconds * 1000;
  }

  stats(at?: number): BaselineStats {
    let learning = 0;
    if (at !== undefined)
      for (const h of this.identities.values())
        if (at - h.first < this.opts.learningSeconds * 1000) learning++;
    return {
      identities: this.identities.size,
      learning,
      identitiesRefused: this.identitiesRefused,
      identitiesForgotten: this.identitiesForgotten,
      habitsDropped: this.habitsDropped,
    };
  }

  // --- persistence ----------------------------------------------------------------------------

  /** The serialisable form, identities sorted (stable output, small diffs). */
  toDocument(): BaselineDocument {
    const identities: Record<string, StoredIdentity> = {};
    for (const id of [...this.identities.keys()].sort()) {
      const h = this.identities.get(id);
      if (h) identities[id] = storedOf(h);
    }
    return { apiVersion: BASELINE_API_VERSION, identities };
  }

  /**
   * The document split into parts of at most `maxBytes` of JSON each (a ConfigMap holds 1 MiB):
   * identities are never split. An identity alone over `maxBytes` cannot be: maxHabits bounds it.
   */
  toParts(maxBytes: number): string[] {
    return documentParts(
      BASELINE_API_VERSION,
      Object.entries(this.toDocument().identities),
      maxBytes,
    );
  }

  /** Adds a stored document's habits (union; earliest first, latest last), within the caps. */
  merge(doc: BaselineDocument): void {
    for (const [id, s] of Object.entries(doc.identities)) {
      let h = this.identities.get(id);
      if (h === undefined) {
        if (!this.makeRoom(s.last)) {
          this.identitiesRefused++;
          continue;
        }
        h = {
          first: s.first,
          last: s.last,
          sources: new Set(),
          clients: new Set(),
          requests: new Set(),
          saturated: new Set(),
        };
        this.identities.set(id, h);
        this.dirty = true;
      }
      h.first = Math.min(h.first, s.first);
      h.last = Math.max(h.last, s.last);
      for (const kind of HABIT_KINDS) {
        for (const v of s[kind]) {
          if (h[kind].has(v)) continue;
          if (h[kind].size >= this.opts.maxHabits) {
            h.saturated.add(kind);
            this.habitsDropped++;
            break;
          }
          h[kind].add(v);
          this.dirty = true;
        }
      }
      for (const k of s.saturated ?? []) h.saturated.add(k);
    }
  }
}

interface StoredIdentity {
  first: number;
  last: number;
  sources: string[];
  clients: string[];
  requests: string[];
  saturated?: HabitKind[];
}

export interface BaselineDocument {
  apiVersion: typeof BASELINE_API_VERSION;
  identities: Record<string, StoredIdentity>;
}

function storedOf(h: IdentityHabits): StoredIdentity {
  const s: StoredIdentity = {
    first: h.first,
    last: h.last,
    sources: [...h.sources].sort(),
    clients: [...h.clients].sort(),
    requests: [...h.requests].sort(),
  };
  if (h.saturated.size > 0) s.saturated = [...h.saturated].sort();
  return s;
}

const MAX_VALUE_LENGTH = 512;

/**
 * A stored baseline, checked field by field. The error names the field and what was expected, so
 * the caller can say "FILE: …, starting a fresh baseline".
 */
export function parseBaselineDocument(
  text: string,
  maxHabits = DEFAULT_BASELINE_OPTIONS.maxHabits,
): { document: BaselineDocument } | { error: string } {
  const envelope = parseDocumentEnvelope(text, BASELINE_API_VERSION);
  if ("error" in envelope) return envelope;
  const identities: Record<string, StoredIdentity> = {};
  for (const [id, raw] of Object.entries(envelope.identities)) {
    const at = `identities[${JSON.stringify(id.slice(0, 100))}]`;
    if (!isRecord(raw)) return { error: `${at} is not an object` };
    for (const t of ["first", "last"] as const)
      if (typeof raw[t] !== "number" || !Number.isFinite(raw[t]) || (raw[t] as number) < 0)
        return { error: `${at}.${t} is not a time (ms since the epoch)` };
    const s: StoredIdentity = {
      first: raw.first as number,
      last: raw.last as number,
      sources: [],
      clients: [],
      requests: [],
    };
    for (const kind of HABIT_KINDS) {
      const list = raw[kind] ?? [];
      if (
        !Array.isArray(list) ||
        !list.every((v) => typeof v === "string" && v.length <= MAX_VALUE_LENGTH)
      )
        return { error: `${at}.${kind} is not a list of strings` };
      if (list.length > maxHabits)
        return { error: `${at}.${kind} has ${list.length} values, more than the cap ${maxHabits}` };
      s[kind] = list as string[];
    }
    if (raw.saturated !== undefined) {
      if (
        !Array.isArray(raw.saturated) ||
        !raw.saturated.every((k) => (HABIT_KINDS as readonly unknown[]).includes(k))
      )
        return { error: `${at}.saturated is not a list of ${HABIT_KINDS.join(", ")}` };
      s.saturated = raw.saturated as HabitKind[];
    }
    identities[id] = s;
  }
  return { document: { apiVersion: BASELINE_API_VERSION, identities } };
}
