// Issues X.509 certificates for the webhook: a CA and serving certificates it signs. Node 20 parses
// and verifies certificates (X509Certificate) but cannot build them, so this file writes the one
// fixed profile we need in DER (RFC 5280) and signs it with node:crypto. ECDSA P-256 keys,
// ecdsa-with-SHA256 signatures, random 127-bit serials; CA: basicConstraints CA:TRUE pathlen 0,
// keyUsage keyCertSign+cRLSign; serving: CA:FALSE, digitalSignature, extKeyUsage serverAuth,
// subjectAltName DNS/IP. Subject/authority key identifiers link the two. No other options on purpose.
// (Kept dependency-free: @peculiar/x509 needs 20 packages and a global reflect-metadata polyfill.)
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from "node:crypto";
import { isIP } from "node:net";

// --- DER ---
function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const set = (...c: Buffer[]): Buffer => tlv(0x31, ...c);
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bits = (b: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.from([unused]), b);
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
const int = (n: number): Buffer => tlv(0x02, n < 0x80 ? Buffer.from([n]) : Buffer.from([0, n]));
const explicit = (n: number, c: Buffer): Buffer => tlv(0xa0 | n, c);

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a + b];
  for (const v of rest) {
    const enc = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128))
      enc.unshift(0x80 | (x & 0x7f));
    out.push(...enc);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = d.getUTCFullYear();
  // RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  return year < 2050
    ? tlv(0x17, Buffer.from(digits.slice(2), "ascii"))
    : tlv(0x18, Buffer.from(digits, "ascii"));
}

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  subjectKeyId: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyId: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};

const name = (cn: string): Buffer =>
  seq(
    set(seq(oid(OID.organization), tlv(0x0c, Buffer.from("nhi-operator", "utf8")))),
    set(seq(oid(OID.commonName), tlv(0x0c, Buffer.from(cn, "utf8")))),
  );
const ext = (id: string, critical: boolean, value: Buffer): Buffer =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

/** keyUsage bits (bit 0 = most significant bit of the first byte), DER-minimal. */
function keyUsage(...bitNumbers: number[]): Buffer {
  let v = 0;
  for (const b of bitNumbers) v |= 0x80 >> b;
  let unused = 0;
  while (unused < 7 && ((v >> unused) & 1) === 0) unused++;
  return bits(Buffer.from([v]), unused);
}

function serial(): Buffer {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x01; // positive, no leading zero byte needed, never zero
  return tlv(0x02, b);
}

function san(names: readonly string[]): Buffer {
  return seq(
    ...names.map((n) => {
      const v = isIP(n);
      if (v === 4) return tlv(0x87, Buffer.from(n.split(".").map(Number)));
      if (v === 6) throw new Error(`x509: IPv6 subjectAltNames are not supported (${n})`);
      return tlv(0x82, Buffer.from(n, "ascii"));
    }),
  );
}

const keyId = (spki: Buffer): Buffer => createHash("sha1").update(spki).digest();

// --- issuance ---

/** A serving certificate chain and its private key, PEM: what the HTTPS server is given. */
export interface KeyPair {
  cert: string;
  key: string;
}

export interface IssuedPem {
  certPem: string;
  keyPem: string;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

const toPem = (label: string, der: Buffer): string =>
  `-----BEGIN ${label}-----\n${der.toString("base64").replace(/.{1,64}/g, "$&\n")}-----END ${label}-----\n`;

function newKey(): { privateKey: KeyObject; spki: Buffer; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    privateKey,
    spki: publicKey.export({ type: "spki", format: "der" }),
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

function certificate(tbs: Buffer, signer: KeyObject): string {
  const alg = seq(oid(OID.ecdsaWithSha256));
  const signature = sign("sha256", tbs, signer); // DER-encoded ECDSA-Sig-Value
  return toPem("CERTIFICATE", seq(tbs, alg, bits(signature)));
}

/** A self-signed CA (pathlen 0: it signs serving certificates only). */
export function issueCa(commonName: string, validity: Validity): IssuedPem {
  const k = newKey();
  const id = keyId(k.spki);
  const tbs = seq(
    explicit(0, int(2)),
    serial(),
    seq(oid(OID.ecdsaWithSha256)),
    name(commonName),
    seq(time(validity.notBefore), time(validity.notAfter)),
    name(commonName),
    k.spki,
    explicit(
      3,
      seq(
        ext(OID.basicConstraints, true, seq(bool(true), int(0))),
        ext(OID.keyUsage, true, keyUsage(5, 6)),
        ext(OID.subjectKeyId, false, octets(id)),
      ),
    ),
  );
  return { certPem: certificate(tbs, k.privateKey), keyPem: k.keyPem };
}

/** A serving certificate for `names` (DNS names and IPv4 addresses), signed by `ca`. */
export function issueServing(
  ca: IssuedPem,
  names: readonly string[],
  validity: Validity,
): IssuedPem {
  if (names.length === 0) throw new Error("x509: a serving certificate needs at least one name");
  const caCert = new X509Certificate(ca.certPem);
  const caKey = createPrivateKey(ca.keyPem);
  const caSpki = caCert.publicKey.export({ type: "spki", format: "der" });
  const k = newKey();
  const caDer = caCert.raw;
  const subjectOfCa = caSubjectDer(caDer);
  const tbs = seq(
    explicit(0, int(2)),
    serial(),
    seq(oid(OID.ecdsaWithSha256)),
    subjectOfCa,
    seq(time(validity.notBefore), time(validity.notAfter)),
    name(names[0] ?? "webhook"),
    k.spki,
    explicit(
      3,
      seq(
        ext(OID.basicConstraints, true, seq()),
        ext(OID.keyUsage, true, keyUsage(0)),
        ext(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
        ext(OID.subjectAltName, false, san(names)),
        ext(OID.subjectKeyId, false, octets(keyId(k.spki))),
        ext(OID.authorityKeyId, false, seq(tlv(0x80, keyId(caSpki)))),
      ),
    ),
  );
  return { certPem: certificate(tbs, caKey), keyPem: k.keyPem };
}

// --- reading DER back (just enough to copy the CA's subject byte for byte into the issuer) ---

function readTlv(
  buf: Buffer,
  offset: number,
): { start: number; contentStart: number; end: number } {
  const first = buf[offset + 1] ?? 0;
  let length = first;
  let header = 2;
  if (first & 0x80) {
    const n = first & 0x7f;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (buf[offset + 2 + i] ?? 0);
    header = 2 + n;
  }
  return { start: offset, contentStart: offset + header, end: offset + header + length };
}

/** The subject Name of a certificate, as encoded (Certificate → TBSCertificate → 6th element). */
function caSubjectDer(der: Buffer): Buffer {
  const certificateTlv = readTlv(der, 0);
  const tbs = readTlv(der, certificateTlv.contentStart);
  let p = tbs.contentStart;
  // version [0], serial, signature alg, issuer, validity, subject
  for (let i = 0; i < 5; i++) p = readTlv(der, p).end;
  const subject = readTlv(der, p);
  return der.subarray(subject.start, subject.end);
}
