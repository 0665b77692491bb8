import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpUpstream, startMcpUpstream } from "../../dev/mcp-upstream";
import { handler as refresh } from "../../functions/worker/refresh";
import { createDifyFixture, type DifyFixture, insertForeignProvider } from "../support/dify-fixture";
import { startTestRuntime } from "../support/runtime";

type SyncState = { status: string; error?: { code: string; message: string } };

describe("a provider someone added in Dify by hand", () => {
  let t: Awaited<ReturnType<typeof startTestRuntime>>;
  let dify: DifyFixture;
  let upstream: McpUpstream;
  let platformId: string;
  let instanceId: string;

  beforeAll(async () => {
    upstream = await startMcpUpstream();
    t = await startTestRuntime({ publicUrl: "https://gw.example.test" });
    dify = await createDifyFixture({ level: "1.15.0", spaces: 2 });
    platformId = await t.createPlatform(dify.url);
    instanceId = await t.createInstance({ name: "Echo tools", upstreamUrl: upstream.mcpUrl });
  });
  afterAll(async () => {
    await t.close();
    await dify.close();
    await upstream.close();
  });

  /** Every provider row of a space, each exactly as PostgreSQL holds it. */
  const rowsOf = async (tenantId: string) =>
    (
      await dify.query<{ row: string }>(
        "SELECT to_jsonb(p)::text AS row FROM tool_mcp_providers p WHERE tenant_id = $1 ORDER BY id",
        [tenantId],
      )
    ).map(({ row }) => row);
  const syncAndWait = async (spaceId: string) => {
    const started = await t.request("POST", "/api/syncs", {
      platformId,
      instanceIds: [instanceId],
      spaces: [{ spaceId }],
    });
    await t.queue.idle();
    return (await t.request("GET", `/api/syncs/${started.body.id}`)).body.items[0] as SyncState;
  };
  const syncStateOf = async (spaceId: string) => {
    const access = (await t.request("GET", `/api/instances/${instanceId}/access`)).body.items as Array<{
      spaceId: string;
      sync: SyncState;
    }>;
    return access.find((grant) => grant.spaceId === spaceId)?.sync;
  };

  it("pointing at the gateway URL is reported as url_conflict and never touched by sync, rotation, refresh or removal", async () => {
    const space = dify.spaces[0]!;
    expect((await syncAndWait(space.id)).status).toBe("synced");
    await dify.query("DELETE FROM tool_mcp_providers WHERE tenant_id = $1", [space.id]);
    await insertForeignProvider(dify, {
      tenantId: space.id,
      name: "Echo by hand",
      serverIdentifier: "echo-by-hand",
      serverUrl: `https://gw.example.test/gateway/${instanceId}/mcp`,
      tools: [{ name: "mine", description: "", inputSchema: { type: "object" } }],
    });
    const before = await rowsOf(space.id);
    const reported = { status: "failed", error: { code: "url_conflict" } };

    const item = await syncAndWait(space.id);
    expect(item).toMatchObject(reported);
    expect(item.error?.message).toContain('"Echo by hand"');
    expect(await rowsOf(space.id)).toEqual(before);

    const rotated = await t.request(
      "POST",
      `/api/instances/${instanceId}/access/${platformId}/${space.id}/rotate`,
    );
    expect(rotated.status).toBe(200);
    await t.queue.idle();
    expect(await rowsOf(space.id)).toEqual(before);
    expect(await syncStateOf(space.id)).toMatchObject(reported);

    await refresh();
    await t.queue.idle();
    expect(await rowsOf(space.id)).toEqual(before);
    expect(await syncStateOf(space.id)).toMatchObject(reported);

    const removed = await t.request(
      "DELETE",
      `/api/instances/${instanceId}/access/${platformId}/${space.id}?removeFromDify=true`,
    );
    expect(removed.status).toBe(204);
    expect(await rowsOf(space.id)).toEqual(before);
  });

  it("holding the instance's new name stops the rename in that space as name_conflict, leaving both rows", async () => {
    const space = dify.spaces[1]!;
    expect((await syncAndWait(space.id)).status).toBe("synced");
    await insertForeignProvider(dify, {
      tenantId: space.id,
      name: "Echo renamed",
      serverIdentifier: "their-echo",
      serverUrl: "https://their-server.example/mcp",
    });
    const before = await rowsOf(space.id);

    expect((await t.request("PATCH", `/api/instances/${instanceId}`, { name: "Echo renamed" })).status).toBe(
      200,
    );
    await t.queue.idle();

    expect(await syncStateOf(space.id)).toMatchObject({ status: "failed", error: { code: "name_conflict" } });
    expect(await rowsOf(space.id)).toEqual(before);
  });
});
