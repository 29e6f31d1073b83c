// Shared pieces of the webhook tests: a handler over the test world, and a logger that records.
import { Writable } from "node:stream";
import winston from "winston";
import { loadCrdDocuments } from "../../../crds/load.js";
import { createValidator } from "../../../core/nhi/validate.js";
import { createAdmissionHandler, type HandlerResult } from "../../../webhooks/handler.js";
import type { Log as Logger } from "../../../edge/log.js";
import { WebhookMetrics } from "../../../webhooks/metrics.js";
import type { ClusterView } from "../../../operator/k8s/cache/view.js";
import { NOW, world } from "./world.js";

export const validator = createValidator(loadCrdDocuments());

export function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString("utf8"));
      cb();
    },
  });
  const logger = winston.createLogger({
    level: "debug",
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream })],
  });
  return { logger, lines };
}

export function testHandler(view: ClusterView = world()): {
  handle: (body: unknown) => HandlerResult;
  lines: string[];
  metrics: WebhookMetrics;
} {
  const { logger, lines } = recordingLogger();
  const metrics = new WebhookMetrics();
  return {
    handle: createAdmissionHandler({ view, validator, logger, metrics, clock: () => NOW }),
    lines,
    metrics,
  };
}
