import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Envelope } from "../../../functions/core/crypto/envelope";
import { LocalSecretStore } from "../../../functions/core/secrets/local";

const secrets = () => new LocalSecretStore(mkdtempSync(path.join(tmpdir(), "sg-env-")));

describe("Envelope", () => {
  it("round-trips values and never repeats a ciphertext", async () => {
    const envelope = new Envelope(secrets());
    const a = await envelope.encrypt("sg_secret-credential");
    const b = await envelope.encrypt("sg_secret-credential");
    expect(a).not.toBe(b);
    expect(a).not.toContain("secret-credential");
    expect(await envelope.decrypt(a)).toBe("sg_secret-credential");
    expect(await envelope.decrypt(await envelope.encrypt("ünïcødé ✓"))).toBe("ünïcødé ✓");
  });

  it("names the key in each ciphertext and still opens old values after a rotation", async () => {
    const store = secrets();
    const envelope = new Envelope(store);
    const old = await envelope.encrypt("before");
    const oldKey = await envelope.currentKeyId();
    const newKey = await envelope.rotate();
    expect(newKey).not.toBe(oldKey);
    expect(old.split(".")[1]).toBe(oldKey);
    expect(await envelope.isStale(old)).toBe(true);
    const fresh = await envelope.encrypt("after");
    expect(await envelope.isStale(fresh)).toBe(false);
    expect(await envelope.decrypt(old)).toBe("before");

    const otherProcess = new Envelope(store);
    expect(await otherProcess.decrypt(fresh)).toBe("after");
  });

  it("refuses a tampered ciphertext", async () => {
    const envelope = new Envelope(secrets());
    const sealed = await envelope.encrypt("value");
    const parts = sealed.split(".");
    const bytes = Buffer.from(parts[3] as string, "base64url");
    bytes[0] = (bytes[0] as number) ^ 1;
    parts[3] = bytes.toString("base64url");
    await expect(envelope.decrypt(parts.join("."))).rejects.toThrow();
    await expect(envelope.decrypt("plain text")).rejects.toMatchObject({ code: "ciphertext_invalid" });
  });
});
