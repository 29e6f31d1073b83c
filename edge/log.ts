// The process logger every edge (operator, webhooks, certificate loop, CLI) writes to: one small `Log`
// interface, implemented by winston in production and by `nullLog`/`silentLogger` in tests. Entries
// carry identifiers (uid, kind, namespace/name, user, rules, reason codes), never object contents: a
// request may hold a Secret's data.
import winston from "winston";

export type LogLevel = "error" | "warn" | "info" | "debug";

/** What the edges log through. Meta holds names and reason codes, never values. */
export interface Log {
  error(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  debug(message: string, meta?: Record<string, unknown>): unknown;
  /** Lets a hot path skip building an entry nobody keeps (winston has it; absent means "log"). */
  isLevelEnabled?(level: LogLevel): boolean;
}

export const nullLog: Log = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

/** Structured JSON lines on stdout at LOG_LEVEL (default info). */
export function createLogger(level = process.env.LOG_LEVEL ?? "info"): Log {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { component: "nhi-operator" },
    transports: [new winston.transports.Console()],
  });
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Log {
  return winston.createLogger({
    level: "error",
    silent: true,
    transports: [new winston.transports.Console({ silent: true })],
  });
}
