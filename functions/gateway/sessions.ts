import { credentialQuery, forwardedQuery, type Presented } from "./authorize";
import { createBoundedMap } from "./cache";
import type { GatewayInstance, Leaf } from "./types";

function withQuery(base: string, query: string): string {
  if (!query) return base;
  const target = new URL(base);
  target.search = target.search ? `${target.search.slice(1)}&${query}` : query;
  return target.href;
}

const sessionKey = (instanceId: string, query: string) => {
  const params = new URLSearchParams(query);
  params.delete(credentialQuery);
  params.sort();
  return `${instanceId}\n${params.toString()}`;
};

/**
 * Where each SSE session's upstream wants its messages, and per instance the path last announced, so
 * a message posted to another gateway process (another Lambda) still finds its session.
 */
export function createSseSessions() {
  const sessions = createBoundedMap<string>(10_000);
  const announced = createBoundedMap<string>(1_000);
  return {
    /** The upstream URL for a call on this leaf, with the client's query minus the credential. */
    upstreamTarget(leaf: Leaf, instance: GatewayInstance, clientQuery: string): string {
      const query = forwardedQuery(clientQuery);
      if (leaf !== "messages") return withQuery(instance.upstream.url, query);
      return (
        sessions.get(sessionKey(instance.id, query)) ??
        withQuery(announced.get(instance.id) ?? new URL("messages", instance.upstream.url).href, query)
      );
    },

    /**
     * Remembers where the upstream wants this session's messages and answers the client's own
     * endpoint; null for an endpoint on another origin than the upstream's, which is never used.
     */
    announce(instance: GatewayInstance, data: string, credential: Presented) {
      let endpoint: URL;
      try {
        endpoint = new URL(data.trim(), instance.upstream.url);
      } catch {
        return null;
      }
      if (endpoint.origin !== new URL(instance.upstream.url).origin) return null;
      const key = sessionKey(instance.id, endpoint.search.slice(1));
      sessions.set(key, endpoint.href);
      announced.set(instance.id, `${endpoint.origin}${endpoint.pathname}`);
      // Relative to the client's own /gateway/{id}/sse URL, so it also holds behind a stage prefix. A
      // client that could only put the credential in the URL needs it in the message URL as well.
      let clientEndpoint = `messages${endpoint.search}`;
      if (credential.via === "query") {
        const params = new URLSearchParams(endpoint.search);
        params.set(credentialQuery, credential.token);
        clientEndpoint = `messages?${params.toString()}`;
      }
      return { key, clientEndpoint };
    },

    forget(key: string) {
      sessions.delete(key);
    },
  };
}
