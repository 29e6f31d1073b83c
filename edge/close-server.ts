// Closing an HTTP(S) server without waiting out keep-alive: server.close() stops new connections
// but waits for every open one, and a connection busy at that moment stays open after its response
// for keepAliveTimeout (the webhook's is 60 s, so the API server's connections are reused).
import type { Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";

/** How often a closing server drops the connections that became idle since the last look. */
const IDLE_SWEEP_MS = 50;

/**
 * Stops accepting, lets requests in flight finish (dropping each connection as it turns idle), and
 * drops whatever is still open after `graceMs`. Resolves once the server is closed.
 */
export function closeServer(server: HttpServer | HttpsServer, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}
