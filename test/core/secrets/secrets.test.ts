import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
} from "@aws-sdk/client-secrets-manager";
import { describe, expect, it } from "vitest";
import { Envelope } from "../../../functions/core/crypto/envelope";
import { AwsSecretStore, type SecretsManagerSender } from "../../../functions/core/secrets/aws";
import { LocalSecretStore } from "../../../functions/core/secrets/local";

describe("LocalSecretStore", () => {
  it("keeps secrets across restarts, encrypted on disk", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sg-secrets-"));
    const first = new LocalSecretStore(dir);
    await first.put("platform/plt_1/password", "s3cret-database-password");
    await first.put("other", "value");
    await first.delete("other");

    const second = new LocalSecretStore(dir);
    expect(await second.get("platform/plt_1/password")).toBe("s3cret-database-password");
    expect(await second.get("other")).toBeNull();
    for (const file of readdirSync(dir)) {
      expect(readFileSync(path.join(dir, file), "utf8")).not.toContain("s3cret-database-password");
    }
    expect(statSync(path.join(dir, "master.key")).mode & 0o077).toBe(0);
  });
});

/** Stands in for the Secrets Manager service, which cannot run here. */
function fakeSecretsManager() {
  const secrets = new Map<string, string>();
  const calls: string[] = [];
  const notFound = () => new ResourceNotFoundException({ message: "not found", $metadata: {} });
  const client: SecretsManagerSender = {
    send: (async (command: unknown) => {
      calls.push((command as object).constructor.name);
      if (command instanceof GetSecretValueCommand) {
        const value = secrets.get(command.input.SecretId as string);
        if (value === undefined) throw notFound();
        return { SecretString: value };
      }
      if (command instanceof PutSecretValueCommand) {
        if (!secrets.has(command.input.SecretId as string)) throw notFound();
        secrets.set(command.input.SecretId as string, command.input.SecretString as string);
        return {};
      }
      if (command instanceof CreateSecretCommand) {
        if (secrets.has(command.input.Name as string)) {
          throw new ResourceExistsException({ message: "exists", $metadata: {} });
        }
        secrets.set(command.input.Name as string, command.input.SecretString as string);
        return {};
      }
      if (command instanceof DeleteSecretCommand) {
        if (!secrets.delete(command.input.SecretId as string)) throw notFound();
        return {};
      }
      throw new Error("unexpected command");
    }) as SecretsManagerSender["send"],
  };
  return { client, secrets, calls };
}

describe("AwsSecretStore", () => {
  it("keeps one secret per name under the prefix and caches reads", async () => {
    const fake = fakeSecretsManager();
    let now = 0;
    const store = new AwsSecretStore("spacegate-prod", fake.client, 30_000, () => now);

    expect(await store.get("platform/plt_1/password")).toBeNull();
    await store.put("platform/plt_1/password", "pw-1");
    expect(fake.secrets.get("spacegate-prod/platform/plt_1/password")).toBe("pw-1");
    await store.put("platform/plt_1/password", "pw-2");
    expect(fake.calls.filter((call) => call === "CreateSecretCommand")).toHaveLength(1);

    fake.calls.length = 0;
    expect(await store.get("platform/plt_1/password")).toBe("pw-2");
    expect(fake.calls).toEqual([]);
    now += 30_001;
    expect(await store.get("platform/plt_1/password")).toBe("pw-2");
    expect(fake.calls).toEqual(["GetSecretValueCommand"]);

    await store.delete("platform/plt_1/password");
    expect(await store.get("platform/plt_1/password")).toBeNull();
    await store.delete("platform/plt_1/password");
  });
});

describe("the envelope key ring on Secrets Manager", () => {
  it("is created once when two cold starts race, so each opens what the other sealed", async () => {
    const fake = fakeSecretsManager();
    const first = new Envelope(new AwsSecretStore("sg", fake.client));
    const second = new Envelope(new AwsSecretStore("sg", fake.client));
    const [a, b] = await Promise.all([first.encrypt("from first"), second.encrypt("from second")]);
    expect(await first.decrypt(b)).toBe("from second");
    expect(await second.decrypt(a)).toBe("from first");
    expect(await new AwsSecretStore("sg", fake.client).create("envelope-keys", "{}")).toBe(false);
  });
});
