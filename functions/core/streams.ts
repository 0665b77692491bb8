/**
 * How the gateway serves an instance's long-lived streams: the standalone GET stream, the SSE
 * transport's stream and MCP 2026-07-28's `subscriptions/listen`.
 */
export interface StreamSettings {
  /** Lets a GET stream or `subscriptions/listen` through on Lambda, where each holds a function. */
  onLambda: boolean;
  /** A stream is ended cleanly after this long (under Lambda's 15 minutes); the client reconnects. */
  maxSeconds: number;
  /** Streams one space may hold open at once on one gateway process; more are answered 429. */
  perSpace: number;
}

export const defaultStreams: StreamSettings = { onLambda: false, maxSeconds: 840, perSpace: 8 };

/** An instance's stream settings, items stored before they existed (with `streamGet`) included. */
export function streamsOf(item: { streams?: StreamSettings; streamGet?: boolean }): StreamSettings {
  return item.streams ?? { ...defaultStreams, onLambda: item.streamGet ?? false };
}
