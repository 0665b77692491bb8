import { eventEnd } from "./sse";

type Answer = { result?: { tools?: unknown } };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const toolsKey = encoder.encode('"tools"');

const mentionsTools = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(toolsKey) >= 0;

/** Drops the tools not allowed from every answer carrying a tool list; whether any was dropped. */
function filterAnswers(value: unknown, allowed: ReadonlySet<string>): boolean {
  let changed = false;
  for (const answer of (Array.isArray(value) ? value : [value]) as Answer[]) {
    const tools = answer?.result?.tools;
    if (!Array.isArray(tools)) continue;
    const kept = tools.filter((tool) => allowed.has((tool as { name?: unknown })?.name as string));
    if (kept.length !== tools.length) {
      (answer.result as { tools: unknown[] }).tools = kept;
      changed = true;
    }
  }
  return changed;
}

/** A JSON-RPC data text with only the allowed tools in its tool lists, or null when nothing changes. */
function filteredText(text: string, allowed: ReadonlySet<string>): string | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return filterAnswers(value, allowed) ? JSON.stringify(value) : null;
}

/** A whole JSON answer with only the allowed tools listed. */
export function filterJsonAnswer(bytes: Uint8Array, allowed: ReadonlySet<string>): Uint8Array {
  if (!mentionsTools(bytes)) return bytes;
  const text = filteredText(decoder.decode(bytes), allowed);
  return text === null ? bytes : encoder.encode(text);
}

/** One SSE event with its data filtered: every other field (id, event, retry) kept as it came. */
function filterEvent(event: Uint8Array, allowed: ReadonlySet<string>): Uint8Array {
  if (!mentionsTools(event)) return event;
  const lines = decoder.decode(event).split(/\r\n|\r|\n/);
  const data = lines
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5));
  const text = filteredText(data.join("\n"), allowed);
  if (text === null) return event;
  const fields = lines.filter((line) => line !== "" && !line.startsWith("data:"));
  return encoder.encode(`${[...fields, `data: ${text}`].join("\n")}\n\n`);
}

const maxPendingEventBytes = 8 * 1024 * 1024;

/** Filters tool lists in an SSE stream event by event; events pass on whole, as they complete. */
export function toolsEventFilter(allowed: ReadonlySet<string>) {
  let pending: Uint8Array = new Uint8Array(0);
  return {
    push(chunk: Uint8Array): Uint8Array[] {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const out: Uint8Array[] = [];
      for (let end = eventEnd(pending); end >= 0; end = eventEnd(pending)) {
        out.push(filterEvent(pending.subarray(0, end), allowed));
        pending = pending.subarray(end);
      }
      if (pending.length > maxPendingEventBytes) throw new Error("SSE event too large");
      return out;
    },
    /** What is left after the last complete event. */
    rest: () => pending,
  };
}

type Rewriter = { push(chunk: Uint8Array): Uint8Array[] };

/** A stream's rewriter followed by the tools filter, when the answer's tool lists are filtered. */
export function withToolsFilter(
  rewriter: Rewriter | undefined,
  allowed: ReadonlySet<string> | null | undefined,
): Rewriter | undefined {
  if (!allowed) return rewriter;
  const tools = toolsEventFilter(allowed);
  if (!rewriter) return tools;
  return { push: (chunk) => rewriter.push(chunk).flatMap((piece) => tools.push(piece)) };
}

/** A whole answer, JSON or SSE, with its tool lists filtered. */
export function filterWholeAnswer(bytes: Uint8Array, eventStream: boolean, allowed: ReadonlySet<string>) {
  if (!eventStream) return filterJsonAnswer(bytes, allowed);
  if (!mentionsTools(bytes)) return bytes;
  const filter = toolsEventFilter(allowed);
  return Buffer.concat([...filter.push(bytes), filter.rest()]);
}
