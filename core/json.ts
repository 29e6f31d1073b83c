// Narrowing of parsed JSON/YAML: the one guard every edge and the core use for "a plain object".

/** A plain object (not null, not an array): what a parsed JSON/YAML mapping is. */
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A value as an error message quotes it: JSON, cut at 80 characters. */
export function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    return `a ${typeName(v)}`; // nested too deep to print (hostile input), or a cycle
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** A parsed value's type as error messages name it. */
export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "list";
  if (typeof v === "object") return "object";
  if (Number.isInteger(v)) return "integer";
  return typeof v;
}

/**
 * The fix for a value that should be a string but that YAML made a boolean or a number: YAML 1.1
 * (how kubectl reads manifests) takes unquoted y, yes, on, n, no, off, true and false for booleans
 * and digits for numbers. `example` is the quoted form to show when the caller knows it. Empty for
 * other values.
 */
export function quoteHint(v: unknown, example?: string): string {
  if (typeof v === "boolean")
    return ` (quote it as written${example !== undefined ? `, e.g. "${example}"` : ""}: YAML reads unquoted y, yes, on, n, no, off, true and false as booleans)`;
  if (typeof v === "number") return ` (quote it: "${String(v)}")`;
  return "";
}
