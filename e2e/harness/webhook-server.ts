// A local HTTPS admission webhook server for tests: register it with Cluster.registerValidatingWebhook.
// Reachable by a control plane on this host; a kind/remote cluster (E2E_KUBECONFIG) cannot reach 127.0.0.1.
import { createServer } from "node:https";
import type { Server } from "node:https";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localServingCert } from "./certs.js";

export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: string;
  userInfo: { username?: string; groups?: string[] };
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

export interface AdmissionDecision {
  allowed: boolean;
  message?: string;
  code?: number;
  warnings?: string[];
}

export type AdmissionHandler = (
  req: AdmissionRequest,
  path: string,
) => AdmissionDecision | Promise<AdmissionDecision>;

export interface WebhookServer {
  /** Base URL, e.g. https://127.0.0.1:34567; append a path per webhook if you like. */
  url: string;
  caBundlePem: string;
  /** Every request received, in order (object payloads included: do not log them for Secrets). */
  received: AdmissionRequest[];
  close(): Promise<void>;
}

export async function startWebhookServer(handler: AdmissionHandler): Promise<WebhookServer> {
  const dir = mkdtempSync(join(tmpdir(), "nhi-e2e-webhook-"));
  const { ca, serving } = localServingCert(dir);
  const received: AdmissionRequest[] = [];
  const server: Server = createServer(
    { cert: serving.certPem, key: serving.keyPem },
    (req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size > 4 * 1024 * 1024) req.destroy();
        else chunks.push(c);
      });
      req.on("end", () => {
        void (async () => {
          let uid = "";
          let decision: AdmissionDecision;
          try {
            const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
              request: AdmissionRequest;
            };
            uid = review.request.uid;
            received.push(review.request);
            decision = await handler(review.request, req.url ?? "/");
          } catch (e) {
            decision = {
              allowed: false,
              message: `e2e webhook error: ${e instanceof Error ? e.message : String(e)}`,
            };
          }
          const response = {
            uid,
            allowed: decision.allowed,
            ...(decision.warnings ? { warnings: decision.warnings } : {}),
            ...(decision.allowed
              ? {}
              : { status: { code: decision.code ?? 403, message: decision.message ?? "denied" } }),
          };
          res.writeHead(200, { "Content-Type": "application/json" });
          res.end(
            JSON.stringify({
              apiVersion: "admission.k8s.io/v1",
              kind: "AdmissionReview",
              response,
            }),
          );
        })();
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    caBundlePem: ca.certPem,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
