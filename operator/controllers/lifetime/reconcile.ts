// The lifetime controller: applies onExpiry (Disable, Delete, Notify) and quarantine (suspended)
// by deleting what core/lifetime lists. Idempotent: it acts on what exists, so a replayed key or a
// restart repeats nothing harmful. The NHI is read fresh: suspension must act on the latest spec,
// and un-suspending must stop the deletions at once.
import { lifetimeActions, lifetimeOf } from "../../../core/lifetime/lifetime.js";
import type { NonHumanIdentity } from "../../../core/nhi/types.js";
import { parseTime } from "../../../core/rotation/state.js";
import type { ProcessResult } from "../../k8s/queue.js";
import { nullLog } from "../../../edge/log.js";
import type { ControllerDeps } from "../types.js";
import { lifetimeObjects } from "./decide.js";
import { nhiEventTarget } from "../../k8s/events.js";

export class LifetimeController {
  readonly name = "lifetime";
  constructor(
    private readonly d: ControllerDeps,
    private readonly lastUsedOf: (ns: string, name: string) => number | undefined = () => undefined,
  ) {}

  /** key: "namespace/nhiName". */
  async reconcile(key: string): Promise<ProcessResult> {
    const [ns = "", name = ""] = key.split("/");
    const cached = this.d.source
      .snapshot()
      .nhis.find((n) => n.metadata.namespace === ns && n.metadata.name === name);
    if (cached && cached.spec.lifetime === undefined && cached.spec.suspended !== true) return {};
    const nhi = await this.d.rest.find<NonHumanIdentity>(
      `/apis/nhi.io/v1alpha1/namespaces/${ns}/nonhumanidentities/${name}`,
    );
    if (!nhi) return {};
    const now = (this.d.now ?? Date.now)();
    const lastUsed =
      this.lastUsedOf(ns, nhi.spec.serviceAccountName) ?? parseTime(nhi.status?.lastUsed);
    const state = lifetimeOf({ nhi, now, ...(lastUsed !== undefined ? { lastUsed } : {}) });
    const actions = lifetimeActions(
      state,
      nhi.spec.serviceAccountName,
      lifetimeObjects(this.d.source.snapshot(), nhi),
    );
    const done: string[] = [];
    for (const a of actions) {
      if (a.kind === "DeleteSecret")
        await this.d.rest.remove(`/api/v1/namespaces/${ns}/secrets/${a.name}`);
      else await this.d.rest.remove(`/api/v1/namespaces/${ns}/serviceaccounts/${a.name}`);
      done.push(`${a.kind === "DeleteSecret" ? "Secret" : "ServiceAccount"} ${a.name}`);
    }
    if (done.length > 0) {
      const reason =
        state.state === "Suspended"
          ? "Quarantined"
          : state.state === "Expired" && state.action === "Delete"
            ? "Deleted"
            : "Disabled";
      const why = actions[0]?.why ?? "";
      await this.d.events
        .record({
          target: nhiEventTarget(nhi),
          type: "Warning",
          reason,
          message: `${why}: deleted ${done.join(", ")}`,
        })
        .catch(() => undefined);
      (this.d.log ?? nullLog).info("lifetime applied", { nhi: key, reason, deleted: done });
    }
    if (state.state === "Valid" && state.nextAt !== undefined)
      return { requeueAfterMs: Math.max(1000, state.nextAt - now) };
    if (state.state === "Expiring") return { requeueAfterMs: Math.max(1000, state.nextAt - now) };
    // Expired or suspended: re-check now and then, in case a token Secret is re-created by hand.
    if (state.state === "Expired" || state.state === "Suspended") return { requeueAfterMs: 60_000 };
    return {};
  }
}
