// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics: every replica
// serves the webhook; the one holding the Lease runs the reconcilers. A replica takes the Lease when
// it is free or its record has not changed for leaseDuration *as measured on this replica's clock*
// since it last saw it change (client-go's observedTime: another node's renewTime is never compared
// with our clock, so clock skew cannot shorten a lease); the holder renews every retryPeriod and
// gives up (stops leading) when it could not renew within renewDeadline. Writes carry the Lease's
// resourceVersion, so two candidates can never both win (one gets 409 Conflict). The holder also
// records where it serves (LEADER_ADDRESS_ANNOTATION), so a follower can tell a client where to go.
import { ApiError, isAlreadyExists, isConflict, isNotFound } from "./rest.js";

/** On the Lease, written by its holder: host:port of the holder's metrics listener (GET /inventory). */
export const LEADER_ADDRESS_ANNOTATION = "nhi.io/leader-address";

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** The three calls election needs (KubeRest implements them in leaseClient(); tests fake them). */
export interface LeaseClient {
  get(namespace: string, name: string): Promise<Lease | undefined>;
  create(lease: Lease): Promise<Lease>;
  replace(lease: Lease): Promise<Lease>;
}

export interface LeaderElectorOptions {
  namespace: string;
  name: string;
  identity: string;
  /** host:port where this replica serves /inventory, written on the Lease while it holds it. */
  address?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onError?: (err: unknown) => void;
}

const micro = (ms: number): string => new Date(ms).toISOString().replace("Z", "000Z");

export interface ElectionTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const ELECTION_DEFAULTS: ElectionTiming = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/**
 * client-go's rules for the three durations (NewLeaderElector), with the flag names: the holder must
 * give up (renewDeadline) before others may take over (leaseDuration), and must get more than one
 * attempt to renew within renewDeadline. The Lease stores whole seconds.
 */
