// A throwaway CA and a loopback serving certificate for running out of cluster (make run). Node 20
// cannot issue X.509, so the openssl CLI does (as in the e2e harness). Keys stay in `dir` (0600).
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

function openssl(args: string[], input?: string): void {
  const r = spawnSync("openssl", args, { encoding: "utf8", input });
  if (r.error || r.status !== 0) throw new Error(`openssl ${args[0] ?? ""} failed: ${r.error?.message ?? r.stderr.trim()} (install openssl)`);
}

const ecKey = (): string => generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();

export interface DevCerts { caPem: string; certFile: string; keyFile: string }

/** Reuses the files in dir when present, else issues a CA and a cert for localhost/127.0.0.1 valid 30 days. */
export function devServingCert(dir: string): DevCerts {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caKey = join(dir, "ca.key"), caCrt = join(dir, "ca.crt"), key = join(dir, "tls.key"), crt = join(dir, "tls.crt"), ext = join(dir, "tls.ext");
  if (![caCrt, key, crt].every((f) => existsSync(f))) {
    writeFileSync(caKey, ecKey(), { mode: 0o600 });
    openssl(["req", "-x509", "-new", "-key", caKey, "-out", caCrt, "-days", "30", "-subj", "/CN=nhi-operator-dev-ca",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    writeFileSync(key, ecKey(), { mode: 0o600 });
    writeFileSync(ext, "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n");
    const csr = spawnSync("openssl", ["req", "-new", "-key", key, "-subj", "/CN=localhost"], { encoding: "utf8" });
    if (csr.status !== 0) throw new Error(`openssl req failed: ${csr.stderr.trim()}`);
    openssl(["x509", "-req", "-CA", caCrt, "-CAkey", caKey, "-set_serial", `0x${randomBytes(12).toString("hex")}`, "-days", "30", "-extfile", ext, "-out", crt], csr.stdout);
  }
  return { caPem: readFileSync(caCrt, "utf8"), certFile: crt, keyFile: key };
}
