import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpUpstream, startMcpUpstream } from "../../dev/mcp-upstream";
import { Access } from "../../functions/core/access";
import { decryptToken } from "../../functions/core/dify/encrypt-token";
import { Instance } from "../../functions/core/instance";
import { Sync } from "../../functions/core/sync";
import { createDifyFixture, type DifyFixture } from "../support/dify-fixture";
import { startTestRuntime } from "../support/runtime";

type Row = { id: string; name: string; encrypted_headers: string };

describe("workflows called on the domain, as the API, the worker or a script would", () => {
  let upstream: McpUpstream;
  let t: Awaited<ReturnType<typeof startTestRuntime>>;
  let dify: DifyFixture;
  let platformId: string;
  let instanceId: string;
  let spaces: DifyFixture["spaces"];

  beforeAll(async () => {
    upstream = await startMcpUpstream();
    t = await startTestRuntime();
    dify = await createDifyFixture({ level: "1.9.0", spaces: 2 });
    spaces = dify.spaces.slice(0, 2);
    platformId = await t.createPlatform(dify.url);
    instanceId = (
      await Instance.create({
        name: "Workflows",
        identifier: "workflows",
        upstream: { url: upstream.mcpUrl, transport: "streamable-http" },
      })
    ).id;
    await Sync.start({
      platformId,
      instanceIds: [instanceId],
      spaces: spaces.map((space) => ({ spaceId: space.id })),
    });
    await t.queue.idle();
  });
  afterAll(async () => {
    await t.close();
    await dify.close();
    await upstream.close();
  });

  const rows = (tenantId: string) =>
    dify.query<Row>("SELECT * FROM tool_mcp_providers WHERE tenant_id = $1", [tenantId]);
  const jobCount = async () => (await Sync.list({ limit: 200 })).items.length;

  it("rotating a credential gives Dify the new one, in the same row", async () => {
    const space = spaces[0]!;
    const [before] = await rows(space.id);

    const grant = await Sync.rotateAccess(instanceId, platformId, space.id);
    await t.queue.idle();

    const [after, ...others] = await rows(space.id);
    expect(others).toHaveLength(0);
    expect(after!.id).toBe(before!.id);
    const authorization = JSON.parse(after!.encrypted_headers).Authorization;
    expect(decryptToken(dify.privateKeyFor(space.id), authorization)).toBe(
      `Bearer ${await Access.credentialOf(grant)}`,
    );
  });

  it("an instance change Dify shows reaches every space; one it does not show starts no sync", async () => {
    const before = await jobCount();
    await Sync.updateInstance(instanceId, { description: "Only Spacegate shows this" });
    expect(await jobCount()).toBe(before);

    await Sync.updateInstance(instanceId, { name: "Workflows renamed" });
    await t.queue.idle();

    expect(await jobCount()).toBe(before + 1);
    for (const space of spaces) expect((await rows(space.id))[0]?.name).toBe("Workflows renamed");
  });

  it("removing access with removeFromDify deletes the tool from the space's Dify and the grant", async () => {
    const [a, b] = spaces;

    await Sync.removeAccess(instanceId, platformId, a!.id, { removeFromDify: true });
    await Sync.removeAccess(instanceId, platformId, b!.id);

    expect(await rows(a!.id)).toHaveLength(0);
    expect(await Access.find(instanceId, platformId, a!.id)).toBeNull();
    expect(await rows(b!.id)).toHaveLength(1);
    expect(await Access.find(instanceId, platformId, b!.id)).toBeNull();
    expect((await Instance.get(instanceId)).spaceCount).toBe(0);
  });
});
