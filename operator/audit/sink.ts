// The audit sink: kube-apiserver's webhook backend (--audit-webhook-config-file, batch mode) POSTs
// audit.k8s.io/v1 EventLists here, on a port and certificate of its own. Events wait in a bounded
// queue and are judged by core/audit one at a time; a batch that does not fit is refused with 429
// and Retry-After (the API server retries it, then drops it on its side) and counted, so a flood
// costs bounded memory and CPU. New findings go to `onFinding` (Events, metrics, the NHI's
// status.anomalies); findings that grew go to `onUpdate` now and then (their last seen and count).
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { Counter, Gauge, type Registry } from "prom-client";
import {
  AUDIT_RULE_IDS,
  SEVERITIES,
  parseEventList,
  type AuditDetector,
  type AuditEvent,
  type AuditFinding,
} from "../../core/audit/index.js";
import type { Log } from "../../edge/log.js";
import { closeServer } from "../../edge/close-server.js";

export interface AuditSinkOptions {
  host: string;
  port: number;
  tls: { cert: string | Buffer; key: string | Buffer };
  detector: AuditDetector;
  /** Events waiting to be judged, at most (default 20,000: a hundred full batches). */
  capacity?: number;
  /** Largest request body accepted (default 16 MiB). */
  maxBodyBytes?: number;
  onFinding(f: AuditFinding): void;
  /** Findings that grew since (more events, a later last seen), at most every `updateEveryMs`. */
  onUpdate?(f: AuditFinding): void;
  /** Default 15 s. */
  updateEveryMs?: number;
  registry?: Registry;
  logger: Log;
}

export interface RunningAuditSink {
  server: Server;
  url: string;
  /** Events refused (queue full) and bad items skipped, since start. */
  stats(): { accepted: number; refused: number; invalid: number; queued: number };
  close(): Promise<void>;
}

export async function startAuditSink(opts: AuditSinkOptions): Promise<RunningAuditSink> {
  const capacity = opts.capacity ?? 20_000;
  const maxBody = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  const queue: AuditEvent[] = [];
  let head = 0;
  const counts = { accepted: 0, refused: 0, invalid: 0 };
  const registers = opts.registry ? [opts.registry] : [];
  const events = new Counter({
    name: "nhi_audit_events_total",
    help: "Audit events received by the sink, by outcome (accepted, refused: queue full, invalid)",
    labelNames: ["outcome"],
    registers,
  });
  const findings = new Counter({
    name: "nhi_audit_findings_total",
    help: "New runtime-detection findings by rule and severity",
    labelNames: ["rule", "severity"],
    registers,
  });
  for (const rule of AUDIT_RULE_IDS)
    for (const severity of SEVERITIES) findings.inc({ rule, severity }, 0);
  if (opts.registry) {
    new Gauge({
      name: "nhi_audit_queue_events",
      help: "Audit events waiting to be judged",
      registers,
      collect() {
        this.set(queue.length - head);
      },
    });
  }

  // One drain at a time, yielding between slices so the server keeps answering.
  let draining = false;
  const drain = (): void => {
    if (draining) return;
    draining = true;
    const step = (): void => {
      const end = Math.min(queue.length, head + 500);
      for (; head < end; head++) {
        const e = queue[head];
        if (!e) continue;
        for (const f of opts.detector.observe(e)) {
          findings.inc({ rule: f.rule, severity: f.severity });
          opts.onFinding(f);
        }
      }
      if (head >= queue.length) {
        queue.length = 0;
        head = 0;
        draining = false;
        return;
      }
      setImmediate(step);
    };
    setImmediate(step);
  };

  const updates = opts.onUpdate
    ? setInterval(() => {
        for (const f of opts.detector.takeUpdated()) opts.onUpdate?.(f);
      }, opts.updateEveryMs ?? 15_000)
    : undefined;
  updates?.unref();

  const server = createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
    const reply = (code: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(code, { "Content-Type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "POST")
      return reply(405, { message: "POST audit.k8s.io/v1 EventLists here" });
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > maxBody) tooLarge = true;
      else chunks.push(c);
    });
    req.on("end", () => {
      if (tooLarge)
        return reply(413, {
          message: `batch larger than ${maxBody} bytes; lower --audit-webhook-batch-max-size`,
        });
      let parsed: ReturnType<typeof parseEventList>;
      try {
        parsed = parseEventList(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        events.inc({ outcome: "invalid" });
        counts.invalid++;
        return reply(400, { message: "not JSON" });
      }
      if ("error" in parsed) {
        events.inc({ outcome: "invalid" });
        counts.invalid++;
        return reply(400, { message: parsed.error });
      }
      if (parsed.errors.length > 0) {
        counts.invalid += parsed.errors.length;
        events.inc({ outcome: "invalid" }, parsed.errors.length);
        opts.logger.warn("audit events skipped", {
          count: parsed.errors.length,
          first: parsed.errors[0],
        });
      }
      if (queue.length - head + parsed.events.length > capacity) {
        counts.refused += parsed.events.length;
        events.inc({ outcome: "refused" }, parsed.events.length);
        return reply(429, { message: "audit queue full, retry later" }, { "Retry-After": "1" });
      }
      for (const e of parsed.events) queue.push(e);
      counts.accepted += parsed.events.length;
      events.inc({ outcome: "accepted" }, parsed.events.length);
      drain();
      reply(200, {});
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `https://${addr.address.includes(":") ? `[${addr.address}]` : addr.address}:${addr.port}/audit`;
  opts.logger.info("audit sink serving", { url, capacity });
  return {
    server,
    url,
    stats: () => ({ ...counts, queued: queue.length - head }),
    close: async () => {
      if (updates) clearInterval(updates);
      await closeServer(server, 2_000); // a batch in flight is taken; the API server retries the rest
    },
  };
}
