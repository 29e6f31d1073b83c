// The reconcilers' API client: JSON over HTTPS with credentials from @kubernetes/client-node's
// KubeConfig, a client-side rate limit (token bucket, like client-go's QPS/burst) and a request
// count (the benchmark reports it). Errors carry the status code and the API server's reason and
// message, never a request body: bodies may hold Secret data.
import { KubeConfig } from "@kubernetes/client-node";
import { request as httpsRequest, Agent, type RequestOptions } from "node:https";
import { request as httpRequest } from "node:http";
import { readFileSync } from "node:fs";

export class ApiError extends Error {
  /** `detail`: the API server's own message (its Status), without method, path or code. */
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
    readonly detail: string,
  ) {
    super(`${method} ${path}: HTTP ${status}${reason ? ` ${reason}` : ""}: ${detail}`);
    this.name = "ApiError";
  }
}

export const isConflict = (e: unknown): boolean => e instanceof ApiError && e.status === 409;
export const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.status === 404;
export const isAlreadyExists = (e: unknown): boolean =>
  e instanceof ApiError && e.status === 409 && e.reason === "AlreadyExists";

export interface RequestOptionsLite {
  body?: unknown;
  contentType?: string;
  accept?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
}

export const MERGE_PATCH = "application/merge-patch+json";
/**
 * Accept headers asking for metadata only (PartialObjectMetadata[List]), falling back to JSON for
 * servers that cannot: how Secrets are read wherever their values are not needed.
 */
export const METADATA_ACCEPT =
  "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";
export const METADATA_LIST_ACCEPT =
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

/** Token bucket: `qps` per second, bursts of `burst`. */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private chain: Promise<void> = Promise.resolve();
  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }
  /** Resolves when a token is available; callers are served in order. */
  take(): Promise<void> {
    const next = this.chain.then(async () => {
      const t = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
      this.last = t;
      if (this.tokens < 1) {
        const waitMs = ((1 - this.tokens) / this.qps) * 1000;
        await new Promise((r) => setTimeout(r, waitMs));
        this.tokens = 1;
        this.last = this.now();
      }
      this.tokens -= 1;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}

export interface KubeRestOptions {
  qps?: number;
  burst?: number;
}

export class KubeRest {
  readonly server: string;
  /** Requests sent, by method. */
  readonly requests: Record<string, number> = {};
  private readonly limiter: RateLimiter;
  private agent: Agent | undefined;

  constructor(
    readonly config: KubeConfig,
    opts: KubeRestOptions = {},
  ) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    this.server = cluster.server.replace(/\/+$/, "");
    this.limiter = new RateLimiter(opts.qps ?? 50, opts.burst ?? 100);
  }

  static fromFile(path: string, opts?: KubeRestOptions): KubeRest {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return new KubeRest(kc, opts);
  }

  static fromDefault(opts?: KubeRestOptions): KubeRest {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return new KubeRest(kc, opts);
  }

  /** The CA bundle of the current cluster (public data), for kubeconfigs the operator writes. */
  caData(): string | undefined {
    const c = this.config.getCurrentCluster();
    if (c?.caData) return c.caData;
    if (c?.caFile) {
      try {
        return readFileSync(c.caFile).toString("base64");
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  totalRequests(): number {
    return Object.values(this.requests).reduce((a, b) => a + b, 0);
  }

  async request<T>(method: string, path: string, opts: RequestOptionsLite = {}): Promise<T> {
    await this.limiter.take();
    this.requests[method] = (this.requests[method] ?? 0) + 1;
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const options: RequestOptions = { method, headers: {} };
    await this.config.applyToHTTPSOptions(options);
    // One keep-alive agent for every call (client-node builds one per call otherwise).
    if (url.protocol === "https:") {
      this.agent ??= new Agent({
        keepAlive: true,
        maxSockets: 16,
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        rejectUnauthorized: options.rejectUnauthorized,
        servername: options.servername,
      });
      options.agent = this.agent;
    }
    const headers = (options.headers ?? {}) as Record<string, string>;
    options.headers = headers;
    headers.Accept = opts.accept ?? "application/json";
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers["Content-Type"] = opts.contentType ?? "application/json";
      // Node sends a DELETE body unframed (no chunking): without a length it leaks into the next
      // request on the kept-alive connection.
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          if (status >= 200 && status < 300) {
            resolve(body as T);
            return;
          }
          const b = (body ?? {}) as { reason?: string; message?: string };
          reject(
            new ApiError(
              method,
              url.pathname,
              status,
              b.reason ?? "",
              (b.message ?? text.slice(0, 200)).slice(0, 500),
            ),
          );
        });
      });
      req.setTimeout(opts.timeoutMs ?? 30_000, () =>
        req.destroy(new Error(`${method} ${url.pathname}: timed out`)),
      );
      req.on("error", (e) =>
        reject(e instanceof ApiError ? e : new ApiError(method, url.pathname, 0, "", e.message)),
      );
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get<T>(path: string, opts?: RequestOptionsLite): Promise<T> {
    return this.request<T>("GET", path, opts);
  }

  /** GET that answers undefined for 404. */
  async find<T>(path: string, opts?: RequestOptionsLite): Promise<T | undefined> {
    try {
      return await this.get<T>(path, opts);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** Lists every page (limit/continue) of a collection. */
  async listAll<T>(
    path: string,
    opts: RequestOptionsLite & { pageSize?: number } = {},
  ): Promise<T[]> {
    const out: T[] = [];
    let cont: string | undefined;
    do {
      const page = await this.get<{ items?: T[]; metadata?: { continue?: string } }>(path, {
        ...opts,
        query: { ...opts.query, limit: opts.pageSize ?? 500, continue: cont },
      });
      out.push(...(page.items ?? []));
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return out;
  }

  /** DELETE that treats 404 as done. */
  async remove(path: string, opts?: RequestOptionsLite): Promise<void> {
    try {
      await this.request("DELETE", path, opts);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** Retries `fn` on 409 Conflict (re-reading inside fn), up to `attempts` times. */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!isConflict(e) || isAlreadyExists(e) || i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 10 * 2 ** i));
    }
  }
}
