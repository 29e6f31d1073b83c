// A throwaway CA and a loopback serving certificate for running out of cluster (make run), issued by
// the same generator as the self-managed certificates (x509.ts; no openssl). Keys stay in `dir` (0600).
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { issueCa, issueServing } from "../../edge/x509.js";

export interface DevCerts {
  caPem: string;
  certFile: string;
  keyFile: string;
}

const DAY = 86_400_000;

function stillGood(crt: string, now: number): boolean {
  try {
    return new Date(new X509Certificate(readFileSync(crt, "utf8")).validTo).getTime() > now + DAY;
  } catch {
    return false;
  }
}

/** Reuses the files in dir while valid for another day, else issues a CA and a cert for localhost/127.0.0.1 valid 30 days. */
export function devServingCert(dir: string, now = Date.now()): DevCerts {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caCrt = join(dir, "ca.crt"),
    key = join(dir, "tls.key"),
    crt = join(dir, "tls.crt");
  if (![caCrt, key, crt].every((f) => existsSync(f)) || !stillGood(crt, now)) {
    const validity = { notBefore: new Date(now - 5 * 60_000), notAfter: new Date(now + 30 * DAY) };
    const ca = issueCa("nhi-operator-dev-ca", validity);
    const serving = issueServing(ca, ["localhost", "127.0.0.1"], validity);
    // The CA key is not kept: nothing else is ever signed with it.
    writeFileSync(caCrt, ca.certPem);
    writeFileSync(key, serving.keyPem, { mode: 0o600 });
    writeFileSync(crt, serving.certPem);
  }
  return { caPem: readFileSync(caCrt, "utf8"), certFile: crt, keyFile: key };
}
