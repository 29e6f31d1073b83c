// Narrowing of parsed JSON/YAML: the one guard every edge and the core use for "a plain object".

/** A plain object (not null, not an array): what a parsed JSON/YAML mapping is. */
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
