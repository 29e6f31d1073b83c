// The one token redaction: anything shaped like a credential never reaches a log line, an Event, an
// annotation or a status, whatever the message was built from (an API server's error may quote
// what it was sent).

// JWTs (three base64url segments; or the start of one, cut short) and long opaque runs (base64, hex,
// random strings).
const TOKENISH =
  /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|eyJ[A-Za-z0-9_.-]{20,}|[A-Za-z0-9+/_=-]{40,}/g;

/** `text` with every token-shaped run replaced by "[redacted]", cut to `maxLength` characters. */
export function redactTokens(text: string, maxLength: number): string {
  return text.replace(TOKENISH, "[redacted]").slice(0, maxLength);
}
