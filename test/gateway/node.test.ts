import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Gateway } from "../../functions/gateway/core";
import { nodeGateway } from "../../functions/gateway/node";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(gateway: Gateway) {
  const errors: unknown[] = [];
  const server = createServer(nodeGateway(gateway, { onError: (error) => errors.push(error) }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, errors };
}

describe("the gateway on node:http", () => {
  it("answers 500 gateway_failed when the gateway fails, or its answer cannot be written, and keeps serving", async () => {
    let calls = 0;
    const { url, errors } = await serve(async () => {
      calls += 1;
      if (calls === 1) throw new Error("broken");
      if (calls === 2) return { status: 200, headers: { "x-bad": "line\nbreak" }, body: new Uint8Array(0) };
      return { status: 204, headers: {}, body: null };
    });

    const failed = await fetch(`${url}/gateway/ins_1/mcp`, { method: "POST" });
    const unwritable = await fetch(`${url}/gateway/ins_1/mcp`, { method: "POST" });
    const next = await fetch(`${url}/gateway/ins_1/mcp`, { method: "POST" });

    for (const response of [failed, unwritable]) {
      expect(response.status).toBe(500);
      expect(await response.json()).toMatchObject({
        jsonrpc: "2.0",
        error: { data: { code: "gateway_failed" } },
      });
    }
    expect(next.status).toBe(204);
    expect(errors).toHaveLength(2);
  });
});
