import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { APIGatewayProxyResult, SQSBatchResponse } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLambdas, type LambdaName } from "../../bundle.config";
import { initializeRequest, type McpUpstream, startMcpUpstream } from "../../dev/mcp-upstream";
import { startDynalite } from "../../functions/local/dynalite";
import { grants } from "../../stacks/permissions";
import { createDifyFixture, type DifyFixture, databaseSettings } from "../support/dify-fixture";
import { type FakeAws, startFakeAws } from "../support/fake-aws";
import {
  type LambdaHost,
  lambdaEnvironment,
  sstEnvironment,
  startLambdaHost,
} from "../support/lambda-bundles";
import { restProxyEvent, scheduledEvent } from "../support/lambda-events";
import { sqsEvent, sqsRecord } from "../support/sqs-events";

// Each Lambda entry bundled as SST bundles it, loaded in its own process with the environment SST and
// Lambda give it, and invoked with real event shapes: DynamoDB is dynalite, Dify is PostgreSQL, the
// MCP server is real; only the Secrets Manager and SQS services are stood in for (fake-aws.ts).

const stage = "ci";
const tableName = `spacegate-${stage}-TableTable`;
const secretPrefix = `spacegate-${stage}`;
const publicUrl = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod";

let dir: string;
let bundles: Record<LambdaName, string>;
let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let aws: FakeAws;
let dify: DifyFixture;
let upstream: McpUpstream;
let queueUrl: string;
const hosts = {} as Record<LambdaName, LambdaHost>;
const accessKeyOf = (name: LambdaName) => `ASIA${name.toUpperCase()}EXAMPLE`;
/** The fixture's two ordinary spaces (it adds archived and unusual ones after them). */
const synced = () => dify.spaces.slice(0, 2);

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "spacegate-smoke-"));
  // Inside the project, so the bundles find the AWS SDK as they find the runtime's on Lambda.
  const outdir = path.resolve("dist/smoke", path.basename(dir));
  mkdirSync(outdir, { recursive: true });
  [bundles, dynamo, dify, upstream] = await Promise.all([
    buildLambdas(outdir),
    startDynalite({ tableName }),
    createDifyFixture({ level: "1.15.0", spaces: 2 }),
    startMcpUpstream({ requireHeader: { name: "X-Tenant", value: "acme" } }),
  ]);
  // Each function may do only what the stack grants it, on DynamoDB (passed on to dynalite), SQS
  // and Secrets Manager.
  aws = await startFakeAws({
    dynamoSocket: dynamo.socketPath,
    policies: Object.fromEntries(
      Object.entries(grants).map(([name, granted]) => [
        accessKeyOf(name as LambdaName),
        { secretPrefix, grants: granted },
      ]),
    ),
  });
  // The stack creates the app's own secrets without a value.
  for (const name of ["envelope-keys", "session-key", "admin-password"]) {
    aws.createEmptySecret(`${secretPrefix}/${name}`);
  }
  queueUrl = aws.queueUrl(`spacegate-${stage}-SyncQueueQueue`);
  const links = { Settings: { tableName, secretPrefix, queueUrl, publicUrl, corsOrigin: "*" } };
  const services = {
    AWS_ENDPOINT_URL_DYNAMODB: aws.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
    AWS_ENDPOINT_URL_SQS: aws.url,
  };
  const linked = sstEnvironment(dir, links);
  for (const name of Object.keys(bundles) as LambdaName[]) {
    hosts[name] = await startLambdaHost(bundles[name], {
      ...lambdaEnvironment(`spacegate-${stage}-${name}`, { accessKeyId: accessKeyOf(name) }),
      ...linked,
      ...services,
      POWERTOOLS_SERVICE_NAME: `spacegate-${name}`,
    });
  }
}, 180_000);

afterAll(async () => {
  await Promise.all(Object.values(hosts).map((host) => host.close()));
  await Promise.all([dynamo?.close(), aws?.close(), dify?.close(), upstream?.close()]);
  rmSync(dir, { recursive: true, force: true });
  rmSync(path.resolve("dist/smoke", path.basename(dir)), { recursive: true, force: true });
});

let token = "";
async function api(method: string, url: string, body?: unknown) {
  const result = await hosts.api.invoke<APIGatewayProxyResult>(
    restProxyEvent({
      method,
      path: url,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? null : JSON.stringify(body),
    }),
  );
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies freely.
  return { status: result.statusCode, body: (result.body ? JSON.parse(result.body) : null) as any };
}

