import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decoded, limitBody, readAll, relayBody } from "../../functions/gateway/relay";
import { manualTimers } from "./fixtures";

describe("bodies", () => {
  it("streams a body up to its limit and fails past it", async () => {
    let exceeded = false;
    const chunks = [new Uint8Array(4), new Uint8Array(4), new Uint8Array(4)];
    const read = async (limit: number) => {
      const out: Uint8Array[] = [];
      for await (const chunk of limitBody(Readable.from(chunks), limit, () => (exceeded = true)))
        out.push(chunk);
      return out.length;
    };

    expect(await read(12)).toBe(3);
    await expect(read(11)).rejects.toThrow("request body too large");
    expect(exceeded).toBe(true);
  });

  it("decodes a compressed answer", async () => {
    const source = Readable.from([gzipSync("hello")]);

    expect(Buffer.from(await readAll(decoded(source, "gzip"))).toString()).toBe("hello");
  });
});

describe("the relayed answer", () => {
  it("ends after sseReadTimeout without anything from the upstream, and aborts the upstream", async () => {
    const timers = manualTimers();
    const source = new Readable({ read() {} });
    const outcomes: string[] = [];
    let aborted = false;
    const out = relayBody(source, {
      eventStream: true,
      keepaliveMs: 25_000,
      idleMs: 60_000,
      timers,
      clientGone: () => false,
      abortUpstream: () => {
        aborted = true;
      },
      onEnd: (outcome) => outcomes.push(outcome),
    });
    source.push("data: one\n\n");
    const reading = readAll(out);
    await new Promise((resolve) => setImmediate(resolve));

    timers.advance(25_000);
    timers.advance(35_000);

    expect(Buffer.from(await reading).toString()).toBe("data: one\n\n: keepalive\n\n: keepalive\n\n");
    expect(outcomes).toEqual(["idle_timeout"]);
    expect(aborted).toBe(true);
  });
});
