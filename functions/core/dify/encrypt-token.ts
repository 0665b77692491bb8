import {
  constants,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from "node:crypto";
import { AppError } from "../errors";
import { eaxDecrypt, eaxEncrypt } from "./eax";

// Dify's libs/rsa.py: b"HYBRID:" + RSA-OAEP(SHA-1, MGF1-SHA1)(aes key) + EAX nonce + tag + ciphertext.
const PREFIX = Buffer.from("HYBRID:");
const NONCE_BYTES = 16;
const TAG_BYTES = 16;
const PUBLIC_PEM = /-----BEGIN (RSA )?PUBLIC KEY-----/;

// Parsing a PEM costs more than encrypting with it; a sync uses each space's key several times.
const parsedKeys = new Map<string, KeyObject | undefined>();

const parsePublicKey = (value: string | null): KeyObject | undefined => {
  if (!value || !PUBLIC_PEM.test(value)) return undefined;
  if (parsedKeys.has(value)) return parsedKeys.get(value);
  let key: KeyObject | undefined;
  try {
    const parsed = createPublicKey({ key: value, format: "pem" });
    key = parsed.asymmetricKeyType === "rsa" ? parsed : undefined;
  } catch {
    key = undefined;
  }
  if (parsedKeys.size >= 2000) parsedKeys.delete(parsedKeys.keys().next().value as string);
  parsedKeys.set(value, key);
  return key;
};

const oaep = (key: KeyObject) => ({
  key,
  padding: constants.RSA_PKCS1_OAEP_PADDING,
  oaepHash: "sha1",
});

/** True when `value` (a tenant's encrypt_public_key) is a PEM RSA public key we can encrypt for. */
export function isUsablePublicKey(value: string | null): boolean {
  return parsePublicKey(value) !== undefined;
}

/**
 * Dify's `encrypt_token`: encrypts `plaintext` for the tenant whose PEM public key is given, as
 * standard base64 text. Fresh AES key and nonce on every call. Throws `key_not_pem` when the key is
 * not a usable PEM RSA public key (e.g. a key-vault key name).
 */
export function encryptToken(publicKeyPem: string, plaintext: string): string {
  const publicKey = parsePublicKey(publicKeyPem);
  if (!publicKey) {
    throw new AppError(
      "key_not_pem",
      "This Dify space keeps its encryption key outside the database (the tenant's public key is not a PEM RSA key), so Spacegate cannot encrypt credentials for it. Choose another space, or store the space's RSA public key in Dify's database.",
    );
  }
  const aesKey = randomBytes(16);
  const nonce = randomBytes(NONCE_BYTES);
  const { ciphertext, tag } = eaxEncrypt(aesKey, nonce, Buffer.from(plaintext, "utf8"));
  const wrappedKey = publicEncrypt(oaep(publicKey), aesKey);
  return Buffer.concat([PREFIX, wrappedKey, nonce, tag, ciphertext]).toString("base64");
}

/** Dify's `decrypt_token`, with the tenant's PEM private key. Throws on a malformed or tampered token. */
export function decryptToken(privateKeyPem: string, token: string): string {
  const privateKey = createPrivateKey(privateKeyPem);
  const data = Buffer.from(token, "base64");
  if (!data.subarray(0, PREFIX.length).equals(PREFIX))
    throw new Error("Not a hybrid token: missing HYBRID: prefix");
  const body = data.subarray(PREFIX.length);
  const keyBytes = (privateKey.asymmetricKeyDetails?.modulusLength ?? 2048) / 8;
  const tagEnd = keyBytes + NONCE_BYTES + TAG_BYTES;
  if (body.length < tagEnd) throw new Error("Hybrid token too short");
  const aesKey = privateDecrypt(oaep(privateKey), body.subarray(0, keyBytes));
  const nonce = body.subarray(keyBytes, keyBytes + NONCE_BYTES);
  const tag = body.subarray(keyBytes + NONCE_BYTES, tagEnd);
  return eaxDecrypt(aesKey, nonce, body.subarray(tagEnd), tag).toString("utf8");
}
