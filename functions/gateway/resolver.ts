import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Access } from "../core/access";
import { readConfig } from "../core/config";
import { Envelope } from "../core/crypto/envelope";
import type { Instance } from "../core/instance";
import { openSealedHeaders } from "../core/sealed-headers";
import { AwsSecretStore } from "../core/secrets/aws";
import { Store } from "../core/store";
import { Keys } from "../core/store/keys";
import { streamsOf } from "../core/streams";
import type { GatewayGrant, GatewayResolver } from "./core";
import type { UsageEntry } from "./usage";

/**
 * The gateway's view of the table: a credential hash to its grant (the token index, then the grant),
 * and an instance's upstream. Header values are opened here, so the gateway only ever holds them in
 * memory for its short cache.
 */
export function createStoreResolver({
  store,
  envelope,
}: {
  store: Store;
  envelope: Envelope;
}): GatewayResolver {
  return {
    async grantByTokenHash(tokenHash) {
      const token = await store.get<Access.TokenIndex>(Keys.token(tokenHash));
      if (!token) return null;
      const grant = await store.get<Access.Stored>(
        Keys.grant(token.instanceId, token.platformId, token.spaceId),
      );
      // A rotation writes the new index item before the grant: only the grant's own hash counts.
      if (!grant || grant.tokenHash !== tokenHash) return null;
      const result: GatewayGrant = {
        instanceId: grant.instanceId,
        platformId: grant.platformId,
        spaceId: grant.spaceId,
        tokenHash: grant.tokenHash,
        enabled: grant.enabled,
        expiresAt: grant.expiresAt,
        headers: await openSealedHeaders(envelope, grant.headers),
      };
      return result;
    },
    async instance(instanceId) {
      const item = await store.get<Instance.Stored>(Keys.instance(instanceId));
      if (!item) return null;
      return {
        id: item.id,
        enabled: item.enabled,
        upstream: item.upstream,
        headers: await openSealedHeaders(envelope, item.headers),
        timeouts: item.timeouts,
        streams: streamsOf(item),
        forwardHeaders: item.forwardHeaders ?? [],
      };
    },
  };
}

/** Writes batched usage onto the grants: calls and errors added, lastUsedAt set when a call was served. */
export function usageWriter(store: Store) {
  return async (entries: UsageEntry[]) => {
    await Promise.all(
      entries.map((entry) =>
        store.patch(
          Keys.grant(entry.instanceId, entry.platformId, entry.spaceId),
          entry.lastUsedAt === null ? {} : { lastUsedAt: entry.lastUsedAt },
          { add: { calls: entry.calls, errors: entry.errors } },
        ),
      ),
    );
  };
}

let fromEnv: { store: Store; envelope: Envelope } | undefined;

/** The table and key ring named by the Lambda's environment (no pg, no MCP SDK on this path). */
export function gatewayStoreFromEnv() {
  if (!fromEnv) {
    const config = readConfig();
    const secrets = new AwsSecretStore(config.secretPrefix);
    fromEnv = { store: new Store(new DynamoDBClient({}), config.tableName), envelope: new Envelope(secrets) };
  }
  return fromEnv;
}

export function createResolverFromEnv(): GatewayResolver {
  return createStoreResolver(gatewayStoreFromEnv());
}
