// A stored document split into parts that each fit a ConfigMap (1 MiB): `{head…"identities":{…}}`
// with whole identities per part. Shared by the learned baseline and the usage behind rightsize.

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
