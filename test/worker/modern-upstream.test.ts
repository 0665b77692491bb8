import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Instance } from "../../functions/core/instance";
import { handler } from "../../functions/worker/refresh";
import { createDifyFixture, type DifyFixture } from "../support/dify-fixture";
import { type McpUpstreamV2, startMcpUpstreamV2 } from "../support/mcp-upstream-v2";
import { startTestRuntime } from "../support/runtime";

let t: Awaited<ReturnType<typeof startTestRuntime>>;
let dify: DifyFixture;
let upstream: McpUpstreamV2;

beforeAll(async () => {
  t = await startTestRuntime();
  dify = await createDifyFixture({ level: "1.9.0", spaces: 1 });
  upstream = await startMcpUpstreamV2({ modernOnly: true });
});
afterAll(async () => {
  await t.close();
  await dify.close();
  await upstream.close();
});

describe("an MCP server that speaks only 2026-07-28", () => {
  it("is discovered, synced into Dify with its tools, and refreshed", async () => {
    const platformId = await t.createPlatform(dify.url);
    const instanceId = await t.createInstance({ name: "Modern", upstreamUrl: upstream.mcpUrl });
    const spaceId = dify.spaces[0]!.id;

    await t.request("POST", "/api/syncs", { platformId, instanceIds: [instanceId], spaces: [{ spaceId }] });
    await t.queue.idle();
    const results = await handler();
    await t.queue.idle();

    expect((await Instance.get(instanceId)).server).toMatchObject({ protocolVersion: "2026-07-28" });
    const [row] = await dify.query<{ tools: string }>(
      "SELECT tools FROM tool_mcp_providers WHERE tenant_id = $1",
      [spaceId],
    );
    expect((JSON.parse(row!.tools) as Array<{ name: string }>).map((tool) => tool.name)).toEqual([
      "echo",
      "slow",
      "headers",
    ]);
    expect(results).toMatchObject([{ instanceId, changed: false }]);
  });
});
