// The only express code: the HTTPS admission endpoint, and health/readiness/metrics on a separate
// plain-HTTP port (so probes and scrapes never need the webhook's certificate or compete with it).
import express, { type NextFunction, type Request, type Response } from "express";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import type { AddressInfo } from "node:net";
import type { HandlerResult } from "../handler.js";
import type { Log } from "../../edge/log.js";
import { closeServer } from "../../edge/close-server.js";
import type { WebhookMetrics } from "../metrics.js";
import type { KeyPair } from "./tls.js";

export const ADMISSION_PATH = "/validate";

export interface Readiness {
  ready: boolean;
  /** Shown on /readyz: which caches are synced, how old their watches are. */
  detail: Record<string, unknown>;
}

export interface WebhookServerOptions {
  handle: (body: unknown) => HandlerResult;
  tls: KeyPair;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  metricsHost?: string;
  metricsPort?: number;
  /** Largest AdmissionReview accepted: an object and its old version, each up to etcd's 1.5 MiB. */
  bodyLimit?: string;
  /** A request (headers and body) not received within this long is answered 408 and its connection closed. */
  requestTimeoutMs?: number;
  /**
   * PEM of the CA that signs the API server's client certificate (its admission configuration's
   * kubeconfig): set, the TLS handshake fails for a client without a certificate it signed.
   */
  clientCa?: string;
  metrics: WebhookMetrics;
  readiness: () => Readiness;
  logger: Log;
  /** Further GET routes on the health/metrics port (e.g. the leader's /inventory). */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
}

export interface RunningWebhookServer {
  https: HttpsServer;
  http: HttpServer;
  url: string;
  metricsUrl: string;
  /** Swaps the client CA (started with `clientCa`); throws, keeping the current one, on a PEM with no usable certificate. */
  setClientCa(pem: string): void;
  close(): Promise<void>;
}

/**
 * Node's setSecureContext replaces the whole TLS context, and the certificate sources call it to
 * swap the serving pair: without this, the first swap (the self-managed source's right at start)
 * would drop the client CA and refuse the API server. Every context set on the server keeps the
 * current client CA; setClientCa swaps it under the current serving pair.
 */
function keepClientCa(https: HttpsServer, first: SecureContextOptions, clientCa: string) {
  const replace = https.setSecureContext.bind(https);
  let served = first;
  let ca = clientCa;
  https.setSecureContext = (options: SecureContextOptions): void => {
    replace({ ...options, ca });
    served = options;
  };
  return (pem: string): void => {
    if (!pem.includes("-----BEGIN CERTIFICATE-----"))
      throw new Error("the client CA file holds no PEM certificate");
    createSecureContext({ ca: pem }); // throws on a malformed certificate
    replace({ ...served, ca: pem });
    ca = pem;
  };
}

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
  charset?: string;
  encoding?: string;
}

/** A header value the client sent, for an error message: quoted, cut short. */
const quoted = (v: string | undefined): string => JSON.stringify((v ?? "").slice(0, 40));

/** body-parser's error types (a fixed set: they are also the bad-request metric's reasons). */
const BODY_ERRORS: Readonly<Record<string, (err: BodyParserError, limit: string) => string>> = {
  "entity.parse.failed": () => "the body is not valid JSON",
  "entity.too.large": (_e, limit) => `body larger than ${limit}`,
  "charset.unsupported": (e) =>
    `unsupported charset ${quoted(e.charset)}: send the AdmissionReview as JSON in UTF-8 (Content-Type: application/json; charset=utf-8)`,
  "encoding.unsupported": (e) =>
    `unsupported Content-Encoding ${quoted(e.encoding)}: send the body uncompressed, or gzip, deflate or br`,
  "request.aborted": () => "the client aborted the request before sending the whole body",
  "request.size.invalid": () => "the body's length does not match its Content-Length",
};

function bodyErrorMessage(err: BodyParserError, status: number, limit: string): string {
  const known = BODY_ERRORS[err.type ?? ""];
  if (known) return known(err, limit);
  return status === 500 ? "internal error" : `cannot read the body (HTTP ${status})`;
}

/**
 * Answers a body express.json could not read, or a failure past it: with what is wrong, never
 * thrown. body-parser's messages name only the charset or encoding, never the body.
 */
function answerBodyError(opts: WebhookServerOptions, err: BodyParserError, res: ServerResponse) {
  const status =
    err.status !== undefined && err.status >= 400 && err.status < 500 ? err.status : 500;
  const reason =
    BODY_ERRORS[err.type ?? ""] !== undefined
      ? (err.type ?? "")
      : status === 500
        ? "error"
        : "other";
  opts.metrics.badRequests.inc({ reason });
  opts.logger.warn("rejected an admission request body", { status, type: err.type });
  writeJson(res, status, {
    error: `nhi-operator: ${bodyErrorMessage(err, status, opts.bodyLimit ?? "4mb")}`,
  });
}

/** What express's res.status(n).json(body) writes for a POST, without express's per-request work. */
function writeJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** The request path without its query (the API server adds ?timeout=10s). */
const pathOf = (url: string | undefined): string => {
  const u = url ?? "";
  const q = u.indexOf("?");
  return q < 0 ? u : u.slice(0, q);
};

