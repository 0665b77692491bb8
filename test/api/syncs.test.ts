import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../dev/embedded-postgres";
import { type McpUpstream, startMcpUpstream } from "../../dev/mcp-upstream";
import { decryptToken } from "../../functions/core/dify/encrypt-token";
import { Sync } from "../../functions/core/sync";
import {
  createDifyFixture,
  type DifyFixture,
  type DifyLevel,
  databaseSettings,
  insertForeignProvider,
} from "../support/dify-fixture";
import { interceptDynamo, internalError } from "../support/dynamodb-faults";
import { startTestRuntime } from "../support/runtime";
import { startTcpProxy } from "../support/tcp-proxy";

type Row = {
  id: string;
  name: string;
  server_identifier: string;
  server_url: string;
  server_url_hash: string;
  icon: string;
  user_id: string;
  tools: string;
  authed: boolean;
  encrypted_headers?: string | null;
  identity_mode?: string;
  timeout?: number;
};

let upstream: McpUpstream;
beforeAll(async () => {
  upstream = await startMcpUpstream();
});
afterAll(() => upstream.close());

describe.each<DifyLevel>(["1.6.0", "1.9.0", "1.15.0"])("sync to Dify %s", (level) => {
  let t: Awaited<ReturnType<typeof startTestRuntime>>;
  let dify: DifyFixture;
  let platformId: string;
  let instanceId: string;

  beforeAll(async () => {
    t = await startTestRuntime({ publicUrl: "https://gw.example.test" });
    dify = await createDifyFixture({ level, spaces: 4 });
    platformId = await t.createPlatform(dify.url);
    instanceId = (
      await t.request("POST", "/api/instances", {
        name: "Echo tools",
        identifier: "echo-tools",
        upstream: { url: upstream.mcpUrl, transport: "streamable-http" },
        icon: { emoji: "🔗", background: "#123456" },
      })
    ).body.id;
  });
  afterAll(async () => {
    await t.close();
    await dify.close();
  });

  const rows = (tenantId: string) =>
    dify.query<Row>("SELECT * FROM tool_mcp_providers WHERE tenant_id = $1", [tenantId]);
  const reveal = async (spaceId: string) =>
    (await t.request("POST", `/api/instances/${instanceId}/access/${platformId}/${spaceId}/reveal`)).body
      .credential as string;
  const syncAndWait = async (spaces: Array<{ spaceId: string; headers?: Record<string, string> }>) => {
    const started = await t.request("POST", "/api/syncs", { platformId, instanceIds: [instanceId], spaces });
    expect(started.status).toBe(202);
    await t.queue.idle();
    return (await t.request("GET", `/api/syncs/${started.body.id}`)).body;
  };

  it("writes a provider row Dify can read: every encrypted value opens with the space's key", async () => {
    const [a, b] = dify.spaces;
    const detail = await syncAndWait([{ spaceId: a!.id }, { spaceId: b!.id, headers: { "X-Team": "b" } }]);
    expect(detail.job).toMatchObject({ status: "done", total: 2, counts: { synced: 2, failed: 0 } });
    expect(detail.items.map((item: { status: string }) => item.status)).toEqual(["synced", "synced"]);

    for (const space of [a!, b!]) {
      const [row, ...others] = await rows(space.id);
      expect(others).toHaveLength(0);
      const credential = await reveal(space.id);
      const url = decryptToken(dify.privateKeyFor(space.id), row!.server_url);
      const expectedUrl = `https://gw.example.test/gateway/${instanceId}/mcp`;
      if (level === "1.6.0") {
        expect(url).toBe(`${expectedUrl}?sg_token=${credential}`);
      } else {
        expect(url).toBe(expectedUrl);
        const headers = JSON.parse(row!.encrypted_headers as string);
        expect(Object.keys(headers)).toEqual(["Authorization"]);
        expect(decryptToken(dify.privateKeyFor(space.id), headers.Authorization)).toBe(
          `Bearer ${credential}`,
        );
      }
      expect(row!.server_url_hash).toBe(createHash("sha256").update(url, "utf8").digest("hex"));
      expect(row).toMatchObject({
        name: "Echo tools",
        server_identifier: "echo-tools",
        authed: true,
        user_id: space.ownerId,
      });
      expect(JSON.parse(row!.icon)).toEqual({ content: "🔗", background: "#123456" });
      const tools = JSON.parse(row!.tools) as Array<{
        name: string;
        description: string;
        inputSchema: unknown;
      }>;
      expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(["echo", "add"]));
      for (const tool of tools) expect(typeof tool.description).toBe("string");
      if (level === "1.15.0") expect(row!.identity_mode).toBe("off");
    }
    const instance = (await t.request("GET", `/api/instances/${instanceId}`)).body;
    expect(instance.identifierLocked).toBe(true);
    expect((await t.request("PATCH", `/api/instances/${instanceId}`, { identifier: "other" })).status).toBe(
      409,
    );
  });

  it("replaces a rotated credential in Dify, in the same row", async () => {
    const space = dify.spaces[0]!;
    const [before] = await rows(space.id);
    await t.request("POST", `/api/instances/${instanceId}/access/${platformId}/${space.id}/rotate`);
    await t.queue.idle();
    const credential = await reveal(space.id);
    const [after, ...others] = await rows(space.id);
    expect(others).toHaveLength(0);
    expect(after!.id).toBe(before!.id);
    const opened =
      level === "1.6.0"
        ? decryptToken(dify.privateKeyFor(space.id), after!.server_url)
        : decryptToken(
            dify.privateKeyFor(space.id),
            JSON.parse(after!.encrypted_headers as string).Authorization,
          );
    expect(opened).toContain(credential);
  });

  it("carries an instance rename into every space, and repairs a row deleted in Dify", async () => {
    const [a, b] = dify.spaces;
    await dify.query("DELETE FROM tool_mcp_providers WHERE tenant_id = $1", [b!.id]);
    const renamed = await t.request("PATCH", `/api/instances/${instanceId}`, { name: "Echo renamed" });
    expect(renamed.status).toBe(200);
    await t.queue.idle();
    expect((await rows(a!.id))[0]?.name).toBe("Echo renamed");
    expect((await rows(b!.id))[0]?.name).toBe("Echo renamed");
    const access = (await t.request("GET", `/api/instances/${instanceId}/access`)).body.items as Array<{
      spaceId: string;
      sync: { status: string; repairedDrift?: boolean };
    }>;
    expect(access.find((grant) => grant.spaceId === b!.id)?.sync).toMatchObject({
      status: "synced",
      repairedDrift: true,
    });
  });

  it("never overwrites a provider someone created in Dify: the item fails with name_conflict", async () => {
    const space = dify.spaces[2]!;
    await insertForeignProvider(dify, {
      tenantId: space.id,
      name: "Echo renamed",
      serverIdentifier: "theirs",
      serverUrl: "https://their-server.example/mcp",
    });
    const detail = await syncAndWait([{ spaceId: space.id }]);
    expect(detail.items[0]).toMatchObject({ status: "failed", error: { code: "name_conflict" } });
    expect(detail.items[0].error.message).toContain("Echo renamed");
    const [foreign, ...others] = await rows(space.id);
    expect(others).toHaveLength(0);
    expect(foreign!.server_identifier).toBe("theirs");
  });

  it("removes only its own row from Dify", async () => {
    const [a, , c] = dify.spaces;
    const removed = await t.request(
      "DELETE",
      `/api/instances/${instanceId}/access/${platformId}/${a!.id}?removeFromDify=true`,
    );
    expect(removed.status).toBe(204);
    expect(await rows(a!.id)).toHaveLength(0);
    await t.request(
      "DELETE",
      `/api/instances/${instanceId}/access/${platformId}/${c!.id}?removeFromDify=true`,
    );
    expect(await rows(c!.id)).toHaveLength(1);
  });
});

