// The reconcilers' composition: one function operator/main.ts calls once this replica leads (after
// the cluster cache's inventory tier has synced). Each controller has its own keyed queue; the
// cache's change notifications only add keys.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import type { Inventory } from "../../core/inventory/inventory.js";
import { runWorkers, WorkQueue } from "../k8s/queue.js";
import { CredentialsController } from "./credentials/reconcile.js";
import { issuingNhis } from "./credentials/decide.js";
import { inventoryDocument } from "../../core/inventory/document.js";
import { ROLLOUT_RESTART_KINDS } from "../../core/workloads/pod-template.js";
import { INVENTORY_KEY, InventoryController } from "./inventory/reconcile.js";
import { LifetimeController } from "./lifetime/reconcile.js";
import { REPORTS_KEY, ReportsController } from "./reports/reconcile.js";
import { ResponseController } from "./response/reconcile.js";
import { ControllerMetrics } from "./metrics.js";
import { nullLog } from "../../edge/log.js";
import type { ControllerDeps } from "./types.js";

export type { ControllerDeps } from "./types.js";
export type { InventorySource, ObjectChange } from "../k8s/cache/view.js";

/** Changes within this window are folded into one inventory pass. */
export const INVENTORY_DEBOUNCE_MS = 1000;

export interface StartOptions extends ControllerDeps {
  /** Registers the reconcilers' metrics here (the registry the webhook serves). */
  registry?: Registry;
  credentialWorkers?: number;
}

export interface RunningControllers {
  inventory(): Inventory | undefined;
  /** GET /inventory[?namespace=ns] as JSON; 503 until the first pass. Plain node handler (express can mount it). */
  inventoryHandler(req: IncomingMessage, res: ServerResponse): void;
  queues: {
    inventory: WorkQueue;
    credentials: WorkQueue;
    lifetime: WorkQueue;
    reports: WorkQueue;
    response: WorkQueue;
  };
  /** Resolves after the first complete inventory pass. */
  firstInventory: Promise<Inventory>;
  stop(): Promise<void>;
}

export function startControllers(o: StartOptions): RunningControllers {
  const log = o.log ?? nullLog;
  const metrics = o.registry ? new ControllerMetrics(o.registry) : undefined;
  const deps: ControllerDeps = { ...o, ...(metrics ? { metrics } : {}) };
  const inventory = new InventoryController(deps);
  const credentials = new CredentialsController(deps);
  const lifetime = new LifetimeController(deps, (ns, sa) => {
    const r = inventory.inventory()?.identities.find((x) => x.namespace === ns && x.name === sa);
    return r?.lastUsed ? Date.parse(r.lastUsed) : undefined;
  });
  const reports = new ReportsController(deps, () => inventory.inventory());
  const response = new ResponseController(deps);
  const queues = {
    inventory: new WorkQueue("inventory"),
    credentials: new WorkQueue("credentials"),
    lifetime: new WorkQueue("lifetime"),
    reports: new WorkQueue("reports"),
    response: new WorkQueue("response"),
  };
  for (const q of Object.values(queues)) metrics?.watchQueue(q);

  let resolveFirst: (inv: Inventory) => void = () => undefined;
  const firstInventory = new Promise<Inventory>((r) => (resolveFirst = r));
  inventory.onInventory((inv) => {
    resolveFirst(inv);
    metrics?.observeInventory(inv);
    queues.reports.add(REPORTS_KEY);
    // Expired and suspended identities: the lifetime controller applies onExpiry / quarantine.
    for (const [k, rec] of inv.byNhi)
      if (rec.phase === "Expired" || rec.phase === "Suspended" || rec.phase === "Expiring")
        queues.lifetime.add(k);
  });

  const enqueueAllNhis = (): void => {
    for (const n of o.source.snapshot().nhis) {
      const k = `${n.metadata.namespace ?? "default"}/${n.metadata.name}`;
      queues.credentials.add(k);
      queues.lifetime.add(k);
      queues.response.add(k);
    }
  };
  const unsubscribe = o.source.onChange((c) => {
    // A full pass per burst, not per event: changes within a second share one pass.
    queues.inventory.addAfter(INVENTORY_KEY, INVENTORY_DEBOUNCE_MS);
    if (c.kind === "NonHumanIdentity" && c.namespace) {
      queues.credentials.add(`${c.namespace}/${c.name}`);
      queues.lifetime.add(`${c.namespace}/${c.name}`);
      // Findings the audit sink recorded in status.anomalies wait for their onAnomaly response.
      queues.response.add(`${c.namespace}/${c.name}`);
    } else if (c.kind === "Secret" && c.namespace) {
      for (const n of issuingNhis(o.source.snapshot(), c.namespace))
        queues.credentials.add(`${c.namespace}/${n}`);
    } else if (ROLLOUT_RESTART_KINDS.has(c.kind)) {
      // A new consumer matters to a rotation waiting in RollingOut; cheap to re-check.
      if (c.namespace)
        for (const n of issuingNhis(o.source.snapshot(), c.namespace))
          queues.credentials.add(`${c.namespace}/${n}`);
    }
  });
  if (o.source.inventorySynced()) {
    queues.inventory.add(INVENTORY_KEY);
    enqueueAllNhis();
  }

  const hooks = (name: string) => ({
    onError: (key: string, err: unknown, retryInMs: number) =>
      log.warn("reconcile failed", {
        controller: name,
        key,
        retryInMs,
        error: err instanceof Error ? err.message : String(err),
      }),
    onProcessed: (_key: string, ms: number, ok: boolean) =>
      metrics?.reconciled(name, ms / 1000, ok),
  });
  const running = Promise.all([
    runWorkers(queues.inventory, 1, (k) => inventory.reconcile(k), hooks("inventory")),
    runWorkers(
      queues.credentials,
      o.credentialWorkers ?? 2,
      (k) => credentials.reconcile(k),
      hooks("credentials"),
    ),
    runWorkers(queues.lifetime, 1, (k) => lifetime.reconcile(k), hooks("lifetime")),
    runWorkers(queues.reports, 1, (k) => reports.reconcile(k), hooks("reports")),
    runWorkers(queues.response, 1, (k) => response.reconcile(k), hooks("response")),
  ]);

  return {
    inventory: () => inventory.inventory(),
    queues,
    firstInventory,
    inventoryHandler(req, res) {
      const inv = inventory.inventory();
      if (!inv) {
        res
          .writeHead(503, { "content-type": "application/json" })
          .end(JSON.stringify({ error: "inventory not ready" }));
        return;
      }
      const ns = new URL(req.url ?? "/", "http://x").searchParams.get("namespace") ?? undefined;
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify(inventoryDocument(inv, ns)));
    },
    async stop() {
      unsubscribe();
      for (const q of Object.values(queues)) q.shutdown();
      await running;
    },
  };
}
