// The one informer everything uses: list, then watch from the list's resourceVersion, with the
// failure handling client-node's own informer lacks (STYLE.md):
// - any error (network, HTTP, a watch ERROR event, 410 Gone) restarts it with capped exponential
//   backoff; a restart is a relist, and only one is ever in flight;
// - a watch that goes quiet (no event, no bookmark) for `stallAfterMs` is aborted and relisted;
// - relists and replayed events are reconciled against the store: handlers see an upsert only when
//   the resourceVersion changed and a remove only for objects that are really gone;
// - `metadataOnly` asks the API server for PartialObjectMetadata, so Secret values never arrive.
// Handlers are synchronous and must not do I/O (they update in-memory state). Connection and
// credentials come from client-node's KubeConfig.
import type { KubeConfig } from "@kubernetes/client-node";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import type { Log } from "../../edge/log.js";
import { METADATA_ACCEPT, METADATA_LIST_ACCEPT } from "./rest.js";

export interface KubeObjectMeta {
  name: string;
  namespace?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
}

export interface InformerObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeObjectMeta;
}

export interface InformerHandlers<T> {
  upsert(obj: T): void;
  remove(obj: T): void;
}

export interface InformerOptions<T extends InformerObject> {
  /** For logs and metrics, e.g. "secrets(metadata)". */
  name: string;
  /** Collection path, e.g. "/api/v1/secrets" or "/apis/rbac.authorization.k8s.io/v1/roles". */
  path: string;
  kind: string;
  apiVersion: string;
  fieldSelector?: string;
  metadataOnly?: boolean;
  /** A 404 on list means "no such kind installed (yet)": treat as empty and synced, look again later. */
  optional?: boolean;
  handlers: InformerHandlers<T>;
  logger: Log;
  stallAfterMs?: number;
  /** Server-side watch timeout; the watch is re-opened from the last resourceVersion after it. */
  watchTimeoutSeconds?: number;
  /** Strips fields the cache must never hold (e.g. Secret data), as a second line of defence. */
  sanitize?: (obj: T) => T;
  backoff?: { initialMs: number; maxMs: number };
}

const PAGE = 500;

interface ListBody<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}
interface WatchEvent<T> {
  type?: string;
  object?: T & { code?: number; message?: string; reason?: string };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const keyOf = (o: InformerObject): string => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;

export class Informer<T extends InformerObject> {
  private readonly store = new Map<string, T>();
  private resourceVersion = "";
  private hasSynced = false;
  private stopped = true;
  private current: ClientRequest | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restarting = false;
  private failures = 0;
  private lastHeard = 0;
  /** Restarts since start, for tests and metrics. */
  restarts = 0;

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: InformerOptions<T>,
  ) {}

  get name(): string {
    return this.opts.name;
  }

  synced(): boolean {
    return this.hasSynced;
  }

  /** Seconds since the API server last sent anything (list, event, bookmark); Infinity before the first. */
  lastEventAgeSeconds(now = Date.now()): number {
    return this.lastHeard === 0 ? Number.POSITIVE_INFINITY : (now - this.lastHeard) / 1000;
  }

  list(): T[] {
    return [...this.store.values()];
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.run();
  }

  stop(): void {
    this.stopped = true;
    this.abortCurrent();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.restartTimer = undefined;
  }

  private abortCurrent(): void {
    const req = this.current;
    this.current = undefined;
    req?.destroy();
  }

  /** One cycle: relist, then watch until something ends it; then schedule exactly one restart. */
  private run(): void {
    this.restarting = false;
    void this.relist()
      .then((listed) => {
        if (this.stopped) return;
        if (!listed) {
          this.scheduleRestart("kind not installed", true);
          return;
        }
        this.watch();
      })
      .catch((err: unknown) =>
        this.scheduleRestart(`list failed: ${err instanceof Error ? err.message : String(err)}`),
      );
  }

