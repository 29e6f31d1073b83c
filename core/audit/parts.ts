// A stored document split into parts that each fit a ConfigMap (1 MiB): `{head…"identities":{…}}`
// with whole identities per part. Shared by the learned baseline and the usage behind rightsize.
import { isRecord } from "../json.js";

/**
 * `entries` (identity → its stored form) as documents of at most `maxBytes` of JSON each, all with
 * `apiVersion`; an identity is never split (its own caps bound it). At least one part, maybe empty.
 */
export function documentParts(
  apiVersion: string,
  entries: Iterable<[string, unknown]>,
  maxBytes: number,
): string[] {
  const parts: string[] = [];
  const head = `{"apiVersion":${JSON.stringify(apiVersion)},"identities":{`;
  let body: string[] = [];
  let size = head.length + 2;
  const flush = (): void => {
    parts.push(`${head}${body.join(",")}}}`);
    body = [];
    size = head.length + 2;
  };
  for (const [id, stored] of entries) {
    const entry = `${JSON.stringify(id)}:${JSON.stringify(stored)}`;
    if (body.length > 0 && size + entry.length + 1 > maxBytes) flush();
    body.push(entry);
    size += entry.length + 1;
  }
  if (body.length > 0 || parts.length === 0) flush();
  return parts;
}

/**
 * The envelope `documentParts` writes, read back: JSON, an object, `apiVersion` equal to
 * `apiVersion`, `identities` an object (each identity's value is the caller's to check). The error
 * names what was wrong.
 */
export function parseDocumentEnvelope(
  text: string,
  apiVersion: string,
): { identities: Record<string, unknown> } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: `not JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  if (!isRecord(value)) return { error: "not a JSON object" };
  if (value.apiVersion !== apiVersion)
    return {
      error: `apiVersion is ${JSON.stringify(value.apiVersion)}, expected "${apiVersion}"`,
    };
  if (!isRecord(value.identities)) return { error: "identities is not an object" };
  return { identities: value.identities };
}
