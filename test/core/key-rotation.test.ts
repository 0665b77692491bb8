import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpUpstream, startMcpUpstream } from "../../dev/mcp-upstream";
import { Access } from "../../functions/core/access";
import { Instance } from "../../functions/core/instance";
import { createDifyFixture, type DifyFixture } from "../support/dify-fixture";
import { interceptDynamo } from "../support/dynamodb-faults";
import { startTestRuntime } from "../support/runtime";

let t: Awaited<ReturnType<typeof startTestRuntime>>;
let dify: DifyFixture;
let upstream: McpUpstream;

beforeAll(async () => {
  t = await startTestRuntime();
  t.queue.pause();
  dify = await createDifyFixture({ level: "1.9.0", spaces: 1 });
  upstream = await startMcpUpstream();
});
afterAll(async () => {
  await t.close();
  await dify.close();
  await upstream.close();
});

describe("encryption key rotation", () => {
  it("re-encrypts every credential and header value under the new key, keeping their values", async () => {
    const platformId = await t.createPlatform(dify.url);
    const instanceId = (
      await t.request("POST", "/api/instances", {
        name: "Rotating",
        upstream: { url: upstream.mcpUrl, transport: "streamable-http" },
        headers: { "X-Api-Key": "instance-key" },
      })
    ).body.id;
    const spaceId = dify.spaces[0]!.id;
    await t.request("PUT", `/api/instances/${instanceId}/access/${platformId}/${spaceId}`, {
      headers: { "X-Space": "one" },
    });
    const credential = (
      await t.request("POST", `/api/instances/${instanceId}/access/${platformId}/${spaceId}/reveal`)
    ).body.credential;
    const oldKey = await t.runtime.envelope.currentKeyId();

    const rotated = await t.request("POST", "/api/keys/rotate");
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ instances: 1, grants: 1 });
    expect(rotated.body.keyId).not.toBe(oldKey);

    const grant = await Access.load(instanceId, platformId, spaceId);
    const instance = await Instance.load(instanceId);
    for (const sealed of [
      grant.credential,
      grant.headers["X-Space"]!.sealed,
      instance.headers["X-Api-Key"]!.sealed,
    ]) {
      expect(sealed.split(".")[1]).toBe(rotated.body.keyId);
    }
    expect(await Access.credentialOf(grant)).toBe(credential);
    expect(await Access.headersOf(grant)).toEqual({ "X-Space": "one" });
    expect(await Instance.headersOf(instance)).toEqual({ "X-Api-Key": "instance-key" });
    expect((await t.request("GET", "/api/audit?action=keys.rotate")).body.items).toHaveLength(1);
  });

  it("names what it could not re-encrypt and fails loudly, and rotating again finishes", async () => {
    const platformId = await t.createPlatform(dify.url);
    const instanceId = await t.createInstance({ name: "Busy", upstreamUrl: upstream.mcpUrl });
    const spaceId = dify.spaces[0]!.id;
    await t.request("PUT", `/api/instances/${instanceId}/access/${platformId}/${spaceId}`, {});
    const before = await Access.load(instanceId, platformId, spaceId);
    // Someone else changes the grant each time, just before the rotation writes it.
    const grantKey = { pk: before.pk, sk: before.sk };
    let changes = 0;
    const release = interceptDynamo(t.runtime.store, async (command, input) => {
      if (command === "PutItemCommand" && input.includes(grantKey.sk)) {
        changes++;
        await t.runtime.store.patch(grantKey, {}, { add: { version: 1 } });
      }
    });
    let refused: Awaited<ReturnType<typeof t.request>>;
    try {
      refused = await t.request("POST", "/api/keys/rotate");
    } finally {
      release();
    }
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      code: "rotation_incomplete",
      details: { left: [{ type: "access", id: `${instanceId}/${platformId}/${spaceId}` }] },
    });
    expect(changes).toBeGreaterThan(5);
    const { keyId, instances, grants } = refused.body.details;
    // Every instance was re-encrypted, and every grant but the busy one.
    const totals = await t.request("GET", "/api/instances?limit=200");
    expect(instances).toBe(totals.body.items.length);
    expect(grants).toBe(
      totals.body.items.reduce((sum: number, item: { spaceCount: number }) => sum + item.spaceCount, 0) - 1,
    );
    const busy = await Access.load(instanceId, platformId, spaceId);
    expect(busy.credential.split(".")[1]).not.toBe(keyId);
    expect(await Access.credentialOf(busy)).toBe(await Access.credentialOf(before));

    const again = await t.request("POST", "/api/keys/rotate");
    expect(again.status).toBe(200);
    const rewritten = await Access.load(instanceId, platformId, spaceId);
    expect(rewritten.credential.split(".")[1]).toBe(again.body.keyId);
    expect(await Access.credentialOf(rewritten)).toBe(await Access.credentialOf(before));
  });

  it("filters the audit log by the very target types events are recorded with", async () => {
    const document = (await t.request("GET", "/api/openapi.json")).body;
    const parameter = document.paths["/api/audit"].get.parameters.find(
      (p: { name: string }) => p.name === "targetType",
    );
    const offered: string[] = parameter.schema.enum;
    expect(offered).toContain("key");

    const recorded = new Set(
      (await t.request("GET", "/api/audit?limit=200")).body.items.map(
        (event: { target: { type: string } }) => event.target.type,
      ),
    );
    expect([...recorded].sort()).toEqual(["access", "instance", "key", "platform"]);
    for (const type of offered) {
      const filtered = (await t.request("GET", `/api/audit?targetType=${type}&limit=200`)).body.items;
      expect(filtered.length > 0).toBe(recorded.has(type));
      expect(filtered.every((event: { target: { type: string } }) => event.target.type === type)).toBe(true);
    }
    const rotations = (await t.request("GET", "/api/audit?targetType=key")).body.items;
    expect(rotations.map((event: { action: string }) => event.action)).toContain("keys.rotate");

    const unknown = await t.request("GET", "/api/audit?targetType=keys");
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe("invalid_request");
  });
});
