// Free loopback ports for processes the tests start (control-plane components, operators). Held
// together while they are picked, so one call never returns the same port twice; a race with
// another process is handled by the caller's retry (ControlPlane.startWithRetry).
import { createServer, type Server } from "node:net";

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    return typeof a === "object" && a ? a.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined || port === 0) throw new Error("e2e harness: no free loopback port");
  return port;
}