describe("sync jobs", () => {
  let t: Awaited<ReturnType<typeof startTestRuntime>>;
  let dify: DifyFixture;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let platformId: string;
  let instanceId: string;

  beforeAll(async () => {
    t = await startTestRuntime();
    dify = await createDifyFixture({ level: "1.15.0", spaces: 3 });
    const settings = databaseSettings(dify.url);
    proxy = await startTcpProxy({ host: settings.host, port: settings.port });
    platformId = (
      await t.request("POST", "/api/platforms", {
        name: "Behind a proxy",
        kind: "dify-community",
        database: { ...settings, port: proxy.port },
      })
    ).body.id;
    instanceId = await t.createInstance({ name: "Jobs", upstreamUrl: upstream.mcpUrl });
  });
  afterAll(async () => {
    await proxy.close();
    await t.close();
    await dify.close();
  });

  const jobCount = async () => (await t.request("GET", "/api/syncs?limit=200")).body.items.length;

  it("refuses bad input, naming the id, and enqueues nothing", async () => {
    const before = await jobCount();
    const space = dify.spaces[0]!.id;
    const cases: Array<[unknown, number, string]> = [
      [
        {
          platformId: "plt_00000000000000000000000000",
          instanceIds: [instanceId],
          spaces: [{ spaceId: space }],
        },
        404,
        "plt_00000000000000000000000000",
      ],
      [
        { platformId, instanceIds: ["ins_00000000000000000000000000"], spaces: [{ spaceId: space }] },
        404,
        "ins_00000000000000000000000000",
      ],
      [
        {
          platformId,
          instanceIds: [instanceId],
          spaces: [{ spaceId: "0b7a2c1e-0000-4000-8000-000000000000" }],
        },
        404,
        "0b7a2c1e-0000-4000-8000-000000000000",
      ],
      [{ platformId, instanceIds: [], spaces: [{ spaceId: space }] }, 400, "instanceIds"],
      [{ platformId, instanceIds: [instanceId], spaces: [] }, 400, "spaces"],
      [
        { platformId, instanceIds: [instanceId], spaces: [{ spaceId: space }, { spaceId: space }] },
        400,
        space,
      ],
    ];
    for (const [body, status, named] of cases) {
      const response = await t.request("POST", "/api/syncs", body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.text).toContain(named);
    }
    expect(await jobCount()).toBe(before);
    expect((await t.request("GET", `/api/instances/${instanceId}/access`)).body.items).toHaveLength(0);
  });

  it("never duplicates a row, whether a message comes again or two workers race", async () => {
    const space = dify.spaces[0]!;
    const started = await t.request("POST", "/api/syncs", {
      platformId,
      instanceIds: [instanceId],
      spaces: [{ spaceId: space.id }],
    });
    await t.queue.idle();
    const message = { jobId: started.body.id, instanceId, platformId, spaceId: space.id };
    await Sync.handle(message, 2);
    await Sync.handle(message, 3);
    const second = await t.request("POST", "/api/syncs", {
      platformId,
      instanceIds: [instanceId],
      spaces: [{ spaceId: space.id }],
    });
    const third = await t.request("POST", "/api/syncs", {
      platformId,
      instanceIds: [instanceId],
      spaces: [{ spaceId: space.id }],
    });
    await Promise.all([
      Sync.handle({ ...message, jobId: second.body.id }, 1),
      Sync.handle({ ...message, jobId: third.body.id }, 1),
    ]);
    await t.queue.idle();
    const rows = await dify.query("SELECT id FROM tool_mcp_providers WHERE tenant_id = $1", [space.id]);
    expect(rows).toHaveLength(1);
  });

  it("fails items as dify_unreachable while PostgreSQL is down, and a retry syncs them once it is back", async () => {
    const spaces = [dify.spaces[1]!, dify.spaces[2]!];
    t.queue.pause();
    const started = await t.request("POST", "/api/syncs", {
      platformId,
      instanceIds: [instanceId],
      spaces: spaces.map((space) => ({ spaceId: space.id })),
    });
    expect(started.status).toBe(202);
    await proxy.stop();
    t.queue.resume();
    await t.queue.idle();
    const failed = (await t.request("GET", `/api/syncs/${started.body.id}`)).body;
    expect(failed.job.status).toBe("failed");
    for (const item of failed.items) {
      expect(item).toMatchObject({ status: "failed", error: { code: "dify_unreachable" }, attempts: 5 });
    }

    await proxy.start();
    const retried = await t.request("POST", `/api/syncs/${started.body.id}/retry`);
    expect(retried.status).toBe(202);
    await t.queue.idle();
    const done = (await t.request("GET", `/api/syncs/${started.body.id}`)).body;
    expect(done.job).toMatchObject({ status: "done", counts: { synced: 2, failed: 0 } });
  });

  it("sends every other space's message when one space cannot be prepared, and fails that one with a reason", async () => {
    const sturdyId = await t.createInstance({ name: "Sturdy", upstreamUrl: upstream.mcpUrl });
    const ordinary = dify.spaces.slice(0, 3);
    const [broken, ...others] = ordinary;
    // The space has access already; DynamoDB refuses the sync's first write to it, as it does when an
    // internal error outlasts the retries.
    await t.request("PUT", `/api/instances/${sturdyId}/access/${platformId}/${broken!.id}`, {});
    const grantOf = `"sk":"${platformId}#${broken!.id}"`;
    let refused = 0;
    const release = interceptDynamo(t.runtime.store, (command, input) => {
      if (command === "UpdateItemCommand" && refused === 0 && input.includes(grantOf)) {
        refused++;
        throw internalError();
      }
    });
    let started: Awaited<ReturnType<typeof t.request>>;
    try {
      started = await t.request("POST", "/api/syncs", {
        platformId,
        instanceIds: [sturdyId],
        spaces: ordinary.map((space) => ({ spaceId: space.id })),
      });
    } finally {
      release();
    }
    expect(refused).toBe(1);
    expect(started.status).toBe(202);
    await t.queue.idle();

    const detail = (await t.request("GET", `/api/syncs/${started.body.id}`)).body;
    expect(detail.job).toMatchObject({
      status: "failed",
      total: 3,
      counts: { queued: 0, synced: 2, failed: 1 },
    });
    const bySpace = new Map(detail.items.map((item: { spaceId: string }) => [item.spaceId, item]));
    expect(bySpace.get(broken!.id)).toMatchObject({
      status: "failed",
      error: { code: "sync_not_started", message: expect.stringMatching(/Retry/) },
    });
    for (const space of others) expect(bySpace.get(space.id)).toMatchObject({ status: "synced" });

    const retried = await t.request("POST", `/api/syncs/${started.body.id}/retry`);
    expect(retried.status).toBe(202);
    await t.queue.idle();
    const done = (await t.request("GET", `/api/syncs/${started.body.id}`)).body;
    expect(done.job).toMatchObject({ status: "done", counts: { synced: 3, failed: 0 } });
  });

  it("fails the items whose messages could not be queued, and a retry sends them", async () => {
    const queuedId = await t.createInstance({ name: "Unqueued", upstreamUrl: upstream.mcpUrl });
    const ordinary = dify.spaces.slice(0, 2);
    const queue = t.runtime.queue;
    // SQS refuses the batch, as it does while the service is unavailable.
    t.runtime.queue = {
      send: async () => {
        throw new Error("ServiceUnavailable");
      },
    };
    let started: Awaited<ReturnType<typeof t.request>>;
    try {
      started = await t.request("POST", "/api/syncs", {
        platformId,
        instanceIds: [queuedId],
        spaces: ordinary.map((space) => ({ spaceId: space.id })),
      });
    } finally {
      t.runtime.queue = queue;
    }
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: "failed", counts: { queued: 0, failed: 2 } });
    const detail = (await t.request("GET", `/api/syncs/${started.body.id}`)).body;
    for (const item of detail.items) {
      expect(item).toMatchObject({ status: "failed", error: { code: "sync_not_queued" } });
    }

    await t.request("POST", `/api/syncs/${started.body.id}/retry`);
    await t.queue.idle();
    const done = (await t.request("GET", `/api/syncs/${started.body.id}`)).body;
    expect(done.job).toMatchObject({ status: "done", counts: { synced: 2, failed: 0 } });
  });

  it("fails at once, with the reason, an instance whose tools cannot be listed or that lists none", async () => {
    const empty = await startMcpUpstream({ noTools: true });
    const unlisted = await t.createInstance({
      name: "Never listed",
      upstreamUrl: `http://127.0.0.1:${await freePort()}/mcp`,
    });
    const toolless = await t.createInstance({ name: "No tools", upstreamUrl: empty.mcpUrl });
    const started = await t.request("POST", "/api/syncs", {
      platformId,
      instanceIds: [unlisted, toolless],
      spaces: [{ spaceId: dify.spaces[2]!.id }],
    });
    await t.queue.idle();
    await empty.close();
    const detail = (await t.request("GET", `/api/syncs/${started.body.id}`)).body;
    const byName = Object.fromEntries(
      detail.items.map((item: { instanceName: string }) => [item.instanceName, item]),
    );
    expect(byName["Never listed"]).toMatchObject({
      status: "failed",
      attempts: 1,
      error: { code: "discovery_failed", message: expect.stringContaining("Never listed") },
    });
    expect(byName["No tools"]).toMatchObject({
      status: "failed",
      attempts: 1,
      error: { code: "no_tools", message: expect.stringContaining("lists no tools") },
    });
    const rows = await dify.query("SELECT name FROM tool_mcp_providers WHERE tenant_id = $1", [
      dify.spaces[2]!.id,
    ]);
    expect(rows.map((row) => row.name)).not.toContain("No tools");
  });

  it("cancels the items not yet started", async () => {
    t.queue.pause();
    const started = await t.request("POST", "/api/syncs", {
      platformId,
      instanceIds: [instanceId],
      spaces: [{ spaceId: dify.spaces[1]!.id }],
    });
    const cancelled = await t.request("POST", `/api/syncs/${started.body.id}/cancel`);
    t.queue.resume();
    await t.queue.idle();
    expect(cancelled.body).toMatchObject({ status: "cancelled", counts: { cancelled: 1 } });
    const detail = (await t.request("GET", `/api/syncs/${started.body.id}`)).body;
    expect(detail.items[0].status).toBe("cancelled");
  });
});