  private scheduleRestart(why: string, quiet = false): void {
    if (this.stopped || this.restarting) return;
    this.restarting = true;
    this.abortCurrent();
    if (this.stallTimer) clearTimeout(this.stallTimer);
    const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 500, maxMs: 30_000 };
    const delay = Math.min(maxMs, initialMs * 2 ** Math.min(this.failures, 16));
    this.failures++;
    this.restarts++;
    if (!quiet)
      this.opts.logger.warn("informer restarting", {
        informer: this.opts.name,
        reason: why,
        inMs: delay,
      });
    this.restartTimer = setTimeout(() => this.run(), delay);
    this.restartTimer.unref();
  }

  private async open(
    query: Record<string, string>,
    accept: string,
  ): Promise<{ req: ClientRequest; res: IncomingMessage }> {
    const server = this.kc.getCurrentCluster()?.server.replace(/\/+$/, "");
    if (!server) throw new Error("the kubeconfig has no current cluster");
    const url = new URL(server + this.opts.path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const options: RequestOptions = { method: "GET", headers: {} };
    await this.kc.applyToHTTPSOptions(options);
    options.headers = { ...(options.headers as Record<string, string>), Accept: accept };
    const send = url.protocol === "http:" ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, options, (res) => resolve({ req, res }));
      req.on("error", reject);
      req.end();
      this.current = req;
    });
  }

  private accept(list: boolean): string {
    if (!this.opts.metadataOnly) return "application/json";
    return list ? METADATA_LIST_ACCEPT : METADATA_ACCEPT;
  }

  private normalize(raw: T): T {
    const obj = { ...raw, kind: this.opts.kind, apiVersion: this.opts.apiVersion };
    return this.opts.sanitize ? this.opts.sanitize(obj) : obj;
  }

  /** Lists every page and reconciles the store; false when an optional kind is not served. */
  private async relist(): Promise<boolean> {
    const seen = new Map<string, T>();
    let cont = "";
    let rv = "";
    do {
      const query: Record<string, string> = {
        limit: String(PAGE),
        ...(cont ? { continue: cont } : {}),
        ...(this.opts.fieldSelector ? { fieldSelector: this.opts.fieldSelector } : {}),
      };
      const { res } = await this.open(query, this.accept(true));
      const text = await readAll(res);
      this.current = undefined;
      if (res.statusCode === 404 && this.opts.optional) {
        this.replaceAll(new Map());
        return false;
      }
      if (res.statusCode === 410 && cont) {
        // The continue token expired mid-list: start the list over.
        seen.clear();
        cont = "";
        continue;
      }
      if (res.statusCode !== 200)
        throw new HttpError(
          res.statusCode ?? 0,
          `HTTP ${res.statusCode ?? 0} listing ${this.opts.path}`,
        );
      const body = JSON.parse(text) as ListBody<T>;
      for (const item of body.items ?? []) {
        const obj = this.normalize(item);
        seen.set(keyOf(obj), obj);
      }
      rv = body.metadata?.resourceVersion ?? rv;
      cont = body.metadata?.continue ?? "";
    } while (cont);
    this.replaceAll(seen);
    this.resourceVersion = rv;
    return true;
  }

  private replaceAll(seen: Map<string, T>): void {
    for (const [k, old] of this.store) {
      if (!seen.has(k)) {
        this.store.delete(k);
        this.safely(() => this.opts.handlers.remove(old));
      }
    }
    for (const [k, obj] of seen) {
      const old = this.store.get(k);
      if (
        old &&
        old.metadata.resourceVersion === obj.metadata.resourceVersion &&
        old.metadata.resourceVersion !== undefined
      )
        continue;
      this.store.set(k, obj);
      this.safely(() => this.opts.handlers.upsert(obj));
    }
    this.lastHeard = Date.now();
    this.hasSynced = true;
  }

  /** A handler that throws must not kill the informer; it is a bug, logged without the object. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.logger.error("informer handler failed", {
        informer: this.opts.name,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  private armStall(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(
      () => this.scheduleRestart("watch stalled (no event or bookmark)"),
      this.opts.stallAfterMs ?? 180_000,
    );
    this.stallTimer.unref();
  }

  private watch(): void {
    const query: Record<string, string> = {
      watch: "1",
      allowWatchBookmarks: "true",
      resourceVersion: this.resourceVersion,
      timeoutSeconds: String(this.opts.watchTimeoutSeconds ?? 300),
      ...(this.opts.fieldSelector ? { fieldSelector: this.opts.fieldSelector } : {}),
    };
    this.armStall();
    this.open(query, this.accept(false)).then(
      ({ req, res }) => {
        if (res.statusCode !== 200) {
          res.resume();
          this.scheduleRestart(`HTTP ${res.statusCode ?? 0} opening watch`);
          return;
        }
        const established = Date.now();
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          this.lastHeard = Date.now();
          this.armStall();
          buffer += chunk;
          let nl = buffer.indexOf("\n");
          while (nl >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (line && !this.onEvent(line)) {
              req.destroy();
              return;
            }
            nl = buffer.indexOf("\n");
          }
        });
        const ended = (why: string): void => {
          if (this.current !== req || this.stopped) return;
          this.current = undefined;
          // A watch that lived a while was healthy: its normal end is not a failure.
          if (Date.now() - established > 10_000) this.failures = 0;
          if (why === "end") {
            this.watch(); // server-side timeout: resume from the last resourceVersion, no relist
          } else {
            this.scheduleRestart(why);
          }
        };
        res.on("end", () => ended("end"));
        res.on("error", (e) => ended(`watch stream error: ${e.message}`));
        req.on("error", (e) => ended(`watch error: ${e.message}`));
      },
      (err: unknown) =>
        this.scheduleRestart(`watch failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  /** Applies one watch event; false when the watch must be restarted. */
  private onEvent(line: string): boolean {
    let ev: WatchEvent<T>;
    try {
      ev = JSON.parse(line) as WatchEvent<T>;
    } catch {
      this.scheduleRestart("unparseable watch event");
      return false;
    }
    const obj = ev.object;
    if (!obj) return true;
    switch (ev.type) {
      case "BOOKMARK":
        if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
        return true;
      case "ERROR":
        // 410 Gone: our resourceVersion is too old; any other error: start over too.
        this.scheduleRestart(`watch ERROR ${obj.code ?? ""} ${obj.reason ?? ""}`, obj.code === 410);
        return false;
      case "ADDED":
      case "MODIFIED": {
        const o = this.normalize(obj);
        const k = keyOf(o);
        const old = this.store.get(k);
        if (o.metadata.resourceVersion) this.resourceVersion = o.metadata.resourceVersion;
        if (old && old.metadata.resourceVersion === o.metadata.resourceVersion) return true; // replayed
        this.store.set(k, o);
        this.safely(() => this.opts.handlers.upsert(o));
        return true;
      }
      case "DELETED": {
        const o = this.normalize(obj);
        const k = keyOf(o);
        if (o.metadata.resourceVersion) this.resourceVersion = o.metadata.resourceVersion;
        const old = this.store.get(k);
        if (!old) return true; // replayed
        this.store.delete(k);
        this.safely(() => this.opts.handlers.remove(old));
        return true;
      }
      default:
        return true;
    }
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}
