import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Envelope } from "../../../functions/core/crypto/envelope";
import { AwsSecretStore } from "../../../functions/core/secrets/aws";
import { LocalSecretStore } from "../../../functions/core/secrets/local";
import { type FakeAws, startFakeAws } from "../../support/fake-aws";

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

describe("AwsSecretStore", () => {
  let fake: FakeAws;
  beforeAll(async () => {
    fake = await startFakeAws();
  });
  afterAll(() => fake.close());

  it("keeps one secret per name under the prefix and caches reads", async () => {
    let now = 0;
    const store = new AwsSecretStore("spacegate-prod", fake.secretsManager(), 30_000, () => now);

    expect(await store.get("platform/plt_1/password")).toBeNull();
    fake.calls.length = 0;
    await store.put("platform/plt_1/password", "pw-1");
    expect(fake.secretValue("spacegate-prod/platform/plt_1/password")).toBe("pw-1");
    await store.put("platform/plt_1/password", "pw-2");
    expect(fake.calls.filter((call) => call === "CreateSecret")).toHaveLength(1);

    fake.calls.length = 0;
    expect(await store.get("platform/plt_1/password")).toBe("pw-2");
    expect(fake.calls).toEqual([]);
    now += 30_001;
    expect(await store.get("platform/plt_1/password")).toBe("pw-2");
    expect(fake.calls).toEqual(["GetSecretValue"]);

    await store.delete("platform/plt_1/password");
    expect(await store.get("platform/plt_1/password")).toBeNull();
    await store.delete("platform/plt_1/password");
  });

  it("gives a secret the stack created empty its first value once, and never replaces a value", async () => {
    fake.createEmptySecret("sg-empty/session-key");
    const first = new AwsSecretStore("sg-empty", fake.secretsManager());
    const second = new AwsSecretStore("sg-empty", fake.secretsManager());

    expect(await first.get("session-key")).toBeNull();
    const results = await Promise.all([
      first.create("session-key", "from first"),
      second.create("session-key", "from second"),
    ]);

    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results[0] ? "from first" : "from second";
    expect(fake.secretValue("sg-empty/session-key")).toBe(winner);
    expect(await first.get("session-key")).toBe(winner);
    expect(await second.get("session-key")).toBe(winner);

    await first.put("session-key", "rotated");
    expect(await new AwsSecretStore("sg-empty", fake.secretsManager()).create("session-key", "late")).toBe(
      false,
    );
    expect(fake.secretValue("sg-empty/session-key")).toBe("rotated");
  });
});

describe("the envelope key ring on Secrets Manager", () => {
  let fake: FakeAws;
  beforeAll(async () => {
    fake = await startFakeAws();
  });
  afterAll(() => fake.close());

  it.each([
    ["does not exist yet", () => {}],
    ["was created empty by the stack", () => fake.createEmptySecret("sg/envelope-keys")],
  ])("is created once when two cold starts race and the secret %s", async (_case, arrange) => {
    await fake.close();
    fake = await startFakeAws();
    arrange();
    const first = new Envelope(new AwsSecretStore("sg", fake.secretsManager()));
    const second = new Envelope(new AwsSecretStore("sg", fake.secretsManager()));
    const [a, b] = await Promise.all([first.encrypt("from first"), second.encrypt("from second")]);
    expect(await first.decrypt(b)).toBe("from second");
    expect(await second.decrypt(a)).toBe("from first");
    expect(await new AwsSecretStore("sg", fake.secretsManager()).create("envelope-keys", "{}")).toBe(false);
  });
});
