import { createPublicKey, generateKeyPair } from "node:crypto";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { decryptToken, encryptToken, isUsablePublicKey } from "../../../functions/core/dify/encrypt-token";
import { AppError } from "../../../functions/core/errors";

const generateRsaPair = (privateKeyType: "pkcs8" | "pkcs1") =>
  promisify(generateKeyPair)("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: privateKeyType, format: "pem" },
  });

describe("encryptToken", () => {
  let tenant: { publicKey: string; privateKey: string };
  let otherTenant: { publicKey: string; privateKey: string };

  beforeAll(async () => {
    [tenant, otherTenant] = await Promise.all([generateRsaPair("pkcs8"), generateRsaPair("pkcs1")]);
  });

  it.each([
    ["an ASCII URL", "https://gateway.example.com/mcp/ins_01hx?space=spc_42"],
    ["an empty string", ""],
    ["a long string", "Bearer sg_".padEnd(10_000, "abcdefghij0123456789")],
    ["non-ASCII UTF-8", "Schlüssel: 密钥 🔑 — ключ"],
  ])("round-trips %s through Dify's decryption", (_, plaintext) => {
    const token = encryptToken(tenant.publicKey, plaintext);

    expect(decryptToken(tenant.privateKey, token)).toBe(plaintext);
  });

  it("round-trips with a PKCS#1 private key", () => {
    const token = encryptToken(otherTenant.publicKey, "Authorization: Bearer abc");

    expect(decryptToken(otherTenant.privateKey, token)).toBe("Authorization: Bearer abc");
  });

  it("lays out HYBRID: prefix, 256-byte wrapped key, nonce, tag and a ciphertext as long as the UTF-8 text", () => {
    const plaintext = "naïve café";

    const token = encryptToken(tenant.publicKey, plaintext);

    expect(token).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    const data = Buffer.from(token, "base64");
    expect(data.toString("base64")).toBe(token);
    expect(data.subarray(0, 7).toString("latin1")).toBe("HYBRID:");
    expect(data.length).toBe(7 + 256 + 16 + 16 + Buffer.byteLength(plaintext, "utf8"));
  });

  it("uses a fresh key and nonce for every encryption of the same text", () => {
    const first = Buffer.from(encryptToken(tenant.publicKey, "same text"), "base64");
    const second = Buffer.from(encryptToken(tenant.publicKey, "same text"), "base64");

    expect(first.subarray(7, 263)).not.toEqual(second.subarray(7, 263));
    expect(first.subarray(263, 279)).not.toEqual(second.subarray(263, 279));
    expect(first.subarray(295)).not.toEqual(second.subarray(295));
  });

  it("cannot be decrypted with another tenant's private key", () => {
    const token = encryptToken(tenant.publicKey, "secret");

    expect(() => decryptToken(otherTenant.privateKey, token)).toThrow();
  });

  it("fails to decrypt a token whose ciphertext was altered", () => {
    const data = Buffer.from(encryptToken(tenant.publicKey, "secret"), "base64");
    data[data.length - 1]! ^= 0x01;

    expect(() => decryptToken(tenant.privateKey, data.toString("base64"))).toThrow(/tag does not match/);
  });

  it.each([
    ["a key-vault key name", "projects/dify/locations/global/keyRings/tenants/cryptoKeys/tenant-42"],
    ["an empty string", ""],
    ["a broken PEM", "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n"],
  ])("refuses to encrypt for %s with key_not_pem", (_, key) => {
    let error: unknown;
    try {
      encryptToken(key, "secret");
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "key_not_pem", status: 422 });
    expect((error as AppError).message).toMatch(/outside the database/);
  });
});

describe("isUsablePublicKey", () => {
  let pair: { publicKey: string; privateKey: string };

  beforeAll(async () => {
    pair = await generateRsaPair("pkcs1");
  });

  it("accepts a PEM RSA public key, SPKI or PKCS#1", () => {
    const pkcs1 = createPublicKey(pair.publicKey).export({ type: "pkcs1", format: "pem" }).toString();

    expect(isUsablePublicKey(pair.publicKey)).toBe(true);
    expect(isUsablePublicKey(pkcs1)).toBe(true);
  });

  it.each([
    ["null", null],
    ["an empty string", ""],
    ["a key name", "tenant-42-encryption-key"],
    ["a broken PEM", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----"],
  ])("rejects %s", (_, value) => {
    expect(isUsablePublicKey(value)).toBe(false);
  });

  it("rejects a private key and a non-RSA public key", async () => {
    const { publicKey } = await promisify(generateKeyPair)("ed25519", {
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    });

    expect(isUsablePublicKey(pair.privateKey)).toBe(false);
    expect(isUsablePublicKey(publicKey)).toBe(false);
  });
});
