// The leader's role, composed by main.ts: campaign for the Lease; once elected, start the cache's
// inventory tier (Pods, workloads, every Secret's metadata), wait for it to list, then start the
// reconcilers on the same cache. Followers serve the webhook only. Losing the Lease stops the
// reconcilers and the inventory informers at once and calls onLostLeadership (main exits, so a fresh
// process campaigns again: the rotation steps are crash-safe, a half-done one resumes elsewhere).
import type { KubeConfig } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { hostname } from "node:os";
import type { Registry } from "prom-client";
import type { Log } from "../edge/log.js";
import type { ClusterCache } from "./k8s/cache/cluster-cache.js";
import { startControllers, type RunningControllers } from "./controllers/index.js";
import { EventRecorder } from "./k8s/events.js";
import { notLeaderAnswer, type LeaseView } from "../core/inventory/document.js";
import {
  LEADER_ADDRESS_ANNOTATION,
  LeaderElector,
  leaseClient,
  type ElectionTiming,
} from "./k8s/leader.js";
import { KubeRest } from "./k8s/rest.js";
import { RestStatusWriter } from "./k8s/status-writer.js";

export interface ControllerOptions {
  leaseName: string;
  /** Default: the operator's own namespace. */
  leaseNamespace?: string;
  /** This replica's identity in the Lease (default: "<$POD_NAME or hostname>_<random>", unique per process like client-go's). */
  identity?: string;
  /** host:port of this replica's metrics listener, recorded on the Lease while it leads (main.ts: $POD_IP). */
  address?: string;
  /** Lease timing (default ELECTION_DEFAULTS: 15s / 10s / 2s). */
  election?: ElectionTiming;
  /** Client-side rate limit of the reconcilers' API calls. */
  qps: number;
  burst: number;
  unusedAfterMs?: number;
  tokenOverlapMs?: number;
  kubeconfigServer?: string;
  /** BehaviourAnomalous stays True this long after a finding's last event. */
  anomalyWindowMs?: number;
  /** Test hook: called after each rotation step is performed. */
  afterStep?: (kind: string, key: string) => void;
}

export const CONTROLLER_DEFAULTS: ControllerOptions = {
  leaseName: "nhi-operator-reconcilers",
  qps: 50,
  burst: 100,
};

export interface LeaderRole {
  isLeader(): boolean;
  /** The Lease as this replica last saw it, and how often it looks. */
  lease(): LeaseView;
  retryPeriodMs: number;
  controllers(): RunningControllers | undefined;
  /** Releases the Lease (when held) and stops the reconcilers and the inventory informers. */
  stop(): Promise<void>;
}

export function startLeaderRole(
  kc: KubeConfig,
  cache: ClusterCache,
  o: ControllerOptions & { leaseNamespace: string },
  deps: {
    registry: Registry;
    logger: Log;
    onLostLeadership?: () => void;
  },
): LeaderRole {
  const { logger: log } = deps;
  const rest = new KubeRest(kc, { qps: o.qps, burst: o.burst });
  // Random per process: a restarted container (same pod name) must campaign, not resume a dead process's term.
  const identity =
    o.identity ?? `${process.env.POD_NAME || hostname()}_${randomBytes(5).toString("hex")}`;
  let running: RunningControllers | undefined;
  let stopping = false;

  const stopControllers = async (): Promise<void> => {
    const r = running;
    running = undefined;
    cache.stopInventory();
    await r?.stop();
  };
  const elector = new LeaderElector(leaseClient(rest), {
    namespace: o.leaseNamespace,
    name: o.leaseName,
    identity,
    ...(o.address ? { address: o.address } : {}),
    ...o.election,
    onStartedLeading: () => {
      log.info("started leading: starting the reconcilers", {
        identity,
        lease: `${o.leaseNamespace}/${o.leaseName}`,
      });
      cache.startInventory().then(
        () => {
          if (stopping || !elector.isLeader()) return;
          running = startControllers({
            rest,
            source: cache,
            registry: deps.registry,
            log,
            events: new EventRecorder(rest, undefined, undefined, identity),
            status: new RestStatusWriter(rest),
            ...(o.unusedAfterMs !== undefined ? { unusedAfterMs: o.unusedAfterMs } : {}),
            ...(o.tokenOverlapMs !== undefined ? { tokenOverlapMs: o.tokenOverlapMs } : {}),
            ...(o.kubeconfigServer ? { kubeconfigServer: o.kubeconfigServer } : {}),
            ...(o.anomalyWindowMs !== undefined ? { anomalyWindowMs: o.anomalyWindowMs } : {}),
            ...(o.afterStep ? { afterStep: o.afterStep } : {}),
          });
          void running.firstInventory.then((inv) =>
            log.info("inventory complete", {
              identities: inv.identities.length,
              requests: rest.totalRequests(),
            }),
          );
        },
        (err: unknown) => {
          log.error("the inventory cache did not sync: giving up the Lease", {
            error: err instanceof Error ? err.message : String(err),
          });
          void elector.stop();
        },
      );
    },
    onStoppedLeading: () => {
      if (stopping) return;
      log.warn("lost leadership: stopping the reconcilers", { identity });
      stopping = true;
      void elector.stop();
      void stopControllers().finally(() => deps.onLostLeadership?.());
    },
    onError: (e) =>
      log.warn("leader election", { error: e instanceof Error ? e.message : String(e) }),
  });
  void elector.run();

  return {
    isLeader: () => elector.isLeader(),
    lease: () => {
      const l = elector.observedLease();
      const address = l?.metadata.annotations?.[LEADER_ADDRESS_ANNOTATION];
      return {
        namespace: o.leaseNamespace,
        name: o.leaseName,
        ...(l?.spec.holderIdentity !== undefined ? { holderIdentity: l.spec.holderIdentity } : {}),
        ...(l?.spec.renewTime !== undefined ? { renewTime: l.spec.renewTime } : {}),
        ...(l?.spec.leaseDurationSeconds !== undefined
          ? { leaseDurationSeconds: l.spec.leaseDurationSeconds }
          : {}),
        ...(address ? { address } : {}),
        ...(l ? { observedAt: elector.observedAt() } : {}),
      };
    },
    retryPeriodMs: elector.retryPeriodMs,
    controllers: () => running,
    async stop() {
      stopping = true;
      await stopControllers();
      await elector.stop().catch(() => undefined);
    },
  };
}

/**
 * GET /inventory: the leader's inventory. 503 with Retry-After otherwise: on a follower with a
 * NotLeaderAnswer naming the Lease's holder and where it serves (not a redirect: a pod address is
 * not reachable from outside the cluster, and through a Service a retry may reach the leader);
 * on the leader before its first pass; before the role starts.
 */
export function inventoryRoute(
  role: () => LeaderRole | undefined,
  now: () => number = Date.now,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const r = role();
    const c = r?.controllers();
    if (c) return c.inventoryHandler(req, res);
    const retryAfter = String(Math.max(1, Math.ceil((r?.retryPeriodMs ?? 1000) / 1000)));
    const body = !r
      ? { error: "the leader election has not started yet" }
      : r.isLeader()
        ? { error: "this replica leads but has not finished its first inventory pass" }
        : notLeaderAnswer(r.lease(), now());
    res
      .writeHead(503, { "content-type": "application/json", "retry-after": retryAfter })
      .end(JSON.stringify(body));
  };
}