describe("the deployed functions, bundled and invoked as on Lambda", () => {
  let platformId: string;
  let instanceId: string;
  let credential: string;

  it("the API answers REST proxy events and signs in with the admin password it generated", async () => {
    expect((await api("GET", "/api/health")).status).toBe(200);
    const password = aws.secretValue(`${secretPrefix}/admin-password`);
    expect(password).toMatch(/^[\w-]{24}$/);

    expect((await api("POST", "/api/auth/login", { password: "wrong" })).status).toBe(401);
    const login = await api("POST", "/api/auth/login", { password });
    expect(login.status).toBe(200);
    token = login.body.token;
    expect(aws.secretValue(`${secretPrefix}/session-key`)).toBeTruthy();
  });

  it("the API registers a platform and an instance, and queues a sync on SQS", async () => {
    const platform = await api("POST", "/api/platforms", {
      name: "Dify",
      kind: "dify-community",
      database: databaseSettings(dify.url),
    });
    expect(platform.status).toBe(201);
    platformId = platform.body.id;
    expect(aws.secretNames()).toContain(`${secretPrefix}/platform/${platformId}/password`);

    const instance = await api("POST", "/api/instances", {
      name: "Smoke",
      upstream: { url: upstream.mcpUrl, transport: "streamable-http" },
      headers: { "X-Tenant": "acme" },
    });
    expect(instance.status).toBe(201);
    instanceId = instance.body.id;
    expect(aws.secretValue(`${secretPrefix}/envelope-keys`)).toBeTruthy();

    const job = await api("POST", "/api/syncs", {
      platformId,
      instanceIds: [instanceId],
      spaces: synced().map((space) => ({ spaceId: space.id })),
    });
    expect(job.status).toBe(202);
  });

  it("the worker takes the SQS batch and writes each space's provider into Dify", async () => {
    const messages = aws.takeMessages(queueUrl);
    expect(messages).toHaveLength(synced().length);

    const result = await hosts.worker.invoke<SQSBatchResponse>(
      sqsEvent(messages.map((body) => sqsRecord(body))),
    );

    expect(result.batchItemFailures).toEqual([]);
    const rows = await dify.query<{ tenant_id: string; server_url: string }>(
      "SELECT tenant_id, server_url FROM tool_mcp_providers",
    );
    expect(rows.map((row) => row.tenant_id).sort()).toEqual(
      synced()
        .map((space) => space.id)
        .sort(),
    );
  });

  it("the gateway streams an MCP answer through to the upstream with the space's credential", async () => {
    const space = synced()[0];
    const revealed = await api(
      "POST",
      `/api/instances/${instanceId}/access/${platformId}/${space?.id}/reveal`,
    );
    expect(revealed.status).toBe(200);
    credential = revealed.body.credential;
    const before = upstream.requests.length;

    const result = await hosts.gateway.invoke<{
      prelude: { statusCode: number; headers: Record<string, string> };
      body: string;
    }>(
      restProxyEvent({
        method: "POST",
        path: `/gateway/${instanceId}/mcp`,
        headers: {
          Authorization: `Bearer ${credential}`,
          Accept: "application/json, text/event-stream",
          "Content-Type": "application/json",
        },
        body: initializeRequest(),
      }),
      { streaming: true },
    );

    expect(result.prelude.statusCode).toBe(200);
    expect(result.body).toContain('"serverInfo"');
    const forwarded = upstream.requests.slice(before);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]?.headers["x-tenant"]).toBe("acme");
    expect(forwarded[0]?.headers.authorization).toBeUndefined();

    const refused = await hosts.gateway.invoke<{ prelude: { statusCode: number } }>(
      restProxyEvent({ method: "POST", path: `/gateway/${instanceId}/mcp`, body: "{}" }),
      { streaming: true },
    );
    expect(refused.prelude.statusCode).toBe(401);
  });

  it("the scheduled refresh re-discovers the tools, and the worker leaves current rows alone", async () => {
    const before = await dify.query("SELECT id, updated_at, tools FROM tool_mcp_providers ORDER BY id");

    const results = await hosts.refresh.invoke<{ instanceId: string; changed: boolean; jobs: number }[]>(
      scheduledEvent(),
    );
    expect(results).toEqual([{ instanceId, changed: false, jobs: 1 }]);
    const messages = aws.takeMessages(queueUrl);
    expect(messages).toHaveLength(synced().length);
    const result = await hosts.worker.invoke<SQSBatchResponse>(
      sqsEvent(messages.map((body) => sqsRecord(body))),
    );

    expect(result.batchItemFailures).toEqual([]);
    expect(await dify.query("SELECT id, updated_at, tools FROM tool_mcp_providers ORDER BY id")).toEqual(
      before,
    );
  });

  it("no function printed a password, a credential or a header value", () => {
    const logs = Object.values(hosts)
      .map((host) => host.output())
      .join("\n");
    const secrets = [
      aws.secretValue(`${secretPrefix}/admin-password`),
      databaseSettings(dify.url).password,
      credential,
    ];
    for (const secret of secrets) {
      expect(secret).toBeTruthy();
      expect(logs).not.toContain(secret);
    }
  });
});
