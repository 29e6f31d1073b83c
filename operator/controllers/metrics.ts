// Prometheus metrics of the reconcilers. Registered on the registry the caller gives (the one the
// webhook serves on /metrics), so one scrape sees both roles. Gauges are computed at scrape time
// from the latest inventory: no per-pass bookkeeping, no stale series for deleted identities.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Inventory } from "../../core/inventory/inventory.js";
import { parseTime } from "../../core/rotation/state.js";
import type { WorkQueue } from "../k8s/queue.js";
import type { ControllerMetricsSink } from "./types.js";

export class ControllerMetrics implements ControllerMetricsSink {
  private readonly rotations: Counter<"namespace" | "type" | "step" | "result">;
  private readonly duration: Histogram<"controller" | "result">;
  private inventory: Inventory | undefined;
  private readonly queues: WorkQueue[] = [];

  constructor(registry: Registry) {
    const registers = [registry];
    this.rotations = new Counter({
      name: "nhi_rotation_steps_total",
      help: "Rotation steps performed (Create, Begin, Issue, Verify, Rollout, Revoke) by result",
      labelNames: ["namespace", "type", "step", "result"],
      registers,
    });
    this.duration = new Histogram({
      name: "nhi_reconcile_duration_seconds",
      help: "Time to reconcile one key",
      labelNames: ["controller", "result"],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    // Gauges collect from the latest inventory at scrape time (collect() runs with the gauge as `this`).
    const latest = (): Inventory | undefined => this.inventory;
    const queues = this.queues;
    new Gauge({
      name: "nhi_identities",
      help: "ServiceAccounts by inventory phase, namespace and whether an NHI claims them",
      labelNames: ["namespace", "phase", "claimed"],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const r of latest()?.identities ?? []) {
          const k = `${r.namespace}\u0000${r.phase}\u0000${r.shadow ? "false" : "true"}`;
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        for (const [k, n] of counts) {
          const [namespace = "", phase = "", claimed = ""] = k.split("\u0000");
          this.set({ namespace, phase, claimed }, n);
        }
      },
    });
    new Gauge({
      name: "nhi_credential_expiry_timestamp_seconds",
      help: "When each declared credential expires (Unix seconds)",
      labelNames: ["namespace", "nhi", "credential", "type"],
      registers,
      collect() {
        this.reset();
        for (const r of latest()?.identities ?? []) {
          for (const c of r.credentials) {
            const at = parseTime(c.expiresAt);
            if (at !== undefined && r.nhi)
              this.set(
                { namespace: r.namespace, nhi: r.nhi, credential: c.name, type: c.type },
                at / 1000,
              );
          }
        }
      },
    });
    // Every kubernetes.io/tls Secret, declared by an NHI or not (one series per TLS Secret: bounded by
    // the cluster's TLS Secrets, no free text), like cert-manager's certmanager_certificate_expiration_timestamp_seconds.
    new Gauge({
      name: "nhi_tls_certificate_expiration_timestamp_seconds",
      help: "When the certificate (tls.crt) of each kubernetes.io/tls Secret expires (Unix seconds)",
      labelNames: ["namespace", "secret"],
      registers,
      collect() {
        this.reset();
        for (const t of latest()?.tlsCertificates ?? []) {
          const at = parseTime(t.notAfter);
          if (at !== undefined)
            this.set({ namespace: t.namespace, secret: t.secretName }, at / 1000);
        }
      },
    });
    new Gauge({
      name: "nhi_tls_certificates",
      help: "kubernetes.io/tls Secrets by namespace and certificate health (Valid, Expiring, Expired, Unreadable)",
      labelNames: ["namespace", "health"],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const t of latest()?.tlsCertificates ?? [])
          counts.set(
            `${t.namespace}\u0000${t.health}`,
            (counts.get(`${t.namespace}\u0000${t.health}`) ?? 0) + 1,
          );
        for (const [k, n] of counts) {
          const [namespace = "", health = ""] = k.split("\u0000");
          this.set({ namespace, health }, n);
        }
      },
    });
    new Gauge({
      name: "nhi_identity_risk_score",
      help: "Risk score 0-100 of each claimed identity",
      labelNames: ["namespace", "nhi"],
      registers,
      collect() {
        this.reset();
        for (const r of latest()?.identities ?? [])
          if (r.nhi) this.set({ namespace: r.namespace, nhi: r.nhi }, r.risk.score ?? 0);
      },
    });
    new Gauge({
      name: "nhi_queue_depth",
      help: "Keys waiting in each controller's work queue",
      labelNames: ["queue"],
      registers,
      collect() {
        this.reset();
        for (const q of queues) this.set({ queue: q.name }, q.stats().depth);
      },
    });
  }

  observeInventory(inv: Inventory): void {
    this.inventory = inv;
  }

  watchQueue(q: WorkQueue): void {
    this.queues.push(q);
  }

  rotation(namespace: string, type: string, step: string, result: "ok" | "error"): void {
    this.rotations.inc({ namespace, type, step, result });
  }

  reconciled(controller: string, seconds: number, ok: boolean): void {
    this.duration.observe({ controller, result: ok ? "ok" : "error" }, seconds);
  }
}