export function electionTimingProblem(
  t: ElectionTiming,
  names = {
    leaseDurationMs: "--lease-duration",
    renewDeadlineMs: "--renew-deadline",
    retryPeriodMs: "--retry-period",
  },
): string | undefined {
  if (!(t.leaseDurationMs >= 1000) || t.leaseDurationMs % 1000 !== 0)
    return `${names.leaseDurationMs} must be whole seconds, at least 1s (the Lease stores leaseDurationSeconds)`;
  if (!(t.retryPeriodMs > 0)) return `${names.retryPeriodMs} must be positive`;
  if (!(t.renewDeadlineMs < t.leaseDurationMs))
    return `${names.renewDeadlineMs} must be shorter than ${names.leaseDurationMs}: the holder stops leading before another replica may take over`;
  if (!(t.renewDeadlineMs > t.retryPeriodMs * 1.2))
    return `${names.renewDeadlineMs} must be longer than 1.2 × ${names.retryPeriodMs}: the holder needs more than one attempt to renew`;
  return undefined;
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private lastRenew = 0;
  private observed: Lease | undefined;
  /** The observed record (holder, renewTime, duration, transitions) and when, on our clock, it last changed. */
  private observedRecord = "";
  private observedTime = 0;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: LeaseClient,
    private readonly o: LeaderElectorOptions,
  ) {
    this.leaseMs = o.leaseDurationMs ?? ELECTION_DEFAULTS.leaseDurationMs;
    this.renewDeadlineMs = o.renewDeadlineMs ?? ELECTION_DEFAULTS.renewDeadlineMs;
    this.retryMs = o.retryPeriodMs ?? ELECTION_DEFAULTS.retryPeriodMs;
    const problem = electionTimingProblem(
      {
        leaseDurationMs: this.leaseMs,
        renewDeadlineMs: this.renewDeadlineMs,
        retryPeriodMs: this.retryMs,
      },
      {
        leaseDurationMs: "leaseDurationMs",
        renewDeadlineMs: "renewDeadlineMs",
        retryPeriodMs: "retryPeriodMs",
      },
    );
    if (problem !== undefined) throw new Error(`leader election: ${problem}`);
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The Lease as last read or written by this replica (at most one retryPeriod old while running). */
  observedLease(): Lease | undefined {
    return this.observed;
  }

  /** When (this replica's clock) the observed Lease record last changed: it is live until then + its leaseDurationSeconds. */
  observedAt(): number {
    return this.observedTime;
  }

  private observe(lease: Lease | undefined, now: number): void {
    this.observed = lease;
    const s = lease?.spec;
    const record = lease
      ? JSON.stringify([
          s?.holderIdentity ?? "",
          s?.renewTime ?? "",
          s?.leaseDurationSeconds ?? 0,
          s?.leaseTransitions ?? 0,
        ])
      : "";
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedTime = now;
    }
  }

  /** How often the Lease is read (and renewed by its holder). */
  get retryPeriodMs(): number {
    return this.retryMs;
  }

  /**
   * One attempt to acquire or renew. True when this replica holds the Lease afterwards.
   * Exposed for tests; run() calls it every retryPeriod.
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    const { namespace, name, identity } = this.o;
    const existing = await this.client.get(namespace, name);
    this.observe(existing, now);
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.round(this.leaseMs / 1000),
      renewTime: micro(now),
    };
    if (!existing) {
      try {
        this.observe(
          await this.client.create({
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name, namespace, annotations: withAddress(undefined, this.o.address) },
            spec: { ...spec, acquireTime: micro(now), leaseTransitions: 0 },
          }),
          now,
        );
        return true;
      } catch (e) {
        if (isAlreadyExists(e) || isConflict(e)) return false;
        throw e;
      }
    }
    const holder = existing.spec.holderIdentity;
    const duration = (existing.spec.leaseDurationSeconds ?? 15) * 1000;
    const mine = holder === identity;
    if (!mine && holder && this.observedTime + duration > now) return false; // someone else holds a live lease
    const next: Lease = {
      ...existing,
      // A successor overwrites (or drops) the previous holder's address.
      metadata: {
        ...existing.metadata,
        annotations: withAddress(existing.metadata.annotations, this.o.address),
      },
      spec: {
        ...existing.spec,
        ...spec,
        acquireTime: mine ? (existing.spec.acquireTime ?? micro(now)) : micro(now),
        leaseTransitions: (existing.spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
      },
    };
    try {
      this.observe(await this.client.replace(next), now);
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  /** Campaigns and renews until stop(). Callbacks fire on each change of leadership. */
  async run(): Promise<void> {
    while (!this.stopped) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (e) {
        this.o.onError?.(e);
      }
      const now = this.now();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.o.onStartedLeading();
        }
      } else if (this.leading && now - this.lastRenew >= this.renewDeadlineMs) {
        // Could not renew in time: another replica may take over any moment now. Stop first.
        this.leading = false;
        this.o.onStoppedLeading();
      }
      if (!this.stopped) await this.sleep(this.retryMs);
    }
  }

  /** Stops campaigning and, when leading, releases the Lease so a successor need not wait it out. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (!this.leading) return;
    this.leading = false;
    try {
      const l = await this.client.get(this.o.namespace, this.o.name);
      if (l && l.spec.holderIdentity === this.o.identity) {
        this.observe(
          await this.client.replace({
            ...l,
            metadata: {
              ...l.metadata,
              annotations: withAddress(l.metadata.annotations, undefined),
            },
            spec: {
              ...l.spec,
              holderIdentity: "",
              leaseDurationSeconds: 1,
              renewTime: micro(this.now()),
            },
          }),
          this.now(),
        );
      }
    } catch (e) {
      if (!(e instanceof ApiError) || (!isConflict(e) && !isNotFound(e))) this.o.onError?.(e);
    }
    this.o.onStoppedLeading();
  }
}

function withAddress(
  annotations: Record<string, string> | undefined,
  address: string | undefined,
): Record<string, string> {
  const { [LEADER_ADDRESS_ANNOTATION]: _old, ...rest } = annotations ?? {};
  return address ? { ...rest, [LEADER_ADDRESS_ANNOTATION]: address } : rest;
}

/** A LeaseClient over the REST client. */
export function leaseClient(rest: {
  find<T>(p: string): Promise<T | undefined>;
  request<T>(m: string, p: string, o?: { body?: unknown }): Promise<T>;
}): LeaseClient {
  const base = (ns: string): string => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`;
  return {
    get: (ns, name) => rest.find<Lease>(`${base(ns)}/${name}`),
    create: (l) => rest.request<Lease>("POST", base(l.metadata.namespace), { body: l }),
    replace: (l) =>
      rest.request<Lease>("PUT", `${base(l.metadata.namespace)}/${l.metadata.name}`, { body: l }),
  };
}
