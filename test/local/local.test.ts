import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpUpstream, startMcpUpstream } from "../../dev/mcp-upstream";
import { startLocal } from "../../functions/local/server";
import { createDifyFixture, type DifyFixture, databaseSettings } from "../support/dify-fixture";

let dataDir: string;
let dify: DifyFixture;
let upstream: McpUpstream;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "spacegate-local-"));
  dify = await createDifyFixture({ level: "1.15.0", spaces: 2 });
  upstream = await startMcpUpstream();
});
afterAll(async () => {
  await dify.close();
  await upstream.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function api(base: string, token: string | null, method: string, url: string, body?: unknown) {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies freely.
    body: (await response.json().catch(() => null)) as any,
  };
}

/** The TCP ports this process listens on, read from the kernel's socket tables (Linux). */
function listeningPorts(): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (socket) inodes.add(socket[1]!);
    } catch {}
  }
  const ports = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").trim().split("\n").slice(1)) {
      const [, local = "", , state, , , , , , inode = ""] = line.trim().split(/\s+/);
      if (state === "0A" && inodes.has(inode)) ports.add(Number.parseInt(local.split(":")[1] ?? "", 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** Files and directories under `root` (itself included) that others than their owner may use. */
function notPrivate(root: string): string[] {
  const stat = lstatSync(root);
  const mode = stat.mode & 0o777;
  const own = mode === (stat.isDirectory() ? 0o700 : 0o600) ? [] : [`${root} ${mode.toString(8)}`];
  if (!stat.isDirectory()) return own;
  return [...own, ...readdirSync(root).flatMap((entry) => notPrivate(path.join(root, entry)))];
}

/** What an earlier version left: a data directory and files anyone may read. */
function loosen(root: string) {
  const stat = lstatSync(root);
  chmodSync(root, stat.isDirectory() ? 0o755 : 0o644);
  if (stat.isDirectory()) for (const entry of readdirSync(root)) loosen(path.join(root, entry));
}

async function callHeadersTool(url: string, credential: string) {
  const client = new Client({ name: "Dify", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${credential}` } },
    }),
  );
  const result = await client.callTool({ name: "headers", arguments: {} });
  await client.close();
  const content = result.content as Array<{ type: string; text: string }>;
  return JSON.parse(content[0]?.text ?? "{}") as Record<string, string>;
}

describe("the local product", () => {
  it("runs the journey through the gateway, and keeps everything across a restart", async () => {
    const portsBefore = listeningPorts();
    const first = await startLocal({ dataDir, port: 0 });
    // The store is reachable only through a socket of the product's own user: no TCP port but the product's.
    expect(listeningPorts().filter((port) => !portsBefore.includes(port))).toEqual([first.port]);
    expect(path.dirname(first.storeSocket)).toBe(dataDir);
    expect(lstatSync(first.storeSocket).isSocket()).toBe(true);
    expect(lstatSync(first.storeSocket).mode & 0o777).toBe(0o600);
    const password = first.generatedPassword as string;
    expect(password).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    let platformId: string;
    let instanceId: string;
    try {
      const login = await api(first.url, null, "POST", "/api/auth/login", { password });
      const token = login.body.token as string;
      platformId = (
        await api(first.url, token, "POST", "/api/platforms", {
          name: "Dify",
          kind: "dify-community",
          database: databaseSettings(dify.url),
        })
      ).body.id as string;
      instanceId = (
        await api(first.url, token, "POST", "/api/instances", {
          name: "Echo",
          upstream: { url: upstream.mcpUrl, transport: "streamable-http" },
          headers: { "X-Upstream-Key": "default-key" },
        })
      ).body.id as string;
      const [a, b] = dify.spaces;
      const grantUrl = (spaceId: string) => `/api/instances/${instanceId}/access/${platformId}/${spaceId}`;
      await api(first.url, token, "PUT", grantUrl(a!.id), {
        headers: { "X-Upstream-Key": "key-for-a", "X-Team": "a" },
      });
      await api(first.url, token, "PUT", grantUrl(b!.id), {});
      const credentialA = (await api(first.url, token, "POST", `${grantUrl(a!.id)}/reveal`)).body
        .credential as string;
      const credentialB = (await api(first.url, token, "POST", `${grantUrl(b!.id)}/reveal`)).body
        .credential as string;

      const gatewayUrl = `${first.url}/gateway/${instanceId}/mcp`;
      const seenByA = await callHeadersTool(gatewayUrl, credentialA);
      const seenByB = await callHeadersTool(gatewayUrl, credentialB);
      expect(seenByA).toMatchObject({ "x-upstream-key": "key-for-a", "x-team": "a" });
      expect(seenByB).toMatchObject({ "x-upstream-key": "default-key" });
      expect(seenByB["x-team"]).toBeUndefined();
      for (const request of upstream.requests) {
        expect(request.headers.authorization).toBeUndefined();
        expect(JSON.stringify(request.headers)).not.toContain("sg_");
      }

      const refused = await fetch(gatewayUrl, {
        method: "POST",
        headers: { authorization: "Bearer sg_unknown" },
        body: "{}",
      });
      expect(refused.status).toBe(401);

      await first.usage.flushNow();
      const access = await api(first.url, token, "GET", `/api/instances/${instanceId}/access`);
      const grantA = (
        access.body.items as unknown as Array<{ spaceId: string; calls: number; lastUsedAt: string | null }>
      ).find((grant) => grant.spaceId === a!.id);
      expect(grantA?.calls).toBeGreaterThan(0);
      expect(grantA?.lastUsedAt).not.toBeNull();

      const home = await fetch(`${first.url}/`);
      expect(home.status).toBe(200);
      expect(await home.text()).toContain("Spacegate");
      expect(notPrivate(dataDir)).toEqual([]);
    } finally {
      await first.close();
    }

    loosen(dataDir);
    const second = await startLocal({ dataDir, port: 0 });
    try {
      expect(notPrivate(dataDir)).toEqual([]);
      expect(second.generatedPassword).toBeUndefined();
      const login = await api(second.url, null, "POST", "/api/auth/login", { password });
      expect(login.status).toBe(200);
      const token = login.body.token as string;
      expect((await api(second.url, token, "GET", `/api/platforms/${platformId}`)).body).toMatchObject({
        name: "Dify",
        database: { hasPassword: true },
      });
      expect((await api(second.url, token, "GET", `/api/instances/${instanceId}`)).body).toMatchObject({
        name: "Echo",
        spaceCount: 2,
      });
      const spaces = await api(second.url, token, "GET", `/api/platforms/${platformId}/spaces`);
      expect(spaces.status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it("refuses to open a data directory another process is serving", async () => {
    const running = await startLocal({ dataDir, port: 0 });
    try {
      await expect(startLocal({ dataDir, port: 0 })).rejects.toThrow(/Another Spacegate process is using/);
      expect((await fetch(`${running.url}/api/health`)).status).toBe(200);
    } finally {
      await running.close();
    }
  });
});
