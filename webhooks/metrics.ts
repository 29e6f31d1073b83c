// Prometheus metrics of the webhook and its cache, on their own registry (served on the metrics port).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface CacheStats {
  synced(): boolean;
  /** Seconds since each watched kind last heard from the API server (event or bookmark). */
  lastEventAgeSeconds(): Record<string, number>;
}

export class WebhookMetrics {
  readonly registry = new Registry();
  readonly decisions: Counter<"resource" | "operation" | "result" | "rule">;
  readonly findings: Counter<"resource" | "rule" | "outcome">;
  readonly latency: Histogram<"resource">;
  readonly breakGlass: Counter<"resource">;
  readonly badRequests: Counter<"reason">;

  constructor(opts: { defaultMetrics?: boolean; cache?: CacheStats } = {}) {
    const registers = [this.registry];
    this.decisions = new Counter({
      name: "nhi_webhook_decisions_total",
      help: "Admission decisions by resource, operation, result (allowed, warned, denied, invalid, error, break_glass, exempt, unjudged) and first rule",
      labelNames: ["resource", "operation", "result", "rule"],
      registers,
    });
    this.findings = new Counter({
      name: "nhi_webhook_findings_total",
      help: "Findings by rule and outcome (deny, warn)",
      labelNames: ["resource", "rule", "outcome"],
      registers,
    });
    this.latency = new Histogram({
      name: "nhi_webhook_request_duration_seconds",
      help: "Time to judge one AdmissionReview (parse to response)",
      labelNames: ["resource"],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    });
    this.breakGlass = new Counter({
      name: "nhi_webhook_break_glass_total",
      help: "Denials overridden by a break-glass annotation",
      labelNames: ["resource"],
      registers,
    });
    this.badRequests = new Counter({
      name: "nhi_webhook_bad_requests_total",
      help: "Bodies that were not a usable AdmissionReview",
      labelNames: ["reason"],
      registers,
    });
    const cache = opts.cache;
    if (cache) {
      new Gauge({
        name: "nhi_cache_synced",
        help: "1 once every watched kind has been listed",
        registers,
        collect() {
          this.set(cache.synced() ? 1 : 0);
        },
      });
      new Gauge({
        name: "nhi_cache_last_event_age_seconds",
        help: "Seconds since the watch of each kind last heard from the API server",
        labelNames: ["kind"],
        registers,
        collect() {
          this.reset();
          for (const [kind, age] of Object.entries(cache.lastEventAgeSeconds()))
            this.set({ kind }, age);
        },
      });
    }
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
