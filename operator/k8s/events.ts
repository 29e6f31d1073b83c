// Kubernetes Events (core/v1) for transitions: one per (object, reason, message) within a window,
// then counted into the same Event, like client-go's EventRecorder does. Messages are built from
// names, phases and reason codes only; a final scrub refuses anything that looks like a token.
import { randomBytes } from "node:crypto";
import { NHI_API_VERSION } from "../../core/nhi/types.js";
import { redactTokens } from "../../core/redact.js";
import type { KubeRest } from "./rest.js";

export interface EventTarget {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

/** An Event's target for a NonHumanIdentity (its uid when known, so the Event follows that object). */
export function nhiEventTarget(nhi: {
  metadata: { namespace?: string; name: string; uid?: string };
}): EventTarget {
  return {
    apiVersion: NHI_API_VERSION,
    kind: "NonHumanIdentity",
    namespace: nhi.metadata.namespace ?? "default",
    name: nhi.metadata.name,
    ...(nhi.metadata.uid ? { uid: nhi.metadata.uid } : {}),
  };
}

export interface RecordedEvent {
  target: EventTarget;
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export interface EventSink {
  record(e: RecordedEvent): Promise<void>;
}

/** An Event message with anything token-shaped redacted (core/redact.ts), at most 1 KiB. */
export function scrub(message: string): string {
  return redactTokens(message, 1024);
}

const COMPONENT = "nhi-operator";

export class EventRecorder implements EventSink {
  private readonly seen = new Map<
    string,
    { name: string; count: number; first: string; at: number }
  >();

  /** `instance`: the replica writing (its Lease identity), so an Event says which replica acted. */
  constructor(
    private readonly rest: KubeRest,
    private readonly windowMs = 10 * 60_000,
    private readonly host = process.env.HOSTNAME ?? "",
    private readonly instance = "",
  ) {}

  async record(e: RecordedEvent): Promise<void> {
    const message = scrub(e.message);
    const now = Date.now();
    const k = `${e.target.namespace}/${e.target.kind}/${e.target.name}/${e.reason}/${message}`;
    const prev = this.seen.get(k);
    const base = `/api/v1/namespaces/${e.target.namespace}/events`;
    const ts = new Date(now).toISOString();
    if (prev && now - prev.at < this.windowMs) {
      prev.count++;
      prev.at = now;
      await this.rest
        .request("PATCH", `${base}/${prev.name}`, {
          body: { count: prev.count, lastTimestamp: ts },
          contentType: "application/merge-patch+json",
        })
        .catch(() => undefined);
      return;
    }
    const name = `${e.target.name}.${randomBytes(8).toString("hex")}`.slice(0, 253);
    this.seen.set(k, { name, count: 1, first: ts, at: now });
    if (this.seen.size > 5000) this.seen.clear();
    await this.rest.request("POST", base, {
      body: {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name, namespace: e.target.namespace },
        involvedObject: {
          apiVersion: e.target.apiVersion,
          kind: e.target.kind,
          namespace: e.target.namespace,
          name: e.target.name,
          ...(e.target.uid ? { uid: e.target.uid } : {}),
        },
        type: e.type,
        reason: e.reason,
        message,
        source: { component: COMPONENT, ...(this.host ? { host: this.host } : {}) },
        reportingComponent: COMPONENT,
        reportingInstance: (this.instance || this.host || COMPONENT).slice(0, 128),
        firstTimestamp: ts,
        lastTimestamp: ts,
        count: 1,
      },
    });
  }
}

/** Keeps events in memory (unit tests of the reconcilers). */
export class MemoryEvents implements EventSink {
  readonly events: RecordedEvent[] = [];
  async record(e: RecordedEvent): Promise<void> {
    this.events.push({ ...e, message: scrub(e.message) });
  }
}
