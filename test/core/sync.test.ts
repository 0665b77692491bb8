import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpUpstream, startMcpUpstream } from "../../dev/mcp-upstream";
import { createDifyFixture, type DifyFixture } from "../support/dify-fixture";
import { interceptDynamo } from "../support/dynamodb-faults";
import { startTestRuntime } from "../support/runtime";

const SPACES = 50;

let t: Awaited<ReturnType<typeof startTestRuntime>>;
let dify: DifyFixture;
let upstream: McpUpstream;
let platformId: string;
let instanceId: string;
const operations = new Map<string, number>();

beforeAll(async () => {
  t = await startTestRuntime();
  dify = await createDifyFixture({ level: "1.15.0", spaces: SPACES });
  upstream = await startMcpUpstream();
  platformId = await t.createPlatform(dify.url);
  instanceId = await t.createInstance({ name: "Counted", upstreamUrl: upstream.mcpUrl });
  // Every table request the product sends, by command.
  interceptDynamo(t.runtime.store, (command) => {
    operations.set(command, (operations.get(command) ?? 0) + 1);
  });
});
afterAll(async () => {
  await t.close();
  await dify.close();
  await upstream.close();
});

/** Syncs every space of the fixture and answers the table requests it cost, per space. */
async function syncEverySpace() {
  operations.clear();
  const spaces = dify.spaces.filter((space) => space.name.startsWith("Space ")).slice(0, SPACES);
  const started = await t.request("POST", "/api/syncs", {
    platformId,
    instanceIds: [instanceId],
    spaces: spaces.map((space) => ({ spaceId: space.id })),
  });
  expect(started.status).toBe(202);
  await t.queue.idle();
  const total = [...operations.values()].reduce((sum, count) => sum + count, 0);
  const detail = (await t.request("GET", `/api/syncs/${started.body.id}`)).body;
  return { perSpace: total / spaces.length, job: detail.job, byCommand: Object.fromEntries(operations) };
}

describe("a sync's table requests", () => {
  it("cost at most 5 per space, whether the spaces are new or synced before", async () => {
    const first = await syncEverySpace();
    expect(first.job).toMatchObject({ status: "done", counts: { synced: first.job.total } });
    expect(first.perSpace, JSON.stringify(first.byCommand)).toBeLessThanOrEqual(5);

    const again = await syncEverySpace();
    expect(again.job).toMatchObject({ status: "done", counts: { synced: again.job.total } });
    expect(again.perSpace, JSON.stringify(again.byCommand)).toBeLessThanOrEqual(5);
    const rows = await dify.query("SELECT id FROM tool_mcp_providers");
    expect(rows).toHaveLength(first.job.total);
  });
});
