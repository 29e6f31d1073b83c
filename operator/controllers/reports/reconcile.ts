// Writes the PolicyReports (server-side apply, one per namespace) when the wgpolicyk8s.io CRD is
// installed; otherwise does nothing and looks again later. Only reports whose findings changed are
// written (timestamps aside), so a quiet cluster costs no writes.
import type { Inventory } from "../../../core/inventory/inventory.js";
import { canonical } from "../../k8s/status-writer.js";
import { isNotFound } from "../../k8s/rest.js";
import type { ProcessResult } from "../../k8s/queue.js";
import type { ControllerDeps } from "../types.js";
import { policyReports, REPORT_API, type PolicyReport } from "./decide.js";
import { DEFAULT_ANOMALY_WINDOW_MS } from "../../../core/audit/response.js";
import type { AnomalyRecord } from "../../../core/nhi/types.js";
import { parseTime } from "../../../core/rotation/state.js";

export const REPORTS_KEY = "reports";
const CRD_RECHECK_MS = 5 * 60_000;

const withoutTimestamps = (r: PolicyReport): string =>
  canonical({ ...r, results: r.results.map(({ timestamp: _t, ...x }) => x) });

export class ReportsController {
  readonly name = "reports";
  private readonly written = new Map<string, string>();
  private crd: { available: boolean; checkedAt: number } | undefined;
  writes = 0;

  constructor(
    private readonly d: ControllerDeps,
    private readonly inventory: () => Inventory | undefined,
  ) {}

  async reconcile(_key: string): Promise<ProcessResult> {
    const now = (this.d.now ?? Date.now)();
    if (!this.crd || now - this.crd.checkedAt > CRD_RECHECK_MS) {
      let available = true;
      try {
        await this.d.rest.get(`/apis/${REPORT_API}`);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        available = false;
      }
      this.crd = { available, checkedAt: now };
    }
    if (!this.crd.available) return { requeueAfterMs: CRD_RECHECK_MS };
    const inv = this.inventory();
    if (!inv) return {};
    // Findings within the BehaviourAnomalous window; older ones stay on the NHI's status only.
    const window = this.d.anomalyWindowMs ?? DEFAULT_ANOMALY_WINDOW_MS;
    const nhis = new Map(
      this.d.source
        .snapshot()
        .nhis.map((n) => [`${n.metadata.namespace ?? "default"}/${n.metadata.name}`, n]),
    );
    const anomaliesOf = (ns: string, name: string): AnomalyRecord[] =>
      (nhis.get(`${ns}/${name}`)?.status?.anomalies ?? []).filter(
        (a) => (parseTime(a.lastSeen) ?? 0) + window > now,
      );
    for (const report of policyReports(inv, now, undefined, anomaliesOf)) {
      const k = report.metadata.namespace;
      const text = withoutTimestamps(report);
      if (this.written.get(k) === text) continue;
      await this.d.rest.request(
        "PATCH",
        `/apis/${REPORT_API}/namespaces/${k}/policyreports/${report.metadata.name}`,
        {
          body: report,
          contentType: "application/apply-patch+yaml",
          query: { fieldManager: "nhi-operator", force: true },
        },
      );
      this.written.set(k, text);
      this.writes++;
    }
    return {};
  }
}
