// The inventory controller: one key ("all"), so a burst of changes collapses into one pass (the
// queue de-duplicates). A pass reads the source's snapshot, the facts of declared observed
// credentials and of every TLS Secret's certificate, builds the inventory (core), writes each NHI's
// status when it changed, records Events on transitions (an undeclared TLS Secret's on the Secret),
// and wakes up again when the clock alone would change something.
import {
  buildInventory,
  desiredStatus,
  tlsNextAt,
  type Inventory,
  type TlsCertificateRecord,
} from "../../../core/inventory/index.js";
import { ADMISSION_DEFAULTS, resolvePolicy } from "../../../core/policy/settings.js";
import { anomalyConditionChangesAt } from "../../../core/audit/response.js";
import type { NonHumanIdentity, NonHumanIdentityStatus } from "../../../core/nhi/types.js";
import { canonical } from "../../k8s/status-writer.js";
import { isNotFound } from "../../k8s/rest.js";
import type { ProcessResult } from "../../k8s/queue.js";
import { nullLog } from "../../../edge/log.js";
import type { ControllerDeps } from "../types.js";
import { tlsTransitionEvents, transitionEvents } from "./decide.js";
import { CredentialFactsReader, TlsCertificateReader } from "./facts.js";
import { nhiEventTarget } from "../../k8s/events.js";

export const INVENTORY_KEY = "all";
/** Even when nothing changes, look again this often. */
export const RESYNC_MS = 5 * 60_000;

export class InventoryController {
  readonly name = "inventory";
  private latest: Inventory | undefined;
  private readonly facts: CredentialFactsReader;
  private readonly tls: TlsCertificateReader;
  /** Health of each TLS Secret's certificate at the last pass ("ns/name" → health), for Events on transitions. */
  private tlsSeen = new Map<string, TlsCertificateRecord["health"]>();
  /** What this process last wrote per NHI: the source's copy may lag behind our own writes. */
  private readonly written = new Map<
    string,
    { status: string; phase?: string; value: NonHumanIdentityStatus }
  >();
  private readonly listeners = new Set<(inv: Inventory) => void>();
  passes = 0;

  constructor(private readonly d: ControllerDeps) {
    this.facts = new CredentialFactsReader(d.rest);
    this.tls = new TlsCertificateReader(d.rest);
  }

  inventory(): Inventory | undefined {
    return this.latest;
  }

  onInventory(fn: (inv: Inventory) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async reconcile(_key: string): Promise<ProcessResult> {
    const now = (this.d.now ?? Date.now)();
    const snapshot = this.d.source.snapshot();
    const policy = resolvePolicy(snapshot.policies, ADMISSION_DEFAULTS, new Date(now));
    const credentialFacts = await this.facts.read(snapshot);
    const tlsReadings = await this.tls.read(snapshot);
    const inv = buildInventory(snapshot, this.d.source, {
      now,
      policy,
      credentialFacts,
      tlsReadings,
      ...(this.d.source.identityGraph ? { graph: this.d.source.identityGraph() } : {}),
      ...(this.d.unusedAfterMs !== undefined ? { unusedAfterMs: this.d.unusedAfterMs } : {}),
    });
    this.latest = inv;
    this.passes++;
    // The inventory is complete once built; status writes follow (rate-limited, one per changed NHI).
    for (const l of this.listeners) l(inv);
    let next = Math.min(
      now + RESYNC_MS,
      tlsNextAt(inv.tlsCertificates, now) ?? Number.POSITIVE_INFINITY,
    );
    let firstError: unknown;
    for (const nhi of snapshot.nhis) {
      const ns = nhi.metadata.namespace ?? "default";
      const k = `${ns}/${nhi.metadata.name}`;
      const rec = inv.byNhi.get(k);
      if (!rec) continue;
      if (rec.nextAt !== undefined) next = Math.min(next, rec.nextAt);
      try {
        const known = this.known(nhi);
        await this.writeStatus(nhi, desiredStatus(known, rec, now, this.d.anomalyWindowMs), rec);
        const turns = anomalyConditionChangesAt(
          known.status?.anomalies,
          now,
          this.d.anomalyWindowMs,
        );
        if (turns !== undefined) next = Math.min(next, turns);
      } catch (e) {
        if (!isNotFound(e)) firstError ??= e; // an NHI deleted meanwhile is not an error
      }
    }
    await this.recordTlsEvents(inv.tlsCertificates);
    if (firstError !== undefined) throw firstError;
    return { requeueAfterMs: Math.max(1000, next - now + 500) };
  }

  /**
   * Warning Events on TLS Secrets whose certificate turned Expiring, Expired or Unreadable since the
   * last pass. Nothing persists the previous health, so a new process reports each bad one once.
   */
  private async recordTlsEvents(records: readonly TlsCertificateRecord[]): Promise<void> {
    const previous = this.tlsSeen;
    this.tlsSeen = new Map(records.map((r) => [`${r.namespace}/${r.secretName}`, r.health]));
    for (const r of records) {
      for (const e of tlsTransitionEvents(previous.get(`${r.namespace}/${r.secretName}`), r)) {
        await this.d.events
          .record({
            target: {
              apiVersion: "v1",
              kind: "Secret",
              namespace: r.namespace,
              name: r.secretName,
            },
            ...e,
          })
          .catch((err: unknown) =>
            (this.d.log ?? nullLog).debug("event not recorded", {
              reason: e.reason,
              error: String(err),
            }),
          );
      }
    }
  }

  /**
   * The NHI with the status this process last wrote when the source has not caught up yet; its
   * status.anomalies always as the source has it (the audit sink writes them, not this controller).
   */
  private known(nhi: NonHumanIdentity): NonHumanIdentity {
    const w = this.written.get(
      `${nhi.metadata.namespace ?? "default"}/${nhi.metadata.name}/${nhi.metadata.uid ?? ""}`,
    );
    if (!w) return nhi;
    const { anomalies: _stale, ...value } = w.value;
    const anomalies = nhi.status?.anomalies;
    return { ...nhi, status: anomalies ? { ...value, anomalies } : value };
  }

  private async writeStatus(
    nhi: NonHumanIdentity,
    desired: NonHumanIdentityStatus,
    rec: Parameters<typeof transitionEvents>[2],
  ): Promise<void> {
    const ns = nhi.metadata.namespace ?? "default";
    const k = `${ns}/${nhi.metadata.name}/${nhi.metadata.uid ?? ""}`;
    const before = this.known(nhi).status;
    const text = canonical(desired);
    if (canonical(before ?? {}) === text) return;
    await this.d.status.write(ns, nhi.metadata.name, before, desired);
    this.written.set(k, {
      status: text,
      ...(desired.phase ? { phase: desired.phase } : {}),
      value: desired,
    });
    for (const e of transitionEvents(before, desired, rec)) {
      await this.d.events
        .record({
          target: nhiEventTarget(nhi),
          ...e,
        })
        .catch((err: unknown) =>
          (this.d.log ?? nullLog).debug("event not recorded", {
            reason: e.reason,
            error: String(err),
          }),
        );
    }
  }
}
