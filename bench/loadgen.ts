// The load generator of the webhook benchmark, a process of its own (forked per window by
// bench/webhook.ts): keep-alive HTTPS agents posting AdmissionReviews, as the API server does.
// - "rate": open loop. Requests are sent on a fixed schedule whether or not earlier ones were
//   answered, and each latency counts from the request's scheduled send time, so a stalled server
//   is charged for every request that waited (no coordinated omission).
// - "saturate": closed loop, `connections` requests in flight at all times; throughput is the figure.
// A warm-up at the same load (not measured) opens the connections first; the parent is told when
// the measured window begins so the server's own figures cover the same span.
import { Agent, request } from "node:https";

export interface LoadSpec {
  url: string;
  ca: string;
  bodies: string[];
  mode: "rate" | "saturate";
  /** Reviews per second (rate mode). */
  rate: number;
  connections: number;
  warmupSeconds: number;
  seconds: number;
}

export interface LoadResult {
  sent: number;
  ok: number;
  errors: number;
  denied: number;
  /** Still unanswered DRAIN_SECONDS after the window: counted with the latency they had reached then. */
  timedOut: number;
  seconds: number;
  latenciesMs: number[];
}

/**
 * How long, after a window, requests still in flight are waited for. The API server gives up on a
 * webhook after its timeoutSeconds (10 s by default); an overloaded server must not hold the run.
 */
const DRAIN_SECONDS = 10;

export type LoadMessage = { measuring: true } | { result: LoadResult } | { error: string };

function post(agent: Agent, url: URL, body: string): Promise<{ status: number; allowed: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        agent,
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, allowed: text.includes('"allowed":true') }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export async function generateLoad(
  spec: LoadSpec,
  onMeasuring: () => void = () => undefined,
): Promise<LoadResult> {
  // Open loop needs room for requests that queue behind a pause; the API server opens more too.
  const agent = new Agent({
    keepAlive: true,
    maxSockets: spec.mode === "rate" ? Math.max(spec.connections, 64) : spec.connections,
    ca: spec.ca,
  });
  const url = new URL(spec.url);
  let lat: number[] = [];
  let sent = 0,
    ok = 0,
    errors = 0,
    denied = 0,
    next = 0;
  const pending = new Set<{ scheduled: number }>();
  const one = async (scheduled: number): Promise<void> => {
    const body = spec.bodies[next++ % spec.bodies.length] as string;
    sent++;
    const mine = { scheduled };
    pending.add(mine);
    try {
      const r = await post(agent, url, body);
      if (r.status === 200) ok++;
      else errors++;
      if (!r.allowed) denied++;
    } catch {
      errors++;
    }
    // Answered after the window was closed: already counted as timed out.
    if (pending.delete(mine)) lat.push(performance.now() - scheduled);
  };
  let timedOut = 0;
  /** Waits for `inflight` up to DRAIN_SECONDS; what is still pending then is timed out. */
  const drain = async (inflight: Iterable<Promise<void>>): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(inflight),
      new Promise<void>((r) => {
        timer = setTimeout(r, DRAIN_SECONDS * 1000);
      }),
    ]);
    clearTimeout(timer);
    const at = performance.now();
    for (const p of pending) {
      lat.push(at - p.scheduled);
      timedOut++;
    }
    pending.clear();
  };
  const run = async (seconds: number): Promise<number> => {
    const start = performance.now();
    const end = start + seconds * 1000;
    if (spec.mode === "saturate") {
      await drain(
        Array.from({ length: spec.connections }, async () => {
          while (performance.now() < end) await one(performance.now());
        }),
      );
    } else {
      const interval = 1000 / spec.rate;
      const inflight = new Set<Promise<void>>();
      let due = start;
      while (due < end) {
        const t = performance.now();
        while (due <= t && due < end) {
          const p = one(due);
          inflight.add(p);
          void p.finally(() => inflight.delete(p));
          due += interval;
        }
        // Sleep until the next send is due (a spinning loop would steal the server's core).
        await sleep(due - performance.now());
      }
      await drain(inflight);
    }
    return (performance.now() - start) / 1000;
  };
  await run(spec.warmupSeconds);
  lat = [];
  sent = 0;
  ok = 0;
  errors = 0;
  denied = 0;
  timedOut = 0;
  onMeasuring();
  const seconds = await run(spec.seconds);
  agent.destroy();
  return { sent, ok, errors, denied, timedOut, seconds, latenciesMs: lat.sort((a, b) => a - b) };
}

if (process.send) {
  process.once("message", (spec: LoadSpec) => {
    generateLoad(spec, () => process.send?.({ measuring: true } satisfies LoadMessage)).then(
      (result) => process.send?.({ result } satisfies LoadMessage, () => process.exit(0)),
      (err: unknown) =>
        process.send?.(
          { error: err instanceof Error ? err.message : String(err) } satisfies LoadMessage,
          () => process.exit(1),
        ),
    );
  });
}
