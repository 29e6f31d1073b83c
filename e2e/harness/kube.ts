// A small REST client over node:https that returns the API server's answer as it is (status code,
// Status message, warnings): e2e tests assert verdicts, so nothing may be retried or reshaped.
// TLS and credentials come from @kubernetes/client-node's KubeConfig, so any kubeconfig works.
import { KubeConfig } from "@kubernetes/client-node";
import { Agent, request as httpsRequest } from "node:https";
import type { RequestOptions } from "node:https";
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { parseAllDocuments } from "yaml";

/** A bearer token that does not print itself: logs, errors and chai diffs show a placeholder. */
export class Token {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  get length(): number {
    return this.#value.length;
  }
  toString(): string {
    return "[token redacted]";
  }
  toJSON(): string {
    return "[token redacted]";
  }
  [inspect.custom](): string {
    return "[token redacted]";
  }
}

/** Who sends a request: the kubeconfig's identity (default), an impersonated one, or a bearer token. */
export interface Identity {
  user?: string;
  groups?: string[];
  /** "namespace/name"; sent as a TokenRequest-minted token unless via is "impersonate". */
  serviceAccount?: string;
  token?: Token;
  via?: "token" | "impersonate";
  /** A client certificate (a human user as a real cluster authenticates one): e2e/harness/users.ts. */
  clientCert?: { certPem: string; keyPem: string };
}

export interface KubeResponse<T = unknown> {
  status: number;
  body: T;
  warnings: string[];
}

/** The API server's verdict on a write. */
export interface Verdict {
  allowed: boolean;
  /** HTTP status: 200/201 when allowed; 403 (RBAC or webhook), 422 (schema/CEL), 400, 409... */
  code: number;
  reason?: string;
  message: string;
  warnings: string[];
  object?: KubeObject;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; generateName?: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface RequestOpts {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  as?: Identity;
  timeoutMs?: number;
  /** Extra request headers (User-Agent, X-Forwarded-For): what a client sends, as the audit log records it. */
  headers?: Record<string, string>;
  /**
   * The client's own address. Another loopback address (127.0.0.2 …) stands in for a pod's: the API
   * server records the connection's address last in an audit event's sourceIPs, the one entry a
   * client cannot choose (no kubelet runs here, so no pod has a real address).
   */
  localAddress?: string;
}

interface ResourceInfo {
  name: string;
  namespaced: boolean;
}

interface StatusBody {
  kind?: string;
  status?: string;
  reason?: string;
  message?: string;
  code?: number;
}

export class KubeError extends Error {
  constructor(
    readonly what: string,
    readonly response: KubeResponse,
  ) {
    const b = response.body as StatusBody | undefined;
    super(
      `${what}: HTTP ${response.status}${b?.reason ? ` ${b.reason}` : ""}: ${b?.message ?? "(no message)"}`,
    );
  }
}

export class KubeClient {
  private readonly discovery = new Map<string, Map<string, ResourceInfo>>();
  private readonly server: string;

  constructor(readonly config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error("e2e harness: kubeconfig has no current cluster");
    this.server = cluster.server.replace(/\/+$/, "");
  }

  static fromFile(path: string): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return new KubeClient(kc);
  }

