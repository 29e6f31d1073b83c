// Throwaway PKI for a test control plane and local webhook servers. Keys come from node:crypto;
// certificates from the openssl CLI, because Node 20 can parse X.509 but not issue it.
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface IssuedCert {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

export interface CertRequest {
  commonName: string;
  /** Becomes O= entries: Kubernetes groups for client certificates. */
  organizations?: string[];
  dnsNames?: string[];
  ips?: string[];
  usage: "server" | "client" | "server+client";
  days?: number;
}

let opensslChecked = false;

function openssl(args: string[], input?: string): string {
  if (!opensslChecked) {
    const v = spawnSync("openssl", ["version"], { encoding: "utf8" });
    if (v.error || v.status !== 0) {
      throw new Error(
        "e2e harness: the openssl CLI is needed to issue test certificates and `openssl version` failed " +
          `(${v.error?.message ?? v.stderr.trim()}); install it (Debian: apt-get install openssl).`,
      );
    }
    opensslChecked = true;
  }
  const r = spawnSync("openssl", args, { encoding: "utf8", input });
  if (r.error || r.status !== 0) {
    // stderr of openssl names files and options, never key material.
    throw new Error(
      `e2e harness: openssl ${args[0]} failed: ${r.error?.message ?? r.stderr.trim()}`,
    );
  }
  return r.stdout;
}

function ecKeyPem(): string {
  return generateKeyPairSync("ec", { namedCurve: "P-256" })
    .privateKey.export({ type: "pkcs8", format: "pem" })
    .toString();
}

function subject(commonName: string, organizations: string[] = []): string {
  const esc = (s: string): string => s.replace(/[\\/=+,]/g, (c) => `\\${c}`);
  return organizations.map((o) => `/O=${esc(o)}`).join("") + `/CN=${esc(commonName)}`;
}

export class CertAuthority {
  private constructor(
    readonly dir: string,
    readonly certFile: string,
    readonly keyFile: string,
    readonly certPem: string,
  ) {}

  /** A new CA whose files live in dir (created if needed). */
  static create(dir: string, commonName = "nhi-e2e-ca", days = 7): CertAuthority {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const keyFile = join(dir, "ca.key");
    const certFile = join(dir, "ca.crt");
    writeFileSync(keyFile, ecKeyPem(), { mode: 0o600 });
    openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      keyFile,
      "-out",
      certFile,
      "-days",
      String(days),
      "-subj",
      subject(commonName),
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
      "-addext",
      "subjectKeyIdentifier=hash",
    ]);
    return new CertAuthority(dir, certFile, keyFile, readFileSync(certFile, "utf8"));
  }

  /** Issues a leaf certificate; files are <dir>/<name>.crt and <dir>/<name>.key. */
  issue(name: string, req: CertRequest): IssuedCert {
    const keyFile = join(this.dir, `${name}.key`);
    const certFile = join(this.dir, `${name}.crt`);
    const extFile = join(this.dir, `${name}.ext`);
    const keyPem = ecKeyPem();
    writeFileSync(keyFile, keyPem, { mode: 0o600 });
    const eku = {
      server: "serverAuth",
      client: "clientAuth",
      "server+client": "serverAuth,clientAuth",
    }[req.usage];
    const sans = [
      ...(req.dnsNames ?? []).map((d) => `DNS:${d}`),
      ...(req.ips ?? []).map((ip) => `IP:${ip}`),
    ];
    writeFileSync(
      extFile,
      [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        `extendedKeyUsage=${eku}`,
        "authorityKeyIdentifier=keyid",
        ...(sans.length > 0 ? [`subjectAltName=${sans.join(",")}`] : []),
        "",
      ].join("\n"),
    );
    const csr = openssl([
      "req",
      "-new",
      "-key",
      keyFile,
      "-subj",
      subject(req.commonName, req.organizations),
    ]);
    openssl(
      [
        "x509",
        "-req",
        "-CA",
        this.certFile,
        "-CAkey",
        this.keyFile,
        "-set_serial",
        `0x${randomBytes(12).toString("hex")}`,
        "-days",
        String(req.days ?? 7),
        "-extfile",
        extFile,
        "-out",
        certFile,
      ],
      csr,
    );
    return { certFile, keyFile, certPem: readFileSync(certFile, "utf8"), keyPem };
  }
}

/** The service-account signing key pair: RSA, as kube-apiserver and the token controller expect. */
export function writeServiceAccountKeys(dir: string): {
  privateKeyFile: string;
  publicKeyFile: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const privateKeyFile = join(dir, "sa-signer.key");
  const publicKeyFile = join(dir, "sa-signer.pub");
  writeFileSync(privateKeyFile, privateKey.export({ type: "pkcs1", format: "pem" }), {
    mode: 0o600,
  });
  writeFileSync(publicKeyFile, publicKey.export({ type: "spki", format: "pem" }));
  return { privateKeyFile, publicKeyFile };
}

/** A CA plus a serving certificate for a local HTTPS server (e.g. a webhook) on loopback. */
export function localServingCert(
  dir: string,
  name = "webhook",
): { ca: CertAuthority; serving: IssuedCert } {
  const ca = CertAuthority.create(dir, `${name}-ca`);
  const serving = ca.issue(name, {
    commonName: name,
    dnsNames: ["localhost"],
    ips: ["127.0.0.1"],
    usage: "server",
  });
  return { ca, serving };
}
