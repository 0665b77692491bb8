import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Access } from "../core/access";
import { readConfig } from "../core/config";
import { Envelope } from "../core/crypto/envelope";
import type { Instance } from "../core/instance";
import type { LimitsOverride } from "../core/policy";
import { openSealedHeaders } from "../core/sealed-headers";
import { AwsSecretStore } from "../core/secrets/aws";
import { type Key, Store } from "../core/store";
import { Keys, usageScope } from "../core/store/keys";
import { streamsOf } from "../core/streams";
import { addTally, emptyTally, type UsageTally } from "../core/usage-tally";
import type { GatewayGrant, GatewayResolver } from "./core";
import type { UsageEntry } from "./usage";

/** Whether limits name anything: a space without any skips counting altogether. */
const hasLimit = <T extends LimitsOverride>(limits: T | undefined): limits is T =>
  limits !== undefined && Object.values(limits).some((value) => value !== undefined);

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
        tools: grant.tools ?? null,
        limits: hasLimit(grant.limits) ? grant.limits : undefined,
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
        tools: item.tools ?? null,
        limits: hasLimit(item.limits) ? item.limits : undefined,
        identity: item.identity,
      };
    },
  };
}

const keptMs = 90 * 24 * 3_600_000;
const ttlOf = (start: string) => Math.floor((Date.parse(start) + keptMs) / 1000);

/** A tally as the numbers a usage item adds up: outcome counts and `l<bucket>` latency counts. */
function tallyNumbers(tally: UsageTally): Record<string, number> {
  const { latency, ...counts } = tally;
  const numbers: Record<string, number> = {};
  for (const [name, value] of Object.entries(counts)) if (value > 0) numbers[name] = value;
  for (const [bucket, count] of Object.entries(latency)) numbers[`l${bucket}`] = count;
  return numbers;
}

/**
 * Writes batched usage: calls and errors onto the grants (lastUsedAt set when a call was served), and
 * the history, kept 90 days: each space's and each instance's hours, tools per day, spaces per day.
 * An instance's items add up its spaces' batch first, so each item gets one write per batch.
 */
export function usageWriter(store: Store) {
  return async (entries: UsageEntry[]) => {
    const add = new Map<
      string,
      { key: Key; numbers: Record<string, number>; set: Record<string, unknown> }
    >();
    const addTo = (key: Key, numbers: Record<string, number>, set: Record<string, unknown>) => {
      const id = `${key.pk}\n${key.sk}`;
      const existing = add.get(id);
      if (!existing) return void add.set(id, { key, numbers: { ...numbers }, set });
      for (const [name, value] of Object.entries(numbers))
        existing.numbers[name] = (existing.numbers[name] ?? 0) + value;
    };
    const instanceHours = new Map<string, UsageTally>();
    for (const entry of entries) {
      const space = usageScope(entry.instanceId, entry);
      for (const { hour, ...tally } of entry.hours) {
        addTo(Keys.usageHour(space, hour), tallyNumbers(tally), { hour, ttl: ttlOf(hour) });
        const instanceHour = `${entry.instanceId}\n${hour}`;
        instanceHours.set(instanceHour, addTally(instanceHours.get(instanceHour) ?? emptyTally(), tally));
        const day = hour.slice(0, 10);
        addTo(
          Keys.usageSpace(entry.instanceId, day, entry.platformId, entry.spaceId),
          { calls: tally.calls, errors: tally.calls - tally.ok - tally.limited, limited: tally.limited },
          { day, platformId: entry.platformId, spaceId: entry.spaceId, ttl: ttlOf(day) },
        );
      }
      for (const { day, tool, calls, errors } of entry.tools) {
        for (const scope of [space, entry.instanceId]) {
          addTo(Keys.usageTool(scope, day, tool), { calls, errors }, { day, tool, ttl: ttlOf(day) });
        }
      }
    }
    for (const [instanceHour, tally] of instanceHours) {
      const [instanceId = "", hour = ""] = instanceHour.split("\n");
      addTo(Keys.usageHour(instanceId, hour), tallyNumbers(tally), { hour, ttl: ttlOf(hour) });
    }
    await Promise.all([
      ...entries.map((entry) =>
        store.patch(
          Keys.grant(entry.instanceId, entry.platformId, entry.spaceId),
          entry.lastUsedAt === null ? {} : { lastUsedAt: entry.lastUsedAt },
          {
            add: {
              calls: entry.calls,
              errors: entry.errors,
              // Calls past the space's rate limits, beside the errors they also count as.
              limited: entry.hours.reduce((sum, hour) => sum + hour.limited, 0),
            },
          },
        ),
      ),
      ...[...add.values()].map(({ key, numbers, set }) => store.increment(key, numbers, set)),
    ]);
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
