import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createApi } from "../../functions/api/app";
import { Auth } from "../../functions/core/auth";
import { startLocalRuntime } from "../../functions/local/runtime";
import { databaseSettings } from "./dify-fixture";

export const ADMIN_PASSWORD = "correct horse battery staple";

/** A clock tests move by hand. */
export class TestClock {
  constructor(public ms = Date.parse("2026-11-25T12:00:00Z")) {}
  now = () => new Date(this.ms);
  advance(ms: number) {
    this.ms += ms;
  }
}

/**
 * The product's runtime on real engines: DynamoDB in dynalite (in memory), secrets in an encrypted
 * file under a temporary directory, the in-process queue; plus the API app and a signed-in client.
 */
export async function startTestRuntime(options: { clock?: TestClock; publicUrl?: string } = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "spacegate-test-"));
  const local = await startLocalRuntime({
    dataDir,
    inMemory: true,
    env: {},
    config: { publicUrl: options.publicUrl ?? "https://gateway.example.test" },
    now: options.clock?.now,
    queue: { backoffMs: () => 1 },
    worker: true,
  });
  const { runtime, queue } = local;
  await Auth.ensureAdmin(ADMIN_PASSWORD);
  const api = createApi();
  const session = await Auth.login(ADMIN_PASSWORD);

  async function request(
    method: string,
    url: string,
    body?: unknown,
    init: { token?: string | null; headers?: Record<string, string>; raw?: string } = {},
  ) {
    const token = init.token === undefined ? session.token : init.token;
    const headers: Record<string, string> = { ...init.headers };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined || init.raw !== undefined) headers["content-type"] ??= "application/json";
    const response = await api.request(url, {
      method,
      headers,
      body: init.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {}
    // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies freely.
    return { status: response.status, headers: response.headers, text, body: json as any };
  }

  /** Registers a platform for a Dify database URL and returns its id. */
  async function createPlatform(databaseUrl: string, database: Record<string, unknown> = {}) {
    const created = await request("POST", "/api/platforms", {
      name: "Dify",
      kind: "dify-community",
      database: { ...databaseSettings(databaseUrl), ...database },
    });
    if (created.status !== 201) throw new Error(`Platform not created: ${created.text}`);
    return created.body.id as string;
  }

  /** Registers an instance (streamable HTTP unless given) and returns its id. */
  async function createInstance(body: Record<string, unknown> & { upstreamUrl: string }) {
    const { upstreamUrl, ...rest } = body;
    const created = await request("POST", "/api/instances", {
      name: "Instance",
      upstream: { url: upstreamUrl, transport: "streamable-http" },
      ...rest,
    });
    if (created.status !== 201) throw new Error(`Instance not created: ${created.text}`);
    return created.body.id as string;
  }

  return {
    runtime,
    api,
    createPlatform,
    createInstance,
    dataDir,
    queue,
    token: session.token,
    request,
    async close() {
      await local.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
