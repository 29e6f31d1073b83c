// What every controller is given. Narrow interfaces so the cache, the logger and the clock can be
// swapped (tests, benchmark) without touching the controllers.
import type { EventSink } from "../k8s/events.js";
import type { KubeRest } from "../k8s/rest.js";
import type { StatusWriter } from "../k8s/status-writer.js";
import type { InventorySource } from "../k8s/cache/view.js";
import type { Log } from "../../edge/log.js";

/** Counters the controllers report to (operator/metrics.ts implements it; a no-op by default). */
export interface ControllerMetricsSink {
  rotation(namespace: string, type: string, step: string, result: "ok" | "error"): void;
  reconciled(controller: string, seconds: number, ok: boolean): void;
}

export const nullMetrics: ControllerMetricsSink = {
  rotation: () => undefined,
  reconciled: () => undefined,
};

export interface ControllerDeps {
  rest: KubeRest;
  source: InventorySource;
  events: EventSink;
  status: StatusWriter;
  log?: Log;
  metrics?: ControllerMetricsSink;
  now?: () => number;
  /** Server URL written into ServiceAccountToken kubeconfigs (default: the operator's own API server URL). */
  kubeconfigServer?: string;
  /** Unused after this long without pods or recorded use (identities without lifetime.unusedAfter). */
  unusedAfterMs?: number;
  /** Overlap between a verified new token and revoking the old one. */
  tokenOverlapMs?: number;
  /** BehaviourAnomalous stays True this long after a finding's last event (default 24h). */
  anomalyWindowMs?: number;
  /** Test hook: called after each rotation step is performed (the crash e2e kills the process here). */
  afterStep?: (kind: string, key: string) => void;
}
