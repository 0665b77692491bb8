import { describe, expect, it } from "vitest";
import { atEventBoundary, endpointRewriter, eventEnd, parseEvent } from "../../functions/gateway/sse";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (chunks: Uint8Array[]) => chunks.map((chunk) => new TextDecoder().decode(chunk)).join("");

describe("SSE framing", () => {
  it("finds the end of an event framed by LF, CRLF or CR, and waits for a CR that may begin a CRLF", () => {
    expect(eventEnd(bytes("data: a\n\nrest"))).toBe(9);
    expect(eventEnd(bytes("data: a\r\n\r\nrest"))).toBe(11);
    expect(eventEnd(bytes("data: a\r\rrest"))).toBe(9);
    expect(eventEnd(bytes("data: a\r\n\r"))).toBe(-1);
    expect(eventEnd(bytes("data: a\n"))).toBe(-1);
  });

  it("tells whether output sits between events", () => {
    expect(atEventBoundary(bytes(""))).toBe(true);
    expect(atEventBoundary(bytes("a\n\n"))).toBe(true);
    expect(atEventBoundary(bytes("a\r\n\r\n"))).toBe(true);
    expect(atEventBoundary(bytes("data: a\n"))).toBe(false);
    expect(atEventBoundary(bytes("data: a"))).toBe(false);
  });

  it("parses an event's type and its data lines, skipping comments", () => {
    expect(parseEvent(bytes(": hi\nevent: endpoint\ndata: /messages\ndata:  two\n\n"))).toEqual({
      type: "endpoint",
      data: "/messages\n two",
    });
    expect(parseEvent(bytes("data: x\n\n"))).toEqual({ type: "message", data: "x" });
  });
});

describe("the endpoint rewriter", () => {
  it("rewrites the endpoint event split across chunks and passes the events around it", () => {
    const rewriter = endpointRewriter((data) => `rewritten(${data})`);

    const out = [
      ...rewriter.push(bytes(": hello\n\nevent: endp")),
      ...rewriter.push(bytes("oint\ndata: /messages?sessionId=1\n\ndata: after\n\n")),
    ];

    expect(text(out)).toBe(
      ": hello\n\nevent: endpoint\ndata: rewritten(/messages?sessionId=1)\n\ndata: after\n\n",
    );
  });
});
