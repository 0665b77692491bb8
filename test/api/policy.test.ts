import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpUpstream, startMcpUpstream } from "../../dev/mcp-upstream";
import { createGateway } from "../../functions/gateway/core";
import { nodeGateway } from "../../functions/gateway/node";
import { createStoreResolver } from "../../functions/gateway/resolver";
import { createDifyFixture, type DifyFixture, type DifyLevel } from "../support/dify-fixture";
import { startTestRuntime } from "../support/runtime";

type Row = { tools: string; identity_mode?: string };

let upstream: McpUpstream;
beforeAll(async () => {
  upstream = await startMcpUpstream();
});
afterAll(() => upstream.close());

describe.each<DifyLevel>(["1.9.0", "1.15.0"])("tool policy and identity in Dify %s", (level) => {
  let t: Awaited<ReturnType<typeof startTestRuntime>>;
  let dify: DifyFixture;
  let platformId: string;
  let instanceId: string;

  beforeAll(async () => {
    t = await startTestRuntime({ publicUrl: "https://gw.example.test" });
    dify = await createDifyFixture({ level, spaces: 2 });
    platformId = await t.createPlatform(dify.url);
    instanceId = (
      await t.request("POST", "/api/instances", {
        name: "Policy tools",
        identifier: "policy-tools",
        upstream: { url: upstream.mcpUrl, transport: "streamable-http" },
        limits: { callsPerMinute: 60 },
      })
    ).body.id;
  });
  afterAll(async () => {
    await t.close();
    await dify.close();
  });

  const rowOf = async (spaceId: string) =>
    (await dify.query<Row>("SELECT * FROM tool_mcp_providers WHERE tenant_id = $1", [spaceId]))[0]!;
  const toolsIn = async (spaceId: string) =>
    (JSON.parse((await rowOf(spaceId)).tools) as Array<{ name: string }>).map((tool) => tool.name);
  const access = (spaceId: string) => `/api/instances/${instanceId}/access/${platformId}/${spaceId}`;
  type AccessView = {
    spaceId: string;
    tools: string[] | null;
    limits: object;
    limited: number;
    sync: { status: string; error?: { code: string } };
  };
  const accessInfo = async (spaceId: string) => {
    const items = (await t.request("GET", `/api/instances/${instanceId}/access`)).body.items as AccessView[];
    return items.find((item) => item.spaceId === spaceId)!;
  };

  it("writes only a space's chosen tools into its row, and the gateway lists and calls only those", async () => {
    const [narrow, whole] = dify.spaces;
    const started = await t.request("POST", "/api/syncs", {
      platformId,
      instanceIds: [instanceId],
      spaces: [{ spaceId: narrow!.id, tools: ["echo"] }, { spaceId: whole!.id }],
    });
    expect(started.status).toBe(202);
    await t.queue.idle();
    const credential = (await t.request("POST", `${access(narrow!.id)}/reveal`)).body.credential as string;

    const gateway = createGateway({
      resolver: createStoreResolver({ store: t.runtime.store, envelope: t.runtime.envelope }),
      mode: "local",
    });
    const server = createServer(nodeGateway(gateway));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const client = new Client({ name: "Dify", version: "1.0.0" });
    try {
      await client.connect(
        new StreamableHTTPClientTransport(
          new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway/${instanceId}/mcp`),
          { requestInit: { headers: { authorization: `Bearer ${credential}` } } },
        ),
      );
      const listed = (await client.listTools()).tools.map((tool) => tool.name);
      const denied = await client.callTool({ name: "add", arguments: { a: 1, b: 1 } }).catch(String);

      expect(await toolsIn(narrow!.id)).toEqual(["echo"]);
      expect(await toolsIn(whole!.id)).toEqual(["echo", "add", "slow", "headers"]);
      expect(listed).toEqual(["echo"]);
      expect(String(denied)).toContain("not allowed in this space");
    } finally {
      await client.close();
      server.closeAllConnections();
      server.close();
    }
    const info = await accessInfo(narrow!.id);
    expect(info).toMatchObject({ tools: ["echo"], limits: {}, limited: 0 });
  });

  it("re-syncs a space's row when its tools or limits change, and every row when the instance's list does", async () => {
    const [narrow, whole] = dify.spaces;

    const patched = await t.request("PATCH", access(narrow!.id), {
      tools: ["echo", "add"],
      limits: { concurrent: 2, callsPerMinute: null },
    });
    await t.queue.idle();
    const narrowAfterPatch = await toolsIn(narrow!.id);
    await t.request("PATCH", `/api/instances/${instanceId}`, { tools: ["add", "headers"] });
    await t.queue.idle();

    expect(patched.status).toBe(200);
    expect(patched.body.limits).toEqual({ concurrent: 2, callsPerMinute: null });
    expect(narrowAfterPatch).toEqual(["echo", "add"]);
    expect(await toolsIn(narrow!.id)).toEqual(["add"]);
    expect(await toolsIn(whole!.id)).toEqual(["add", "headers"]);
  });

  it("writes identity_mode 'idp_token' for an instance that forwards identity, or says this Dify cannot", async () => {
    const [space] = dify.spaces;

    const changed = await t.request("PATCH", `/api/instances/${instanceId}`, {
      identity: { mode: "forward", header: "Authorization", bearer: true },
    });
    await t.queue.idle();
    const grant = await accessInfo(space!.id);

    expect(changed.body.identity).toMatchObject({ mode: "forward", header: "authorization", bearer: true });
    if (level === "1.15.0") {
      expect((await rowOf(space!.id)).identity_mode).toBe("idp_token");
      expect(grant.sync.status).toBe("synced");
    } else {
      expect(grant.sync).toMatchObject({ status: "failed", error: { code: "identity_unsupported" } });
    }
  });

  it("refuses verification without an issuer, audience and JWKS URL, and a claim sent as a header the gateway sets", async () => {
    const refused = await t.request("PATCH", `/api/instances/${instanceId}`, {
      identity: { mode: "verify" },
    });

    const reserved = await t.request("PATCH", `/api/instances/${instanceId}`, {
      identity: { mode: "forward", claimHeaders: { sub: "Content-Length" } },
    });

    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain("jwksUrl");
    expect(reserved.status).toBe(400);
    expect(JSON.stringify(reserved.body)).toContain("The gateway sets this header itself");
  });
});
