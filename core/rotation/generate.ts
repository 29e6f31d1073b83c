// Formatting random bytes into a Generated credential's value. The randomness is a parameter (the
// edge passes node:crypto's randomBytes), so the format is testable and the core stays deterministic.
import type { SecretEncoding } from "../nhi/types.js";

export type RandomBytes = (n: number) => Uint8Array;

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function base64(bytes: Uint8Array, url: boolean): string {
  const abc = url
    ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i] ?? 0,
      b1 = bytes[i + 1] ?? 0,
      b2 = bytes[i + 2] ?? 0;
    const n = (b0 << 16) | (b1 << 8) | b2;
    const chars = [abc[(n >> 18) & 63], abc[(n >> 12) & 63], abc[(n >> 6) & 63], abc[n & 63]];
    const take = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    out += chars.slice(0, take).join("");
    if (!url) out += "=".repeat(4 - take);
  }
  return out;
}

/**
 * A value of `length` random bytes (base64, base64url without padding, hex) or `length` characters
 * drawn uniformly from [A-Za-z0-9] (alphanumeric; rejection sampling, so no character is favoured).
 */
export function generateValue(
  length: number,
  encoding: SecretEncoding,
  random: RandomBytes,
): string {
  if (!Number.isInteger(length) || length < 1)
    throw new Error(`length must be a positive integer, got ${length}`);
  switch (encoding) {
    case "base64":
      return base64(random(length), false);
    case "base64url":
      return base64(random(length), true);
    case "hex":
      return [...random(length)].map((b) => b.toString(16).padStart(2, "0")).join("");
    case "alphanumeric": {
      let out = "";
      // 62 * 4 = 248: bytes ≥ 248 are rejected so each character has probability exactly 1/62.
      while (out.length < length) {
        for (const b of random(length - out.length + 8)) {
          if (b < 248 && out.length < length) out += ALPHANUMERIC[b % 62];
        }
      }
      return out;
    }
  }
}

/** Whether a stored value has the shape generateValue gives for these parameters (verification without knowing the value). */
export function matchesFormat(
  valueLength: number,
  valueAlphabetOk: (re: RegExp) => boolean,
  length: number,
  encoding: SecretEncoding,
): boolean {
  switch (encoding) {
    case "base64":
      return valueLength === 4 * Math.ceil(length / 3) && valueAlphabetOk(/^[A-Za-z0-9+/]*={0,2}$/);
    case "base64url":
      return valueLength === Math.ceil((length * 8) / 6) && valueAlphabetOk(/^[A-Za-z0-9_-]*$/);
    case "hex":
      return valueLength === 2 * length && valueAlphabetOk(/^[0-9a-f]*$/);
    case "alphanumeric":
      return valueLength === length && valueAlphabetOk(/^[A-Za-z0-9]*$/);
  }
}
