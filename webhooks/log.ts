// Structured JSON logs. Entries carry the request uid and identifiers (kind, namespace/name, user,
// rules), never object contents: a request may hold a Secret's data.
import winston from "winston";

export type Logger = winston.Logger;

export function createLogger(level = process.env.LOG_LEVEL ?? "info"): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { component: "nhi-operator" },
    transports: [new winston.transports.Console()],
  });
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return winston.createLogger({ level: "error", silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
