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
