import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * A prefixed, time-sortable id (`plt_01hx…`): 10 characters of milliseconds, then 16 random ones,
 * in Crockford's base32 (lowercase), so ids created later sort later.
 */
export function createId(prefix: "plt" | "ins" | "job" | "aud" | "req", now = Date.now()): string {
  let time = "";
  let ms = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[ms % 32] + time;
    ms = Math.floor(ms / 32);
  }
  const random = randomBytes(16);
  let tail = "";
  for (const byte of random) tail += ALPHABET[byte % 32];
  return `${prefix}_${time}${tail}`;
}

export const idPattern = (prefix: string) => new RegExp(`^${prefix}_[0-9a-z]{26}$`);
