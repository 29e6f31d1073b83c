// The serving certificate: read from files and re-read when they change (cert-manager's file_source:
// a poll, because mounted Secrets change by symlink swap, which fs.watch misses).
import { readFileSync, statSync } from "node:fs";
import type { Server } from "node:https";
import type { Log } from "../../edge/log.js";
import type { KeyPair } from "../../edge/x509.js";

export type { KeyPair };

export class FileCertificateSource {
  private stamp = "";
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly certFile: string,
    readonly keyFile: string,
    private readonly logger: Log,
    private readonly intervalMs = 10_000,
  ) {}

  private currentStamp(): string {
    const c = statSync(this.certFile);
    const k = statSync(this.keyFile);
    return `${c.mtimeMs}:${c.size}:${k.mtimeMs}:${k.size}`;
  }

  /** Reads the pair now (throws when unreadable: a server without a certificate must not start). */
  load(): KeyPair {
    this.stamp = this.currentStamp();
    return { cert: readFileSync(this.certFile, "utf8"), key: readFileSync(this.keyFile, "utf8") };
  }

  /** Polls the files and swaps the server's certificate when they change; a bad pair keeps the old one. */
  watch(server: Server): void {
    this.stop();
    this.timer = setInterval(() => {
      try {
        if (this.currentStamp() === this.stamp) return;
        const pair = this.load();
        server.setSecureContext(pair);
        this.logger.info("reloaded the serving certificate", { certFile: this.certFile });
      } catch (err) {
        this.logger.warn("could not reload the serving certificate; keeping the current one", {
          certFile: this.certFile,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * The client CA (--client-ca-file), re-read when the file changes — a mounted ConfigMap changes by
 * symlink swap, as the serving certificate's Secret does. A file that holds no usable certificate
 * keeps the current CA (apply throws).
 */
export class ClientCaFile {
  private stamp = "";
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly file: string,
    private readonly logger: Log,
    private readonly intervalMs = 10_000,
  ) {}

  private currentStamp(): string {
    const s = statSync(this.file);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  }

  /** Reads the CA now (throws when unreadable: a server that must authenticate callers must not start without it). */
  load(): string {
    this.stamp = this.currentStamp();
    return readFileSync(this.file, "utf8");
  }

  /** Polls the file and hands a changed CA to `apply`; when apply throws, the current CA stays. */
  watch(apply: (pem: string) => void): void {
    this.stop();
    this.timer = setInterval(() => {
      try {
        if (this.currentStamp() === this.stamp) return;
        apply(this.load());
        this.logger.info("reloaded the client CA", { clientCaFile: this.file });
      } catch (err) {
        this.logger.warn("could not reload the client CA; keeping the current one", {
          clientCaFile: this.file,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
