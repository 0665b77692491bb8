import { randomBytes } from "node:crypto";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { requestUpstream, type UpstreamClient } from "../../functions/gateway/upstream";
import { createPooledUpstream } from "../../functions/gateway/upstream-pooled";
import { type RawExchange, startRawUpstream } from "../support/raw-upstream";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function rawUpstream(respond?: (exchange: RawExchange) => void) {
  const upstream = await startRawUpstream(respond);
  cleanups.push(() => upstream.close());
  return upstream;
}

async function readText(stream: Readable) {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  return text;
}

const pooled = createPooledUpstream();
afterAll(() => pooled.close());

// The node:http client (Lambda) and undici's pools (the local product) keep one contract.
describe.each([
  ["node:http", requestUpstream],
  ["undici pool", pooled],
] as Array<[string, UpstreamClient]>)("requests to the upstream through %s", (_name, client) => {
  const post = (url: string, body: Uint8Array | AsyncIterable<Uint8Array> | null, signal?: AbortSignal) =>
    client(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: signal ?? new AbortController().signal,
    });

  it("reuses one keep-alive connection for consecutive requests", async () => {
    const upstream = await rawUpstream((exchange) => exchange.res.writeHead(200).end("ok"));

    for (let i = 0; i < 3; i++) await (await post(`${upstream.url}/mcp`, null)).body?.bytes();

    const ports = upstream.exchanges.map((exchange) => exchange.res.socket?.remotePort);
    expect(ports).toHaveLength(3);
    expect(new Set(ports).size).toBe(1);
  });

  it("streams a request body of unknown length chunk by chunk, intact", async () => {
    const upstream = await rawUpstream((exchange) => exchange.res.writeHead(204).end());
    const payload = randomBytes(3 * 1024 * 1024);
    async function* chunks() {
      for (let offset = 0; offset < payload.length; offset += 100_000) {
        yield payload.subarray(offset, offset + 100_000);
      }
    }

    const response = await post(`${upstream.url}/mcp`, chunks());

    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
    expect(upstream.exchanges[0]?.headers["transfer-encoding"]).toBe("chunked");
    expect(upstream.exchanges[0]?.bodyBytes).toBe(payload.length);
  });

  it("keeps each Set-Cookie header and passes a redirect back unfollowed", async () => {
    const upstream = await rawUpstream((exchange) =>
      exchange.res
        .writeHead(307, [
          ["location", "/elsewhere"],
          ["set-cookie", "a=1"],
          ["set-cookie", "b=2"],
        ])
        .end(),
    );

    const response = await post(`${upstream.url}/mcp`, null);

    expect(response.status).toBe(307);
    expect(response.headers.location).toBe("/elsewhere");
    expect(response.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    expect(upstream.exchanges).toHaveLength(1);
  });

  it("decodes an answer the upstream compressed though asked for identity", async () => {
    const text = '{"jsonrpc":"2.0","id":1,"result":{}}';
    const upstream = await rawUpstream((exchange) =>
      exchange.res.writeHead(200, { "content-encoding": "gzip" }).end(gzipSync(text)),
    );

    const whole = await post(`${upstream.url}/mcp`, null);
    const streamed = await post(`${upstream.url}/mcp`, null);

    expect(new TextDecoder().decode(await whole.body?.bytes())).toBe(text);
    expect(await readText(streamed.body!.stream())).toBe(text);
  });

  it("delivers each chunk of a streamed answer as it arrives, and closes the connection on cancel", async () => {
    const upstream = await rawUpstream();
    const responding = post(`${upstream.url}/mcp`, null);
    const exchange = await upstream.nextExchange();
    exchange.res.writeHead(200, { "content-type": "text/event-stream" });
    exchange.res.write("data: one\n\n");

    const response = await responding;
    const body = response.body!.stream();
    const [first] = (await once(body, "data")) as [Buffer];
    exchange.res.write("data: two\n\n");
    const [second] = (await once(body, "data")) as [Buffer];
    body.destroy();

    expect(response.body?.complete).toBe(false);
    expect(first.toString()).toBe("data: one\n\n");
    expect(second.toString()).toBe("data: two\n\n");
    await exchange.aborted;
  });

  it("closes the connection when an answer is cancelled unread", async () => {
    const upstream = await rawUpstream();
    const responding = post(`${upstream.url}/mcp`, null);
    const exchange = await upstream.nextExchange();
    exchange.res.writeHead(200, { "content-type": "text/event-stream" });
    exchange.res.write("data: one\n\n");

    (await responding).body!.cancel();

    await exchange.aborted;
  });

  it("rejects when the signal aborts before the answer, and ends the body when it aborts after", async () => {
    const upstream = await rawUpstream();
    const before = new AbortController();
    const after = new AbortController();

    const waiting = post(`${upstream.url}/mcp`, null, before.signal);
    const unanswered = await upstream.nextExchange();
    before.abort();
    await expect(waiting).rejects.toThrow();
    await unanswered.aborted;

    const streaming = post(`${upstream.url}/mcp`, null, after.signal);
    const answered = await upstream.nextExchange();
    answered.res.writeHead(200, { "content-type": "text/event-stream" });
    answered.res.write("data: one\n\n");
    const body = (await streaming).body!.stream();
    after.abort();
    await expect(readText(body)).rejects.toThrow();
    await answered.aborted;
  });

  it("rejects whole reads of an answer cut short, and failed connections", async () => {
    const cut = await rawUpstream((exchange) => {
      exchange.res.writeHead(200, { "content-length": "100" });
      exchange.res.write("only part", () => exchange.res.socket?.destroy());
    });
    const closed = await startRawUpstream();
    await closed.close();

    const response = await post(`${cut.url}/mcp`, null);

    await expect(response.body!.bytes()).rejects.toThrow();
    await expect(post(`${closed.url}/mcp`, null)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});
