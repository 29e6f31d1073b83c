// The lifetime controller: applies onExpiry (Disable, Delete, Notify) and quarantine (suspended)
// by deleting what core/lifetime lists and parking the identity's RBAC subjects
// (core/lifetime/quarantine.ts; put back once it is no longer suspended). Idempotent: it acts on
// what exists, so a replayed key or a restart repeats nothing harmful. The NHI is read fresh:
// suspension must act on the latest spec, and un-suspending must stop the deletions at once.
import { lifetimeActions, lifetimeOf } from "../../../core/lifetime/lifetime.js";
import type { NonHumanIdentity } from "../../../core/nhi/types.js";
import { parseTime } from "../../../core/rotation/state.js";
import type { ProcessResult } from "../../k8s/queue.js";
import { nullLog } from "../../../edge/log.js";
import type { ControllerDeps } from "../types.js";
import { lifetimeObjects } from "./decide.js";
import { nhiEventTarget } from "../../k8s/events.js";
import {
  parkSubjects,
  parkedSubjects,
  restoreSubjects,
  type BindingLike,
} from "../../../core/lifetime/quarantine.js";
import { retryOnConflict } from "../../k8s/rest.js";
import type { ClusterSnapshot } from "../../../core/snapshot.js";

const bindingPath = (b: {
  kind: string;
  metadata: { name: string; namespace?: string };
}): string =>
  b.kind === "RoleBinding"
    ? `/apis/rbac.authorization.k8s.io/v1/namespaces/${b.metadata.namespace ?? ""}/rolebindings/${b.metadata.name}`
    : `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${b.metadata.name}`;

const bindingsOf = (snapshot: ClusterSnapshot): BindingLike[] =>
  snapshot.rbac.filter(
    (o): o is Extract<typeof o, { kind: "RoleBinding" | "ClusterRoleBinding" }> =>
      o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding",
  );

const bindingName = (b: BindingLike): string =>
  `${b.kind} ${b.metadata.namespace ? `${b.metadata.namespace}/` : ""}${b.metadata.name}`;

export class LifetimeController {
  readonly name = "lifetime";
  constructor(
    private readonly d: ControllerDeps,
    private readonly lastUsedOf: (ns: string, name: string) => number | undefined = () => undefined,
  ) {}

  /**
   * Suspended: take the ServiceAccount's subjects out of every binding that names it, recorded on
   * the binding; not suspended: put back what was taken out for this NHI. Each binding is read
   * fresh and written with its resourceVersion. Records an Event naming the bindings.
   */
  private async quarantineRbac(nhi: NonHumanIdentity, park: boolean): Promise<void> {
    const ns = nhi.metadata.namespace ?? "default";
    const key = `${ns}/${nhi.metadata.name}`;
    const sa = { namespace: ns, name: nhi.spec.serviceAccountName };
    const change = (b: BindingLike): ReturnType<typeof parkSubjects> =>
      park ? parkSubjects(b, sa, key) : restoreSubjects(b, key);
    const moved: string[] = [];
    for (const cached of bindingsOf(this.d.source.snapshot())) {
      if (change(cached) === undefined) continue;
      const done = await retryOnConflict(async () => {
        const fresh = await this.d.rest.find<
          BindingLike & { metadata: { resourceVersion?: string } }
        >(bindingPath(cached));
        if (!fresh) return false;
        const c = change(fresh);
        if (!c) return false;
        await this.d.rest.request("PUT", bindingPath(fresh), {
          body: {
            ...fresh,
            subjects: c.subjects,
            metadata: { ...fresh.metadata, annotations: c.annotations },
          },
        });
        return true;
      });
      if (done) moved.push(bindingName(cached));
    }
    if (moved.length === 0) return;
    const message = park
      ? `suspended: took ServiceAccount ${ns}/${sa.name} out of ${moved.join(", ")} (its tokens get 403 on what they granted; recorded in the ${"nhi.io/parked-subjects"} annotation, put back when spec.suspended is false)`
      : `suspension lifted: put ServiceAccount ${ns}/${sa.name} back into ${moved.join(", ")}`;
    await this.d.events
      .record({
        target: {
          apiVersion: "nhi.io/v1alpha1",
          kind: "NonHumanIdentity",
          namespace: ns,
          name: nhi.metadata.name,
          ...(nhi.metadata.uid ? { uid: nhi.metadata.uid } : {}),
        },
        type: park ? "Warning" : "Normal",
        reason: park ? "Quarantined" : "QuarantineLifted",
        message,
      })
      .catch(() => undefined);
    (this.d.log ?? nullLog).info(park ? "quarantine: bindings parked" : "quarantine lifted", {
      nhi: key,
      bindings: moved,
    });
  }

  /** key: "namespace/nhiName". */
  async reconcile(key: string): Promise<ProcessResult> {
    const [ns = "", name = ""] = key.split("/");
    const snapshot = this.d.source.snapshot();
    const cached = snapshot.nhis.find(
      (n) => n.metadata.namespace === ns && n.metadata.name === name,
    );
    const parked = bindingsOf(snapshot).some((b) =>
      parkedSubjects(b.metadata.annotations).some((p) => p.nhi === key),
    );
    if (cached && cached.spec.lifetime === undefined && cached.spec.suspended !== true && !parked)
      return {};
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
    await this.quarantineRbac(nhi, state.state === "Suspended");
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
    // Expired or suspended: re-check now and then, in case a token Secret (or a binding naming the
    // suspended identity) is created by hand.
    if (state.state === "Expired" || state.state === "Suspended") return { requeueAfterMs: 60_000 };
    return {};
  }
}
