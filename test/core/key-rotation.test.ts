import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Access } from "../../functions/core/access";
import { Instance } from "../../functions/core/instance";
import { createDifyFixture, type DifyFixture } from "../support/dify-fixture";
import { type McpUpstream, startMcpUpstream } from "../support/mcp-upstream";
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
});
