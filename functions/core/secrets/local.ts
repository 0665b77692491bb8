import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { SecretStore } from "./index";

interface SealedFile {
  version: 1;
  iv: string;
  tag: string;
  data: string;
}

/**
 * Secrets in one file under the data directory, sealed with AES-256-GCM under a random master key
 * kept beside it (mode 0600). Writes replace the file atomically.
 */
export class LocalSecretStore implements SecretStore {
  private readonly file: string;
  private readonly key: Buffer;
  private secrets: Record<string, string>;

  constructor(directory: string) {
    mkdirSync(directory, { recursive: true });
    this.file = path.join(directory, "secrets.enc.json");
    this.key = loadOrCreateKey(path.join(directory, "master.key"));
    this.secrets = existsSync(this.file) ? this.open(JSON.parse(readFileSync(this.file, "utf8"))) : {};
  }

  async get(name: string) {
    return this.secrets[name] ?? null;
  }

  async put(name: string, value: string) {
    this.secrets = { ...this.secrets, [name]: value };
    this.save();
  }

  async create(name: string, value: string) {
    if (name in this.secrets) return false;
    await this.put(name, value);
    return true;
  }

  async delete(name: string) {
    const { [name]: _removed, ...rest } = this.secrets;
    this.secrets = rest;
    this.save();
  }

  private open(sealed: SealedFile): Record<string, string> {
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(sealed.iv, "base64"));
    decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
    const plain = Buffer.concat([decipher.update(Buffer.from(sealed.data, "base64")), decipher.final()]);
    return JSON.parse(plain.toString("utf8"));
  }

  private save() {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(this.secrets), "utf8"), cipher.final()]);
    const sealed: SealedFile = {
      version: 1,
      iv: iv.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
      data: data.toString("base64"),
    };
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, JSON.stringify(sealed), { mode: 0o600 });
    renameSync(temporary, this.file);
  }
}

function loadOrCreateKey(file: string): Buffer {
  if (existsSync(file)) return Buffer.from(readFileSync(file, "utf8").trim(), "base64");
  const key = randomBytes(32);
  writeFileSync(file, key.toString("base64"), { mode: 0o600 });
  return key;
}
