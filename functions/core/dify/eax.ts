import { createCipheriv, timingSafeEqual } from "node:crypto";

// EAX (Bellare, Rogaway, Wagner), as pycryptodome's AES.MODE_EAX does it with a 16-byte tag.
// Node has no EAX, so it is built from AES-CMAC (OMAC) and AES-CTR.

const BLOCK = 16;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

const aesName = (key: Buffer, mode: "cbc" | "ctr") => {
  if (![16, 24, 32].includes(key.length))
    throw new Error(`EAX needs an AES key of 16, 24 or 32 bytes, got ${key.length}`);
  return `aes-${key.length * 8}-${mode}`;
};

/** Doubling in GF(2^128), the subkey derivation of CMAC. */
const double = (block: Buffer): Buffer => {
  const out = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i++) out[i] = ((block[i]! << 1) | ((block[i + 1] ?? 0) >> 7)) & 0xff;
  if (block[0]! & 0x80) out[BLOCK - 1]! ^= 0x87;
  return out;
};

const xorInto = (target: Buffer, source: Buffer, offset: number) => {
  for (let i = 0; i < source.length; i++) target[offset + i]! ^= source[i]!;
};

/** AES-CMAC (NIST SP 800-38B): CBC-MAC with a zero IV over the message whose last block is masked. */
const cmac = (key: Buffer, message: Buffer): Buffer => {
  const cbc = () => createCipheriv(aesName(key, "cbc"), key, ZERO_BLOCK).setAutoPadding(false);
  const k1 = double(cbc().update(ZERO_BLOCK));
  const complete = message.length > 0 && message.length % BLOCK === 0;
  const padded = Buffer.alloc(complete ? message.length : (Math.floor(message.length / BLOCK) + 1) * BLOCK);
  message.copy(padded);
  if (!complete) padded[message.length] = 0x80;
  xorInto(padded, complete ? k1 : double(k1), padded.length - BLOCK);
  return cbc().update(padded).subarray(-BLOCK);
};

/** OMAC_t(M) = CMAC(15 zero bytes || t || M): EAX's three tweaked MACs (0 nonce, 1 header, 2 ciphertext). */
const omac = (key: Buffer, tweak: 0 | 1 | 2, message: Buffer): Buffer => {
  const prefix = Buffer.alloc(BLOCK);
  prefix[BLOCK - 1] = tweak;
  return cmac(key, Buffer.concat([prefix, message]));
};

// Node's aes-*-ctr increments the whole 16-byte IV as one big-endian counter, as EAX requires.
const ctr = (key: Buffer, iv: Buffer, data: Buffer) => {
  const cipher = createCipheriv(aesName(key, "ctr"), key, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
};

const computeTag = (key: Buffer, n: Buffer, header: Buffer, ciphertext: Buffer) => {
  const tag = Buffer.from(n);
  xorInto(tag, omac(key, 1, header), 0);
  xorInto(tag, omac(key, 2, ciphertext), 0);
  return tag;
};

/** Encrypts with AES-EAX; `header` is authenticated but not encrypted. Returns the 16-byte tag apart. */
export function eaxEncrypt(
  key: Buffer,
  nonce: Buffer,
  plaintext: Buffer,
  header: Buffer = Buffer.alloc(0),
): { ciphertext: Buffer; tag: Buffer } {
  const n = omac(key, 0, nonce);
  const ciphertext = ctr(key, n, plaintext);
  return { ciphertext, tag: computeTag(key, n, header, ciphertext) };
}

/** Verifies the 16-byte tag, then decrypts with AES-EAX. Throws when the tag does not match. */
export function eaxDecrypt(
  key: Buffer,
  nonce: Buffer,
  ciphertext: Buffer,
  tag: Buffer,
  header: Buffer = Buffer.alloc(0),
): Buffer {
  const n = omac(key, 0, nonce);
  const expected = computeTag(key, n, header, ciphertext);
  if (tag.length !== expected.length || !timingSafeEqual(tag, expected)) {
    throw new Error("EAX authentication failed: the tag does not match the ciphertext");
  }
  return ctr(key, n, ciphertext);
}
