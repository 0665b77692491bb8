import { serve } from "@hono/node-server";
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";

export type V2Request = { method: string; mcpMethod: string | null; headers: Record<string, string> };

export type McpUpstreamV2 = {
  /** Streamable HTTP endpoint. */
  mcpUrl: string;
  requests: V2Request[];
  /** Lets one waiting `slow` call answer (a credit is kept if none waits yet). */
  release(): void;
  /** Resolves once a `slow` call waits for release(). */
  slowWaiting(): Promise<void>;
  /** Publishes a tools list change to every open `subscriptions/listen` stream. */
  toolsChanged(): void;
  close(): Promise<void>;
};

/**
 * A real MCP server built with the v2 SDK (`@modelcontextprotocol/server`), speaking 2026-07-28 and,
 * unless `modernOnly`, the 2025 revisions statelessly. Tools: `echo`, `slow` (answers when released,
 * in one JSON body, as a 2026-07-28 server does) and `headers` (what the request carried).
 */
export async function startMcpUpstreamV2(options: { modernOnly?: boolean } = {}): Promise<McpUpstreamV2> {
  const requests: V2Request[] = [];
  let credits = 0;
  const waiting: Array<() => void> = [];
  const watchers: Array<() => void> = [];

  const factory = () => {
    const server = new McpServer({ name: "test-upstream-v2", version: "2.0.0" });
    server.registerTool(
      "echo",
      { description: "Echoes its text", inputSchema: z.object({ text: z.string() }) },
      async ({ text }) => ({ content: [{ type: "text", text }] }),
    );
    server.registerTool(
      "slow",
      { description: "Answers once released", inputSchema: z.object({}) },
      async () => {
        await new Promise<void>((resolve) => {
          if (credits > 0) {
            credits -= 1;
            resolve();
            return;
          }
          waiting.push(resolve);
          for (const watcher of watchers.splice(0)) watcher();
        });
        return { content: [{ type: "text", text: "slow done" }] };
      },
    );
    server.registerTool(
      "headers",
      { description: "The request's headers", inputSchema: z.object({}) },
      async (_args, ctx) => ({
        content: [
          { type: "text", text: JSON.stringify(Object.fromEntries(ctx.http?.req?.headers.entries() ?? [])) },
        ],
      }),
    );
    return server;
  };
  const handler = createMcpHandler(factory, { legacy: options.modernOnly ? "reject" : "stateless" });

  let server: ReturnType<typeof serve> | undefined;
  const port = await new Promise<number>((resolve) => {
    server = serve(
      {
        fetch: (request: Request) => {
          requests.push({
            method: request.method,
            mcpMethod: request.headers.get("mcp-method"),
            headers: Object.fromEntries(request.headers.entries()),
          });
          return handler.fetch(request);
        },
        port: 0,
        hostname: "127.0.0.1",
      },
      (info) => resolve(info.port),
    );
  });

  return {
    mcpUrl: `http://127.0.0.1:${port}/mcp`,
    requests,
    release() {
      const next = waiting.shift();
      if (next) next();
      else credits += 1;
    },
    slowWaiting: () =>
      new Promise<void>((resolve) => {
        const check = () => (waiting.length > 0 ? resolve() : watchers.push(check));
        check();
      }),
    toolsChanged: () => handler.notify.toolsChanged(),
    async close() {
      await handler.close();
      await new Promise<void>((resolve) => {
        server?.close(() => resolve());
        (server as import("node:http").Server | undefined)?.closeAllConnections();
      });
    },
  };
}