/**
 * POST /validate straight to body-parser and the handler; every other request (other paths and
 * methods, 404s) through express as before. Express's router allocates ~6 KB per request that
 * outlives two scavenges (measured under the bench's load: it is most of what the floor, a bare
 * express handler, promotes), and each promoted byte brings the full collection of the large
 * cache heap nearer — the webhook's latency tail (issue 14).
 */
function admissionListener(
  opts: WebhookServerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  const parseJson = express.json({
    limit: opts.bodyLimit ?? "4mb",
    strict: false,
    type: () => true,
  }) as unknown as (
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ) => void;
  const admit = (req: IncomingMessage, res: ServerResponse): void =>
    parseJson(req, res, (err?: unknown) => {
      if (err !== undefined && err !== null) {
        answerBodyError(opts, err as BodyParserError, res);
        return;
      }
      let result: HandlerResult;
      try {
        result = opts.handle((req as IncomingMessage & { body?: unknown }).body);
      } catch (thrown) {
        answerBodyError(opts, thrown as BodyParserError, res);
        return;
      }
      writeJson(res, result.status, result.body);
    });
  app.post(ADMISSION_PATH, (req: Request, res: Response) => admit(req, res));
  app.use((_req: Request, res: Response) => {
    res
      .status(404)
      .json({ error: `nhi-operator: not found; AdmissionReviews go to POST ${ADMISSION_PATH}` });
  });
  app.use((err: BodyParserError, _req: Request, res: Response, _next: NextFunction) =>
    answerBodyError(opts, err, res),
  );
  return (req, res) => {
    if (req.method === "POST" && pathOf(req.url) === ADMISSION_PATH) admit(req, res);
    else app(req, res);
  };
}

function healthApp(opts: WebhookServerOptions): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.get("/healthz", (_req, res) => {
    res.status(200).json({ status: "ok" });
  });
  app.get("/readyz", (_req, res) => {
    const r = opts.readiness();
    res.status(r.ready ? 200 : 503).json({ ready: r.ready, ...r.detail });
  });
  app.get("/metrics", (_req, res, next) => {
    opts.metrics.registry.metrics().then((text) => {
      res.set("Content-Type", opts.metrics.registry.contentType).send(text);
    }, next);
  });
  for (const [path, route] of Object.entries(opts.routes ?? {}))
    app.get(path, (req, res) => route(req, res));
  return app;
}

function listen(server: HttpServer | HttpsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** How often Node looks for requests past their timeout: the most a timeout can be overrun. */
export const CONNECTIONS_CHECK_MS = 1000;
/** How long close() lets requests in flight finish before it drops their connections. */
export const CLOSE_GRACE_MS = 5_000;

export async function startWebhookServer(
  opts: WebhookServerOptions,
): Promise<RunningWebhookServer> {
  // The API server gives up after the webhook's timeoutSeconds; do not hold sockets much longer. Node
  // enforces requestTimeout and headersTimeout only when it checks its connections (every 30 s by
  // default): a client dribbling its body would be held twice as long as configured.
  const requestTimeout = opts.requestTimeoutMs ?? 15_000;
  const https = createHttpsServer(
    {
      cert: opts.tls.cert,
      key: opts.tls.key,
      minVersion: "TLSv1.2",
      requestTimeout,
      headersTimeout: Math.min(10_000, requestTimeout),
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
      ...(opts.clientCa !== undefined
        ? { requestCert: true, rejectUnauthorized: true, ca: opts.clientCa }
        : {}),
    },
    admissionListener(opts),
  );
  const setClientCa =
    opts.clientCa !== undefined
      ? keepClientCa(
          https,
          { cert: opts.tls.cert, key: opts.tls.key, minVersion: "TLSv1.2" },
          opts.clientCa,
        )
      : (): void => {
          throw new Error("the webhook was started without a client CA (--client-ca-file)");
        };
  https.keepAliveTimeout = 60_000;
  https.on("tlsClientError", () => undefined); // scanners and aborted handshakes are not our errors
  const http = createHttpServer(healthApp(opts));
  http.requestTimeout = 10_000;
  const host = opts.host ?? "0.0.0.0";
  const metricsHost = opts.metricsHost ?? "0.0.0.0";
  const port = await listen(https, opts.port ?? 8443, host);
  let metricsPort: number;
  try {
    metricsPort = await listen(http, opts.metricsPort ?? 8080, metricsHost);
  } catch (err) {
    https.close();
    throw err;
  }
  const shown = (h: string): string => (h === "0.0.0.0" ? "127.0.0.1" : h);
  return {
    https,
    http,
    url: `https://${shown(host)}:${port}${ADMISSION_PATH}`,
    metricsUrl: `http://${shown(metricsHost)}:${metricsPort}`,
    setClientCa,
    close: async () => {
      // Within the API server's webhook timeout: a review in flight is answered, not cut.
      await Promise.all([closeServer(https, CLOSE_GRACE_MS), closeServer(http, CLOSE_GRACE_MS)]);
    },
  };
}