  async request<T = unknown>(
    method: string,
    path: string,
    opts: RequestOpts = {},
  ): Promise<KubeResponse<T>> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const options: RequestOptions = { method, headers: {} };
    if (opts.localAddress !== undefined) options.localAddress = opts.localAddress;
    await this.config.applyToHTTPSOptions(options);
    const headers = (options.headers ?? {}) as Record<string, string | string[]>;
    options.headers = headers;
    const as = opts.as;
    if (as && (as.token || (as.serviceAccount && as.via !== "impersonate"))) {
      // Authenticate as the token alone: drop the kubeconfig's client cert and auth header.
      const token = as.token ?? (await this.mintToken(as.serviceAccount ?? ""));
      // client-node puts the client cert on a per-call agent: replace it with a CA-only one.
      options.agent = new Agent({
        ca: options.ca,
        servername: options.servername,
        rejectUnauthorized: options.rejectUnauthorized,
      });
      delete options.cert;
      delete options.key;
      delete options.auth;
      delete headers.Authorization;
      delete headers.authorization;
      headers.Authorization = `Bearer ${token.reveal()}`;
    } else if (as?.clientCert) {
      // Authenticate as the certificate alone: the API server takes its CN as user, its O entries as groups.
      options.agent = new Agent({
        ca: options.ca,
        servername: options.servername,
        rejectUnauthorized: options.rejectUnauthorized,
        cert: as.clientCert.certPem,
        key: as.clientCert.keyPem,
      });
      options.cert = as.clientCert.certPem;
      options.key = as.clientCert.keyPem;
      delete options.auth;
      delete headers.Authorization;
      delete headers.authorization;
    } else if (as && (as.user || as.serviceAccount)) {
      headers["Impersonate-User"] = as.user ?? saUser(as.serviceAccount ?? "");
      if (as.groups?.length) headers["Impersonate-Group"] = as.groups;
    }
    headers.Accept = "application/json";
    Object.assign(headers, opts.headers);
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
      headers["Content-Type"] = opts.contentType ?? "application/json";
    }
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          const raw = res.headers.warning;
          const warnings = (Array.isArray(raw) ? raw : raw ? [raw] : []).map((w) =>
            w.replace(/^\d{3} \S+ "?|"$/g, ""),
          );
          resolve({ status: res.statusCode ?? 0, body: body as T, warnings });
        });
      });
      req.setTimeout(opts.timeoutMs ?? 30_000, () =>
        req.destroy(new Error(`${method} ${url.pathname}: timed out`)),
      );
      req.on("error", (e) =>
        reject(new Error(`e2e harness: ${method} ${url.pathname}: ${e.message}`)),
      );
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Like request, but throws a KubeError unless 2xx. */
  async must<T = unknown>(method: string, path: string, opts: RequestOpts = {}): Promise<T> {
    const r = await this.request<T>(method, path, opts);
    if (r.status < 200 || r.status > 299) throw new KubeError(`${method} ${path}`, r);
    return r.body;
  }

  /** Mints a ServiceAccount token with the TokenRequest API ("namespace/name"). */
  async mintToken(
    serviceAccount: string,
    opts: { expirationSeconds?: number; audiences?: string[] } = {},
  ): Promise<Token> {
    const { namespace, name } = splitSA(serviceAccount);
    const body = {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {
        expirationSeconds: opts.expirationSeconds ?? 600,
        ...(opts.audiences ? { audiences: opts.audiences } : {}),
      },
    };
    const r = await this.request<{ status?: { token?: string } }>(
      "POST",
      `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
      { body },
    );
    const token = r.body?.status?.token;
    if (r.status !== 201 || !token)
      throw new KubeError(`TokenRequest for ${serviceAccount}`, { ...r, body: r.body as unknown });
    return new Token(token);
  }

  /** Resolves apiVersion + kind to its REST path with discovery (refreshed on a miss, e.g. after a CRD install). */
  async resourcePath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    let info = (await this.discover(apiVersion, false)).get(kind);
    if (!info) info = (await this.discover(apiVersion, true)).get(kind);
    if (!info)
      throw new Error(`e2e harness: the API server does not serve ${kind} in ${apiVersion}`);
    const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (info.namespaced) {
      if (!namespace)
        throw new Error(
          `e2e harness: ${kind} is namespaced: give metadata.namespace or opts.namespace`,
        );
      return `${base}/namespaces/${namespace}/${info.name}`;
    }
    return `${base}/${info.name}`;
  }

  private async discover(apiVersion: string, refresh: boolean): Promise<Map<string, ResourceInfo>> {
    const cached = this.discovery.get(apiVersion);
    if (cached && !refresh) return cached;
    const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const r = await this.request<{
      resources?: { name: string; kind: string; namespaced: boolean }[];
    }>("GET", path);
    const map = new Map<string, ResourceInfo>();
    if (r.status === 200) {
      for (const res of r.body?.resources ?? [])
        if (!res.name.includes("/"))
          map.set(res.kind, { name: res.name, namespaced: res.namespaced });
    }
    this.discovery.set(apiVersion, map);
    return map;
  }

  /**
   * Server-side apply of one object, as an identity; returns the verdict instead of throwing.
   * A webhook sees it as CREATE or UPDATE, as it would see `kubectl apply --server-side`.
   */
  async apply(
    obj: KubeObject,
    opts: { as?: Identity; namespace?: string; dryRun?: boolean; fieldManager?: string } = {},
  ): Promise<Verdict> {
    const namespace = obj.metadata.namespace ?? opts.namespace;
    const name = obj.metadata.name;
    if (!name) throw new Error(`e2e harness: apply needs metadata.name (${obj.kind})`);
    const base = await this.resourcePath(obj.apiVersion, obj.kind, namespace);
    const body = {
      ...obj,
      metadata: {
        ...obj.metadata,
        ...(namespace && base.includes("/namespaces/") ? { namespace } : {}),
      },
    };
    const r = await this.request("PATCH", `${base}/${encodeURIComponent(name)}`, {
      body,
      contentType: "application/apply-patch+yaml",
      query: {
        fieldManager: opts.fieldManager ?? "nhi-e2e",
        force: true,
        dryRun: opts.dryRun ? "All" : undefined,
      },
      as: opts.as,
    });
    return verdictOf(r);
  }

  /** Create (POST) one object as an identity; returns the verdict. */
  async create(
    obj: KubeObject,
    opts: { as?: Identity; namespace?: string; dryRun?: boolean } = {},
  ): Promise<Verdict> {
    const namespace = obj.metadata.namespace ?? opts.namespace;
    const base = await this.resourcePath(obj.apiVersion, obj.kind, namespace);
    const r = await this.request("POST", base, {
      body: obj,
      as: opts.as,
      query: { dryRun: opts.dryRun ? "All" : undefined },
    });
    return verdictOf(r);
  }

  async get<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    const r = await this.request<T>(
      "GET",
      `${await this.resourcePath(apiVersion, kind, namespace)}/${encodeURIComponent(name)}`,
    );
    if (r.status === 404) return undefined;
    if (r.status !== 200)
      throw new KubeError(`get ${kind} ${namespace ? `${namespace}/` : ""}${name}`, r);
    return r.body;
  }

  /** Deletes; a missing object is not an error. */
  async delete(
    apiVersion: string,
    kind: string,
    name: string,
    namespace?: string,
    propagationPolicy = "Background",
  ): Promise<void> {
    const path = `${await this.resourcePath(apiVersion, kind, namespace)}/${encodeURIComponent(name)}`;
    const r = await this.request("DELETE", path, { query: { propagationPolicy } });
    if (r.status !== 200 && r.status !== 202 && r.status !== 404)
      throw new KubeError(`delete ${kind} ${name}`, r);
  }

  /** Who the API server thinks the identity is (SelfSubjectReview). */
  async whoAmI(as?: Identity): Promise<{ username: string; groups: string[] }> {
    const r = await this.request<{
      status?: { userInfo?: { username?: string; groups?: string[] } };
    }>("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
      as,
    });
    if (r.status !== 201) throw new KubeError("SelfSubjectReview", r);
    return {
      username: r.body?.status?.userInfo?.username ?? "",
      groups: r.body?.status?.userInfo?.groups ?? [],
    };
  }
}

export function verdictOf(r: KubeResponse): Verdict {
  const allowed = r.status >= 200 && r.status < 300;
  const b = r.body as (StatusBody & KubeObject) | undefined;
  if (allowed) return { allowed, code: r.status, message: "", warnings: r.warnings, object: b };
  return {
    allowed,
    code: r.status,
    reason: b?.reason,
    message: b?.message ?? String(r.body ?? ""),
    warnings: r.warnings,
  };
}

export function splitSA(sa: string): { namespace: string; name: string } {
  const m = /^(?:system:serviceaccount:)?([^/:]+)[/:]([^/:]+)$/.exec(sa);
  if (!m?.[1] || !m[2])
    throw new Error(`e2e harness: service account must be "namespace/name", got "${sa}"`);
  return { namespace: m[1], name: m[2] };
}

function saUser(sa: string): string {
  const { namespace, name } = splitSA(sa);
  return `system:serviceaccount:${namespace}:${name}`;
}

/** Objects from YAML text or a file path (multi-document; empty documents skipped). */
export function loadObjects(yamlOrFile: string): KubeObject[] {
  const text =
    /\n/.test(yamlOrFile) || /^\s*(apiVersion|kind|---)/.test(yamlOrFile)
      ? yamlOrFile
      : readFileSync(yamlOrFile, "utf8");
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0)
      throw new Error(`e2e harness: bad YAML: ${doc.errors[0]?.message ?? ""}`);
    const o = doc.toJS() as KubeObject | null;
    if (!o) continue;
    if (o.kind?.endsWith("List") && Array.isArray(o.items)) out.push(...(o.items as KubeObject[]));
    else out.push(o);
  }
  return out;
}
