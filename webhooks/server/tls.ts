// Certificate files read at start and re-read when they change (cert-manager's file_source: a poll,
// because mounted Secrets and ConfigMaps change by symlink swap, which fs.watch misses).
import { readFileSync, statSync } from "node:fs";
import type { Server } from "node:https";
import type { Log } from "../../edge/log.js";
import type { KeyPair } from "../../edge/x509.js";

export type { KeyPair };

/**
 * Files polled for change (mtime, size, inode): `load` reads them now and throws when unreadable;
 * `watch` hands each changed value to `apply`, and when reading or `apply` throws the current one
 * stays, with a warning.
 */
class PolledFiles<T> {
  private stamp = "";
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly files: readonly string[],
    private readonly read: () => T,
    private readonly what: string,
    private readonly logFields: Record<string, string>,
    private readonly logger: Log,
    private readonly intervalMs: number,
  ) {}

  private currentStamp(): string {
    return this.files
      .map((f) => {
        const s = statSync(f);
        return `${s.mtimeMs}:${s.size}:${s.ino}`;
      })
      .join("|");
  }

  load(): T {
    this.stamp = this.currentStamp();
    return this.read();
  }

  watch(apply: (value: T) => void): void {
    this.stop();
    this.timer = setInterval(() => {
      try {
        if (this.currentStamp() === this.stamp) return;
        apply(this.load());
        this.logger.info(`reloaded the ${this.what}`, this.logFields);
      } catch (err) {
        this.logger.warn(`could not reload the ${this.what}; keeping the current one`, {
          ...this.logFields,
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

/** The serving certificate (--cert-file/--key-file); a bad new pair keeps the old one. */
export class FileCertificateSource {
  private readonly files: PolledFiles<KeyPair>;

  constructor(
    readonly certFile: string,
    readonly keyFile: string,
    logger: Log,
    intervalMs = 10_000,
  ) {
    this.files = new PolledFiles(
      [certFile, keyFile],
      () => ({ cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") }),
      "serving certificate",
      { certFile },
      logger,
      intervalMs,
    );
  }

  /** Reads the pair now (throws when unreadable: a server without a certificate must not start). */
  load(): KeyPair {
    return this.files.load();
  }

  /** Swaps the server's certificate when the files change. */
  watch(server: Server): void {
    this.files.watch((pair) => server.setSecureContext(pair));
  }

  stop(): void {
    this.files.stop();
  }
}

/**
 * The client CA (--client-ca-file), re-read when the file changes. A file that holds no usable
 * certificate keeps the current CA (apply throws).
 */
export class ClientCaFile {
  private readonly files: PolledFiles<string>;

  constructor(
    readonly file: string,
    logger: Log,
    intervalMs = 10_000,
  ) {
    this.files = new PolledFiles(
      [file],
      () => readFileSync(file, "utf8"),
      "client CA",
      { clientCaFile: file },
      logger,
      intervalMs,
    );
  }

  /** Reads the CA now (throws when unreadable: a server that must authenticate callers must not start without it). */
  load(): string {
    return this.files.load();
  }

  /** Hands a changed CA to `apply`; when apply throws, the current CA stays. */
  watch(apply: (pem: string) => void): void {
    this.files.watch(apply);
  }

  stop(): void {
    this.files.stop();
  }
}
