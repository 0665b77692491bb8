import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpUpstream, startMcpUpstream } from "../../dev/mcp-upstream";
import { handler } from "../../functions/worker/sqs";
import { createDifyFixture, type DifyFixture, databaseSettings } from "../support/dify-fixture";
import { lambdaContext } from "../support/lambda-events";
import { startTestRuntime } from "../support/runtime";
import { sqsEvent, sqsRecord } from "../support/sqs-events";

let t: Awaited<ReturnType<typeof startTestRuntime>>;
let dify: DifyFixture;
let upstream: McpUpstream;
let platformId: string;
let instanceId: string;

beforeAll(async () => {
  t = await startTestRuntime();
  t.queue.pause();
  dify = await createDifyFixture({ level: "1.9.0", spaces: 2 });
  upstream = await startMcpUpstream();
  platformId = await t.createPlatform(dify.url);
  instanceId = await t.createInstance({ name: "Worker", upstreamUrl: upstream.mcpUrl });
});
afterAll(async () => {
  await t.close();
  await dify.close();
  await upstream.close();
});

describe("the SQS sync worker", () => {
  it("writes one row for a message delivered three times, and reports only the bad record", async () => {
    const space = dify.spaces[0]!;
    const job = await t.request("POST", "/api/syncs", {
      platformId,
      instanceIds: [instanceId],
      spaces: [{ spaceId: space.id }],
    });
    const body = JSON.stringify({ jobId: job.body.id, instanceId, platformId, spaceId: space.id });
    const bad = sqsRecord('{"jobId": 42}');
    const result = await handler(
      sqsEvent([
        sqsRecord(body),
        sqsRecord(body, { receiveCount: 2 }),
        bad,
        sqsRecord(body, { receiveCount: 3 }),
      ]),
      lambdaContext(),
    );
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: bad.messageId }]);
    const rows = await dify.query("SELECT id FROM tool_mcp_providers WHERE tenant_id = $1", [space.id]);
    expect(rows).toHaveLength(1);
    const detail = await t.request("GET", `/api/syncs/${job.body.id}`);
    expect(detail.body.items[0].status).toBe("synced");
  });

  it("asks for a redelivery while Dify is unreachable, and records the failure on the last attempt", async () => {
    const space = dify.spaces[1]!;
    // Moving the platform to another port needs its password again.
    const { password } = databaseSettings(dify.url);
    await t.request("PATCH", `/api/platforms/${platformId}`, { database: { port: 1, password } });
    const job = await t.request("POST", "/api/syncs", {
      platformId,
      instanceIds: [instanceId],
      spaces: [{ spaceId: space.id }],
    });
    expect(job.status).toBe(422);
    await t.request("PATCH", `/api/platforms/${platformId}`, {
      database: { port: databaseSettings(dify.url).port, password },
    });
    const queued = await t.request("POST", "/api/syncs", {
      platformId,
      instanceIds: [instanceId],
      spaces: [{ spaceId: space.id }],
    });
    await t.request("PATCH", `/api/platforms/${platformId}`, { database: { port: 1, password } });
    const body = JSON.stringify({ jobId: queued.body.id, instanceId, platformId, spaceId: space.id });

    const early = sqsRecord(body, { receiveCount: 1 });
    expect((await handler(sqsEvent([early]), lambdaContext())).batchItemFailures).toEqual([
      { itemIdentifier: early.messageId },
    ]);
    expect((await t.request("GET", `/api/syncs/${queued.body.id}`)).body.items[0]).toMatchObject({
      status: "queued",
      error: { code: "dify_unreachable" },
    });

    const last = sqsRecord(body, { receiveCount: 5 });
    expect((await handler(sqsEvent([last]), lambdaContext())).batchItemFailures).toEqual([]);
    expect((await t.request("GET", `/api/syncs/${queued.body.id}`)).body.items[0]).toMatchObject({
      status: "failed",
      attempts: 5,
      error: { code: "dify_unreachable" },
    });
  });
});
