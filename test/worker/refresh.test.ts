import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpUpstream, startMcpUpstream } from "../../dev/mcp-upstream";
import { Instance } from "../../functions/core/instance";
import { handler } from "../../functions/worker/refresh";
import { createDifyFixture, type DifyFixture } from "../support/dify-fixture";
import { startTestRuntime } from "../support/runtime";

let t: Awaited<ReturnType<typeof startTestRuntime>>;
let dify: DifyFixture;
let upstream: McpUpstream;
let instanceId: string;

beforeAll(async () => {
  t = await startTestRuntime();
  dify = await createDifyFixture({ level: "1.9.0", spaces: 2 });
  upstream = await startMcpUpstream();
  const platformId = await t.createPlatform(dify.url);
  instanceId = await t.createInstance({ name: "Refreshed", upstreamUrl: upstream.mcpUrl });
  await t.request("POST", "/api/syncs", {
    platformId,
    instanceIds: [instanceId],
    spaces: dify.spaces.slice(0, 2).map((space) => ({ spaceId: space.id })),
  });
  await t.queue.idle();
});
afterAll(async () => {
  await t.close();
  await dify.close();
  await upstream.close();
});

const row = async (spaceId: string) =>
  (
    await dify.query<{ id: string; tools: string; server_url: string }>(
      "SELECT * FROM tool_mcp_providers WHERE tenant_id = $1",
      [spaceId],
    )
  )[0];

describe("the scheduled refresh", () => {
  it("notices a changed tool list, leaves current rows alone and repairs a row deleted in Dify", async () => {
    const [a, b] = dify.spaces;
    const before = await row(a!.id);
    const snapshot = (await Instance.tools(instanceId))!;
    await Instance.keepTools(instanceId, { ...snapshot, tools: snapshot.tools.slice(0, 1) });
    await dify.query("DELETE FROM tool_mcp_providers WHERE tenant_id = $1", [b!.id]);

    const results = await handler();
    await t.queue.idle();

    expect(results).toEqual([
      { instanceId, changed: true, jobs: 1, newTools: ["add", "slow", "headers"], heldBack: [] },
    ]);
    expect((await Instance.tools(instanceId))?.tools).toHaveLength(snapshot.tools.length);
    expect(await row(a!.id)).toEqual(before);
    const repaired = await row(b!.id);
    expect(JSON.parse(repaired!.tools)).toHaveLength(snapshot.tools.length);
    const access = (await t.request("GET", `/api/instances/${instanceId}/access`)).body.items as Array<{
      spaceId: string;
      sync: { status: string; repairedDrift: boolean };
    }>;
    expect(access.find((grant) => grant.spaceId === b!.id)?.sync).toMatchObject({
      status: "synced",
      repairedDrift: true,
    });
    expect(access.find((grant) => grant.spaceId === a!.id)?.sync).toMatchObject({
      status: "synced",
      repairedDrift: false,
    });
  });

  it("rewrites a tool list edited in Dify", async () => {
    const a = dify.spaces[0]!;
    await dify.query("UPDATE tool_mcp_providers SET tools = '[]' WHERE tenant_id = $1", [a.id]);
    await handler();
    await t.queue.idle();
    expect(JSON.parse((await row(a.id))!.tools).length).toBeGreaterThan(0);
  });

  it("keeps a tool new upstream out of an instance with an allow-list, and says so", async () => {
    const a = dify.spaces[0]!;
    await t.request("PATCH", `/api/instances/${instanceId}`, { tools: ["echo", "add"] });
    await t.queue.idle();
    const snapshot = (await Instance.tools(instanceId))!;
    await Instance.keepTools(instanceId, { ...snapshot, tools: snapshot.tools.slice(0, 1) });

    const results = await handler();
    await t.queue.idle();

    expect(results).toEqual([
      {
        instanceId,
        changed: true,
        jobs: 1,
        newTools: ["add", "slow", "headers"],
        heldBack: ["slow", "headers"],
      },
    ]);
    expect(JSON.parse((await row(a.id))!.tools).map((tool: { name: string }) => tool.name)).toEqual([
      "echo",
      "add",
    ]);
  });
});
