// Human users, as a real cluster authenticates them: a client certificate signed by the cluster's
// CA through the CertificateSigningRequest API (signer kubernetes.io/kube-apiserver-client; the
// csrsigning controller of kube-controller-manager signs once the admin approves). Works on any
// cluster whose controller manager signs that signer (kubeadm, kind, the e2e control plane).
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Cluster } from "./cluster.js";
import type { Identity } from "./kube.js";
import { waitFor } from "./wait.js";

function csrPem(keyPem: string, user: string, groups: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "nhi-e2e-user-"));
  try {
    const keyFile = join(dir, "user.key");
    writeFileSync(keyFile, keyPem, { mode: 0o600 });
    const esc = (s: string): string => s.replace(/[\\/=+,]/g, (c) => `\\${c}`);
    const subj = groups.map((g) => `/O=${esc(g)}`).join("") + `/CN=${esc(user)}`;
    const r = spawnSync("openssl", ["req", "-new", "-key", keyFile, "-subj", subj], {
      encoding: "utf8",
    });
    if (r.error || r.status !== 0)
      throw new Error(`e2e harness: openssl req failed: ${r.error?.message ?? r.stderr.trim()}`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A client certificate for `user` in `groups`: a CSR created, approved and signed on the cluster;
 * the CSR is deleted afterwards. The identity authenticates with the certificate alone.
 */
export async function humanUser(
  cluster: Cluster,
  user: string,
  groups: readonly string[] = [],
): Promise<Identity> {
  const keyPem = generateKeyPairSync("ec", { namedCurve: "P-256" })
    .privateKey.export({ type: "pkcs8", format: "pem" })
    .toString();
  const name = `e2e-${user}-${randomBytes(3).toString("hex")}`.toLowerCase();
  const base = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
  await cluster.kube.must("POST", base, {
    body: {
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name },
      spec: {
        request: Buffer.from(csrPem(keyPem, user, groups)).toString("base64"),
        signerName: "kubernetes.io/kube-apiserver-client",
        usages: ["client auth"],
        expirationSeconds: 3600,
      },
    },
  });
  try {
    const csr = await cluster.kube.must<Record<string, unknown>>("GET", `${base}/${name}`);
    const status = {
      conditions: [
        {
          type: "Approved",
          status: "True",
          reason: "E2ETest",
          message: "approved by the e2e harness",
        },
      ],
    };
    await cluster.kube.must("PUT", `${base}/${name}/approval`, { body: { ...csr, status } });
    const certificate = await waitFor(
      `the CSR signer to sign ${name} (kube-controller-manager csrsigning)`,
      async () => {
        const got = await cluster.kube.must<{ status?: { certificate?: string } }>(
          "GET",
          `${base}/${name}`,
        );
        return got.status?.certificate;
      },
      { timeoutMs: 30_000 },
    );
    return { clientCert: { certPem: Buffer.from(certificate, "base64").toString("utf8"), keyPem } };
  } finally {
    await cluster.kube.request("DELETE", `${base}/${name}`);
  }
}
