import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { AppError } from "../errors";
import { getOrCreateSecret, SecretName, type SecretStore } from "../secrets";

interface KeyRing {
  current: string;
  keys: Record<string, string>;
}

const PREFIX = "sg1";

/**
 * AES-256-GCM encryption at rest for credentials and header values kept in the table. Keys live in
 * the secret store as a key ring; every ciphertext names the key that sealed it
 * (`sg1.<keyId>.<iv>.<sealed>`), so the ring can gain a new current key and old values still open.
 */
export class Envelope {
  private ring?: Promise<KeyRing>;

  constructor(private readonly secrets: SecretStore) {}

  async encrypt(plaintext: string): Promise<string> {
    const ring = await this.keyRing();
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", keyOf(ring, ring.current), iv);
    const sealed = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return [PREFIX, ring.current, iv.toString("base64url"), sealed.toString("base64url")].join(".");
  }

  async decrypt(ciphertext: string): Promise<string> {
    const [prefix, keyId, iv, sealed] = ciphertext.split(".");
    if (prefix !== PREFIX || !keyId || !iv || !sealed) {
      throw new AppError("ciphertext_invalid", "A stored value is not in Spacegate's encrypted format.");
    }
    let ring = await this.keyRing();
    if (!ring.keys[keyId]) {
      // Another process may have rotated the ring since this one loaded it.
      this.ring = undefined;
      ring = await this.keyRing();
    }
    const bytes = Buffer.from(sealed, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", keyOf(ring, keyId), Buffer.from(iv, "base64url"));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString(
      "utf8",
    );
  }

  /** The id of the key new values are sealed with. */
  async currentKeyId(): Promise<string> {
    return (await this.keyRing()).current;
  }

  /** Whether a ciphertext was sealed with another key than the current one. */
  async isStale(ciphertext: string): Promise<boolean> {
    return ciphertext.split(".")[1] !== (await this.currentKeyId());
  }

  /** Adds a new key and makes it current; old keys stay so existing values still open. */
  async rotate(): Promise<string> {
    const ring = await this.keyRing();
    const keyId = `k${randomBytes(5).toString("hex")}`;
    const next: KeyRing = {
      current: keyId,
      keys: { ...ring.keys, [keyId]: randomBytes(32).toString("base64") },
    };
    await this.secrets.put(SecretName.envelopeKeys, JSON.stringify(next));
    this.ring = Promise.resolve(next);
    return keyId;
  }

  private keyRing(): Promise<KeyRing> {
    this.ring ??= this.loadKeyRing().catch((error) => {
      this.ring = undefined;
      throw error;
    });
    return this.ring;
  }

  private async loadKeyRing(): Promise<KeyRing> {
    const stored = await getOrCreateSecret(this.secrets, SecretName.envelopeKeys, () => {
      const keyId = `k${randomBytes(5).toString("hex")}`;
      return JSON.stringify({ current: keyId, keys: { [keyId]: randomBytes(32).toString("base64") } });
    });
    return JSON.parse(stored) as KeyRing;
  }
}

function keyOf(ring: KeyRing, keyId: string): Buffer {
  const key = ring.keys[keyId];
  if (!key) {
    throw new AppError("key_missing", `The encryption key ${keyId} is no longer in the key ring.`);
  }
  return Buffer.from(key, "base64");
}
