// The response controller (the leader): answers the runtime-detection findings the audit sink
// recorded in an NHI's status.anomalies, as its spec.onAnomaly asks (core/audit/response.ts decides):
// - Notify: nothing more (the sink's Event, the BehaviourAnomalous condition, the metric and the
//   PolicyReport result are the notification);
// - Rotate: ask the credentials controller to re-issue each managed credential (annotation on its
//   Secret; the old token is revoked after the new one is verified, as on any rotation), delete the
//   pods whose bound token was replayed (the pod's uid is in the token: it stops working at once, and
//   the pod's controller re-creates it with a new one), and ask for the replacement of each legacy
//   token Secret whose token was replayed (same annotation; the legacy rotation deletes it once a
//   successor is filled and its consumers moved). A replayed unbound TokenRequest token cannot be
//   revoked by itself: the record says so (never claimed revoked);
// - Suspend: set spec.suspended (the lifetime controller's quarantine: token Secrets revoked,
//   RBAC subjects parked, new pods and TokenRequests denied) until the owner sets it back to false.
// What was done is recorded on each finding (status.anomalies[].response) and as an Event, with the
// evidence and never a token. A finding is answered once: after a crash between the action and the
// record, the action is repeated (each is idempotent) and then recorded.
import {
  evidenceSummary,
  unboundTokenNote,
  responsePlan,
  unanswered,
  withResponses,
  type ResponsePlan,
} from "../../../core/audit/response.js";
import type { NonHumanIdentity } from "../../../core/nhi/types.js";
import { ANNOTATIONS, formatTime } from "../../../core/rotation/state.js";
import { AnomalyWriter, nhiPath } from "../../k8s/anomalies.js";
import { MERGE_PATCH, METADATA_LIST_ACCEPT, isNotFound } from "../../k8s/rest.js";
import { legacyRotationRequested } from "../../../core/rotation/legacy.js";
import {
  SERVICE_ACCOUNT_NAME_ANNOTATION,
  SERVICE_ACCOUNT_TOKEN_TYPE,
} from "../../../core/snapshot.js";
import type { ProcessResult } from "../../k8s/queue.js";
import { nullLog } from "../../../edge/log.js";
import type { ControllerDeps } from "../types.js";
import { errorMessage } from "../credentials/reconcile.js";
import { nhiEventTarget } from "../../k8s/events.js";

const EVENT_REASON = {
  Notify: "AnomalyNotified",
  Rotate: "AnomalyRotated",
  Suspend: "AnomalySuspended",
} as const;

interface SecretMeta {
  metadata: { annotations?: Record<string, string> };
}

interface PodMeta {
  metadata: {
    uid?: string;
    ownerReferences?: { controller?: boolean; kind?: string; name?: string }[];
  };
}

export class ResponseController {
  readonly name = "response";
  private readonly anomalies: AnomalyWriter;

  constructor(private readonly d: ControllerDeps) {
    this.anomalies = new AnomalyWriter(d.rest);
  }

  /** key: "namespace/nhiName". */
  async reconcile(key: string): Promise<ProcessResult> {
    const [ns = "", name = ""] = key.split("/");
    const cached = this.d.source
      .snapshot()
      .nhis.find((n) => n.metadata.namespace === ns && n.metadata.name === name);
    if (!cached || unanswered(cached.status?.anomalies).length === 0) return {};
    const nhi = await this.d.rest.find<NonHumanIdentity>(nhiPath(ns, name));
    if (!nhi) return {};
    const plan = responsePlan(nhi);
    if (!plan) return {};
    const now = (this.d.now ?? Date.now)();
    const done = await this.act(nhi, plan, now);
    const message = done.join("; ");
    await this.anomalies.update(ns, name, (fresh) =>
      withResponses(
        fresh.status?.anomalies,
        plan.answers.map((a) => ({ id: a.anomaly.id, action: a.action, message })),
        formatTime(now),
      ),
    );
    const worst = plan.answers.find((a) => a.action === plan.action) ?? plan.answers[0];
    const findings = plan.answers.map((a) => `${a.anomaly.rule} (${a.anomaly.severity})`);
    await this.d.events
      .record({
        target: nhiEventTarget(nhi),
        type: plan.action === "Notify" ? "Normal" : "Warning",
        reason: EVENT_REASON[plan.action],
        message: `onAnomaly ${plan.action} for ${findings.join(", ")}: ${message}${worst ? `. Evidence: ${evidenceSummary(worst.anomaly)}` : ""}`,
      })
      .catch(() => undefined);
    (this.d.log ?? nullLog).info("anomaly response", {
      nhi: key,
      action: plan.action,
      findings,
      done,
    });
    return {};
  }

