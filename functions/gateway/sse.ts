/** Server-sent events as the gateway relays them: framing, the `endpoint` event, keepalives. */

const encoder = new TextEncoder();
export const keepaliveComment = encoder.encode(": keepalive\n\n");

const LF = 0x0a;
const CR = 0x0d;

/** Index just past the blank line that ends the first complete SSE event, or -1. */
export function eventEnd(bytes: Uint8Array): number {
  let lineStart = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte !== LF && byte !== CR) continue;
    // A CR at the very end may be the first half of a CRLF: wait for the next byte.
    if (byte === CR && i === bytes.length - 1) return -1;
    const next = byte === CR && bytes[i + 1] === LF ? i + 2 : i + 1;
    if (i === lineStart) return next;
    lineStart = next;
    i = next - 1;
  }
  return -1;
}

/** Whether output ending with these bytes sits between SSE events (or nothing was sent yet). */
export function atEventBoundary(tail: Uint8Array): boolean {
  let end = tail.length;
  if (end === 0) return true;
  if (tail[end - 1] === LF) end -= end >= 2 && tail[end - 2] === CR ? 2 : 1;
  else if (tail[end - 1] === CR) end -= 1;
  else return false;
  return end > 0 && (tail[end - 1] === LF || tail[end - 1] === CR);
}

export function lastBytes(previous: Uint8Array, chunk: Uint8Array, count: number): Uint8Array {
  if (chunk.length >= count) return chunk.slice(chunk.length - count);
  const joined = new Uint8Array(previous.length + chunk.length);
  joined.set(previous);
  joined.set(chunk, previous.length);
  return joined.slice(Math.max(0, joined.length - count));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

export function parseEvent(bytes: Uint8Array): { type: string; data: string } {
  let type = "message";
  const data: string[] = [];
  for (const line of new TextDecoder().decode(bytes).split(/\r\n|\r|\n/)) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
  }
  return { type, data: data.join("\n") };
}

const maxPendingEventBytes = 1024 * 1024;

/**
 * Rewrites the data of every `endpoint` event of an SSE stream, or drops the event when `rewrite`
 * gives null; every other event passes as it came, event by event.
 */
export function endpointRewriter(rewrite: (data: string) => string | null) {
  let pending: Uint8Array = new Uint8Array(0);
  return {
    push(chunk: Uint8Array): Uint8Array[] {
      pending = concat(pending, chunk);
      const out: Uint8Array[] = [];
      for (let end = eventEnd(pending); end >= 0; end = eventEnd(pending)) {
        const event = pending.subarray(0, end);
        pending = pending.subarray(end);
        const parsed = parseEvent(event);
        if (parsed.type !== "endpoint") {
          out.push(event);
          continue;
        }
        const endpoint = rewrite(parsed.data);
        if (endpoint !== null) out.push(encoder.encode(`event: endpoint\ndata: ${endpoint}\n\n`));
      }
      if (pending.length > maxPendingEventBytes) throw new Error("SSE event too large");
      return out;
    },
  };
}
