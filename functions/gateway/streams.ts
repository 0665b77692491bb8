import { type Refusal, refusal } from "./refusals";
import type { GatewayGrant, GatewayInstance } from "./types";

/** A stream held open for as long as the server keeps it: GET …/mcp, GET …/sse, `subscriptions/listen`. */
export type StreamKind = "get" | "sse" | "listen";

/**
 * Which long-lived streams a call may open: on Lambda, where each holds a function for up to its
 * whole run, only what the instance allows; anywhere, at most `perSpace` at once per space, so one
 * space cannot take every upstream connection of its instance.
 */
export function createStreamAdmission(mode: "local" | "lambda") {
  const open = new Map<string, number>();

  return function admit(
    kind: StreamKind,
    instance: GatewayInstance,
    grant: GatewayGrant,
  ): Refusal | { release: () => void } {
    if (mode === "lambda" && kind !== "sse" && !instance.streams.onLambda) {
      return kind === "get"
        ? refusal("method_not_allowed", "This gateway does not hold a standalone server stream open.", {
            allow: "POST, DELETE",
          })
        : refusal(
            "streams_not_allowed",
            "This gateway does not hold subscription streams open for this MCP server.",
          );
    }
    const key = `${instance.id}\n${grant.platformId}\n${grant.spaceId}`;
    const count = open.get(key) ?? 0;
    if (count >= instance.streams.perSpace) {
      return refusal(
        "too_many_streams",
        `This space already holds ${count} open streams to this MCP server; close one or try again shortly.`,
        { "retry-after": "5" },
      );
    }
    open.set(key, count + 1);
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        const left = (open.get(key) ?? 1) - 1;
        if (left > 0) open.set(key, left);
        else open.delete(key);
      },
    };
  };
}