  private async act(nhi: NonHumanIdentity, plan: ResponsePlan, now: number): Promise<string[]> {
    const ns = nhi.metadata.namespace ?? "default";
    if (plan.action === "Notify")
      return ["notified (Event, BehaviourAnomalous condition, metric, PolicyReport result)"];
    if (plan.action === "Suspend") {
      if (nhi.spec.suspended === true) return ["already suspended"];
      await this.d.rest.request("PATCH", nhiPath(ns, nhi.metadata.name), {
        contentType: MERGE_PATCH,
        body: { spec: { suspended: true } },
      });
      return [
        `suspended: spec.suspended set to true (token Secrets revoked, RBAC subjects of ${nhi.spec.serviceAccountName} parked, new pods and tokens denied); the owner lifts it by setting spec.suspended to false`,
      ];
    }
    return this.rotate(nhi, plan, now);
  }

  private async rotate(nhi: NonHumanIdentity, plan: ResponsePlan, now: number): Promise<string[]> {
    const { pods } = plan;
    const ns = nhi.metadata.namespace ?? "default";
    const done: string[] = [];
    for (const c of nhi.spec.credentials ?? []) {
      if (c.type !== "ServiceAccountToken" && c.type !== "Generated") continue;
      try {
        await this.d.rest.request("PATCH", `/api/v1/namespaces/${ns}/secrets/${c.secretName}`, {
          contentType: MERGE_PATCH,
          body: { metadata: { annotations: { [ANNOTATIONS.rotateRequestedAt]: formatTime(now) } } },
        });
        done.push(
          `re-issuing credential ${c.name} (Secret ${c.secretName}; the old value is revoked once the new one is verified)`,
        );
      } catch (e) {
        if (!isNotFound(e)) throw e;
        done.push(`credential ${c.name}: Secret ${c.secretName} does not exist yet`);
      }
    }
    for (const p of pods) {
      const path = `/api/v1/namespaces/${p.namespace}/pods/${p.name}`;
      const pod = await this.d.rest.find<PodMeta>(path);
      if (!pod) {
        done.push(`pod ${p.namespace}/${p.name} is gone (its bound token no longer works)`);
        continue;
      }
      const owner = pod.metadata.ownerReferences?.find((o) => o.controller === true);
      if (!owner) {
        done.push(
          `pod ${p.namespace}/${p.name} has no controller to re-create it: not deleted; delete it to revoke its replayed token`,
        );
        continue;
      }
      try {
        await this.d.rest.request("DELETE", path, {
          body: {
            apiVersion: "v1",
            kind: "DeleteOptions",
            ...(pod.metadata.uid ? { preconditions: { uid: pod.metadata.uid } } : {}),
          },
        });
        done.push(
          `deleted pod ${p.namespace}/${p.name} (its replayed bound token stops working; ${owner.kind ?? "its controller"} ${owner.name ?? ""} re-creates it with a new one)`,
        );
      } catch (e) {
        done.push(`pod ${p.namespace}/${p.name}: not deleted (${errorMessage(e)})`);
      }
    }
    for (const l of plan.legacySecrets) done.push(await this.requestLegacyRotation(nhi, l, now));
    if (plan.unbound) done.push(unboundTokenNote(nhi));
    if (done.length === 0)
      done.push(
        "nothing to re-issue: the identity declares no ServiceAccountToken or Generated credential and no replayed pod or legacy token was seen",
      );
    return done;
  }

  /**
   * A replayed legacy token: its Secret is annotated for the credentials controller's legacy
   * rotation (successor created and filled, consumers switched, then the old Secret deleted — only
   * then does the token stop authenticating), whatever the NHI's legacyTokens mode.
   */
  private async requestLegacyRotation(
    nhi: NonHumanIdentity,
    ref: ResponsePlan["legacySecrets"][number],
    now: number,
  ): Promise<string> {
    const what = `legacy token Secret ${ref.namespace}/${ref.name}`;
    // Metadata only (a partial object has no type: the field selector checks it), never the token.
    const [secret] = await this.d.rest.listAll<SecretMeta>(
      `/api/v1/namespaces/${ref.namespace}/secrets`,
      {
        accept: METADATA_LIST_ACCEPT,
        query: {
          fieldSelector: `metadata.name=${ref.name},type=${SERVICE_ACCOUNT_TOKEN_TYPE}`,
        },
      },
    );
    if (!secret) return `${what} is gone (its token no longer authenticates)`;
    const sa = nhi.spec.serviceAccountName;
    if (secret.metadata.annotations?.[SERVICE_ACCOUNT_NAME_ANNOTATION] !== sa)
      return `${what}: not a token Secret of ServiceAccount ${sa}; not rotated`;
    const path = `/api/v1/namespaces/${ref.namespace}/secrets/${ref.name}`;
    if (legacyRotationRequested(secret.metadata.annotations ?? {}))
      return `${what}: its replacement was already requested`;
    await this.d.rest.request("PATCH", path, {
      contentType: MERGE_PATCH,
      body: { metadata: { annotations: { [ANNOTATIONS.rotateRequestedAt]: formatTime(now) } } },
    });
    return `replacing ${what}: a successor is created and filled, its consumers are switched to it, then ${ref.name} is deleted and its replayed token stops authenticating (LegacyRotation* Events follow the steps)`;
  }
}
