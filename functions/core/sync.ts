import { createHash } from "node:crypto";
import { z } from "zod";
import { Access } from "./access";
import { Actor } from "./actor";
import { Audit } from "./audit";
import type { DatabaseSettings } from "./dify/connection";
import { removeProvider, writeProvider } from "./dify/writer";
import { AppError, isAppError, notFound } from "./errors";
import { HeaderMap } from "./headers";
import { createId, idPattern } from "./id";
import { Instance } from "./instance";
import { logger } from "./log";
import { discoverTools, type ToolsSnapshot } from "./mcp/discover";
import { Platform } from "./platform";
import type { SyncMessage } from "./queue";
import { getRuntime } from "./runtime";
import { Keys } from "./store/keys";

/** Errors worth another delivery: the database or the upstream may be back soon. */
const TRANSIENT = new Set([
  "dify_unreachable",
  "connection_refused",
  "timeout",
  "dns_not_found",
  "serialization_failure",
  "upstream_unreachable",
  "upstream_timeout",
]);

/** Connection failures that, during a sync, all mean Dify's database is not there now. */
const UNREACHABLE = new Set(["connection_refused", "timeout", "dns_not_found"]);

/** Deliveries of one message before its item is marked failed (the SQS queue's maxReceiveCount). */
export const MAX_ATTEMPTS = 5;

export namespace Sync {
  export const ItemStatus = z.enum(["queued", "running", "synced", "failed", "cancelled"]);
  export type ItemStatus = z.infer<typeof ItemStatus>;
  export const JobStatus = z.enum(["queued", "running", "done", "failed", "cancelled"]);

  export const Start = z.object({
    platformId: z.string().min(1).max(64),
    instanceIds: z.array(z.string().min(1).max(64)).min(1, "Choose at least one instance").max(50),
    spaces: z
      .array(z.object({ spaceId: z.string().min(1).max(64), headers: HeaderMap.optional() }))
      .min(1, "Choose at least one space")
      .max(5000),
  });
  export type Start = z.input<typeof Start>;

  const Counts = z.object({
    queued: z.number(),
    running: z.number(),
    synced: z.number(),
    failed: z.number(),
    cancelled: z.number(),
  });

  export const Job = z.object({
    id: z.string(),
    platformId: z.string(),
    instanceIds: z.array(z.string()),
    reason: z.string(),
    status: JobStatus,
    counts: Counts,
    total: z.number(),
    createdAt: z.string(),
    updatedAt: z.string(),
  });
  export type Job = z.infer<typeof Job>;

  export const Item = z.object({
    instanceId: z.string(),
    instanceName: z.string(),
    platformId: z.string(),
    spaceId: z.string(),
    spaceName: z.string(),
    status: ItemStatus,
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    attempts: z.number(),
    repairedDrift: z.boolean(),
    providerId: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  });
  export type Item = z.infer<typeof Item>;

  export const Detail = z.object({ job: Job, items: z.array(Item) });

  export const Id = z.string().regex(idPattern("job"), "Not a sync job id");

  interface StoredJob {
    pk: "JOB";
    sk: string;
    id: string;
    platformId: string;
    instanceIds: string[];
    reason: string;
    total: number;
    queuedCount: number;
    runningCount: number;
    syncedCount: number;
    failedCount: number;
    cancelledCount: number;
    createdAt: string;
    updatedAt: string;
  }

  type StoredItem = Item & { pk: string; sk: string; jobId: string; skipUnchanged?: boolean; ttl?: number };

  const jobKey = (jobId: string) => ({ pk: "JOB", sk: jobId });
  const itemKey = (jobId: string, instanceId: string, platformId: string, spaceId: string) => ({
    pk: `JOB#${jobId}`,
    sk: `ITEM#${instanceId}#${platformId}#${spaceId}`,
  });
  const toolsKey = (jobId: string, instanceId: string) => ({ pk: `JOB#${jobId}`, sk: `TOOLS#${instanceId}` });

  function toJob(item: StoredJob): Job {
    const counts = {
      queued: item.queuedCount,
      running: item.runningCount,
      synced: item.syncedCount,
      failed: item.failedCount,
      cancelled: item.cancelledCount,
    };
    const open = counts.queued + counts.running;
    const status =
      open > 0
        ? counts.running > 0 || counts.synced + counts.failed > 0
          ? "running"
          : "queued"
        : counts.failed > 0
          ? "failed"
          : counts.cancelled === item.total
            ? "cancelled"
            : "done";
    return {
      id: item.id,
      platformId: item.platformId,
      instanceIds: item.instanceIds,
      reason: item.reason,
      status,
      counts,
      total: item.total,
      createdAt: item.createdAt,
      updatedAt: item.updatedAt,
    };
  }

  const toItem = ({
    pk: _pk,
    sk: _sk,
    jobId: _jobId,
    skipUnchanged: _skip,
    ttl: _ttl,
    ...item
  }: StoredItem): Item => item;

  /** What a provider row belongs to on our side: its id in Dify is derived from this and the space. */
  const providerOwner = (grant: { instanceId: string; platformId: string }) =>
    `${grant.instanceId}@${grant.platformId}`;

  /** The URL Dify is given for an instance: the gateway, ending in /mcp or /sse as Dify expects. */
  export function gatewayUrl(instance: Pick<Instance.Stored, "id" | "upstream">): string {
    const leaf = instance.upstream.transport === "sse" ? "sse" : "mcp";
    return `${getRuntime().config.publicUrl}/gateway/${instance.id}/${leaf}`;
  }

  async function inParallel<T>(values: T[], limit: number, work: (value: T) => Promise<unknown>) {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(limit, values.length) }, async () => {
        while (next < values.length) await work(values[next++] as T);
      }),
    );
  }

  /**
   * Stores a job with one item per (instance, space), gives each space access (headers given here
   * override the instance's defaults for that space), then enqueues one message per item.
   * Everything is validated before anything is written.
   */
  export async function start(
    input: Start,
    options: {
      reason?: string;
      /** Leave rows that already hold what would be written (the scheduled refresh). */
      skipUnchanged?: boolean;
      /** Tools already discovered for this job, by instance id. */
      snapshots?: Map<string, ToolsSnapshot>;
      /** Keep the job only this many days (the refresh's jobs). */
      keepDays?: number;
    } = {},
  ): Promise<Job> {
    const { store, queue, now } = getRuntime();
    const data = Start.parse(input);
    const seen = new Set<string>();
    const duplicates = data.spaces
      .filter(({ spaceId }) => seen.has(spaceId) || !seen.add(spaceId))
      .map((s) => s.spaceId);
    if (duplicates.length > 0) {
      throw new AppError("invalid_request", `Space ${duplicates.join(", ")} is listed more than once.`, {
        status: 400,
        details: duplicates.map((spaceId) => ({ path: "spaces", message: `Duplicate space ${spaceId}` })),
      });
    }
    const instanceIds = [...new Set(data.instanceIds)];
    await Platform.get(data.platformId);
    const instances = await Promise.all(instanceIds.map((id) => Instance.load(id)));
    const spaces = await Platform.spacesByIds(
      data.platformId,
      data.spaces.map((space) => space.spaceId),
    );

    const at = now().toISOString();
    const jobId = createId("job", now().getTime());
    const total = instances.length * data.spaces.length;
    const ttl = options.keepDays ? Math.floor(now().getTime() / 1000) + options.keepDays * 86_400 : undefined;
    const job: StoredJob & { ttl?: number } = {
      pk: "JOB",
      sk: jobId,
      id: jobId,
      platformId: data.platformId,
      instanceIds,
      reason: options.reason ?? "admin",
      total,
      queuedCount: total,
      runningCount: 0,
      syncedCount: 0,
      failedCount: 0,
      cancelledCount: 0,
      createdAt: at,
      updatedAt: at,
      ttl,
    };
    await store.create(job);
    for (const [instanceId, snapshot] of options.snapshots ?? []) {
      await store.put({
        ...toolsKey(jobId, instanceId),
        snapshot,
        ttl: Math.floor(now().getTime() / 1000) + 7 * 86_400,
      });
    }

    const pairs = instances.flatMap((instance) => data.spaces.map((space) => ({ instance, space })));
    const granted = new Map<string, number>();
    const outbox: SyncMessage[] = [];
    const unsent: SyncMessage[] = [];
    const unprepared: Array<{ instance: Instance.Stored; spaceId: string; error: unknown }> = [];
    const queued: Access.SyncState = { status: "queued", jobId, updatedAt: at };
    // A message that cannot be sent leaves its item queued with no one to run it: it is failed below.
    const flush = async () => {
      const batch = outbox.splice(0);
      if (batch.length === 0) return;
      await queue.send(batch).catch((error) => {
        logger.error("sync messages not sent", { jobId, count: batch.length, error: String(error) });
        unsent.push(...batch);
      });
    };
    const itemOf = (instance: Instance.Stored, spaceId: string, grant?: Access.Stored): StoredItem => ({
      ...itemKey(jobId, instance.id, data.platformId, spaceId),
      jobId,
      instanceId: instance.id,
      instanceName: instance.name,
      platformId: data.platformId,
      spaceId,
      spaceName: spaces.get(spaceId)?.name ?? grant?.spaceName ?? spaceId,
      status: "queued",
      error: null,
      attempts: 0,
      repairedDrift: false,
      providerId: grant ? Access.providerOf(grant) : null,
      createdAt: at,
      updatedAt: at,
      startedAt: null,
      finishedAt: null,
      skipUnchanged: options.skipUnchanged,
      ttl,
    });
    await inParallel(pairs, 16, async ({ instance, space }) => {
      try {
        const dify = spaces.get(space.spaceId);
        const { grant, created } = await Access.put(
          instance.id,
          data.platformId,
          space.spaceId,
          { headers: space.headers },
          {
            space: dify ? { name: dify.name, owner: dify.owner } : undefined,
            instance,
            sync: queued,
            batch: true,
          },
        );
        if (created) granted.set(instance.id, (granted.get(instance.id) ?? 0) + 1);
        const item = itemOf(instance, space.spaceId, grant);
        await store.put(item);
        if (!created) await Access.setSync(grant, { ...queued, providerId: item.providerId });
      } catch (error) {
        unprepared.push({ instance, spaceId: space.spaceId, error });
        return;
      }
      // Each message goes out once its item is stored, ten at a time, so the worker starts early.
      outbox.push({ jobId, instanceId: instance.id, platformId: data.platformId, spaceId: space.spaceId });
      if (outbox.length >= 10) await flush();
    });
    await flush();
    const grantFailed = (
      grant: Parameters<typeof Access.setSync>[0],
      providerId: string | null,
      error: { code: string; message: string },
    ) => Access.setSync(grant, { status: "failed", jobId, providerId, error, updatedAt: at });
    // No message went out for these items, so no worker can move them meanwhile.
    for (const { instance, spaceId, error } of unprepared) {
      logger.error("sync item not prepared", {
        jobId,
        instanceId: instance.id,
        spaceId,
        error: String(error),
      });
      const failure = isAppError(error)
        ? { code: error.code, message: error.message }
        : {
            code: "sync_not_started",
            message: "The space could not be prepared for the sync; it has been logged. Retry the job.",
          };
      const grant = await Access.find(instance.id, data.platformId, spaceId);
      const item = itemOf(instance, spaceId, grant ?? undefined);
      await store.put({ ...item, status: "failed", error: failure, finishedAt: at });
      if (grant) await grantFailed(grant, item.providerId, failure);
    }
    if (unprepared.length > 0) {
      await store.patch(
        jobKey(jobId),
        { updatedAt: at },
        { add: { queuedCount: -unprepared.length, failedCount: unprepared.length } },
      );
    }
    for (const message of unsent) {
      const failure = {
        code: "sync_not_queued",
        message: "The sync could not be queued for this space; it has been logged. Retry the job.",
      };
      const item = await transition(message, ["queued"], "failed", { error: failure, finishedAt: at });
      if (item) await grantFailed(message, item.providerId, failure);
    }
    for (const [instanceId, count] of granted) {
      await store.patch(Keys.instance(instanceId), {}, { add: { spaceCount: count } });
    }
    await Audit.record(
      "sync.start",
      { type: "sync", id: jobId },
      {
        platformId: data.platformId,
        instanceIds,
        spaceCount: data.spaces.length,
        accessCreated: [...granted.values()].reduce((sum, count) => sum + count, 0),
        reason: job.reason,
      },
    );
    return unprepared.length + unsent.length > 0 ? toJob(await loadJob(jobId)) : toJob(job);
  }

  async function loadJob(jobId: string): Promise<StoredJob> {
    const job = Id.safeParse(jobId).success
      ? await getRuntime().store.get<StoredJob>(jobKey(jobId), { consistent: true })
      : null;
    if (!job) throw notFound("Sync job", jobId);
    return job;
  }

  async function itemsOf(jobId: string): Promise<StoredItem[]> {
    const items: StoredItem[] = [];
    for await (const item of getRuntime().store.all<StoredItem>({ pk: `JOB#${jobId}`, skPrefix: "ITEM#" }))
      items.push(item);
    return items;
  }

  export async function get(jobId: string) {
    const job = await loadJob(jobId);
    return { job: toJob(job), items: (await itemsOf(jobId)).map(toItem) };
  }

  export async function list(options: { cursor?: string; limit?: number } = {}) {
    const page = await getRuntime().store.query<StoredJob>({
      pk: "JOB",
      reverse: true,
      cursor: options.cursor,
      limit: options.limit,
    });
    return { items: page.items.map(toJob), nextCursor: page.nextCursor };
  }

  /**
   * Moves an item from one status to another only if it is still in `from`, keeping the job's
   * counters in step. Returns false when someone else moved it first (a redelivery, a cancel).
   */
  async function transition(
    item: SyncMessage,
    from: ItemStatus[],
    to: ItemStatus,
    set: Partial<Item> = {},
  ): Promise<StoredItem | null> {
    const { store, now } = getRuntime();
    const at = now().toISOString();
    const values = Object.fromEntries(from.map((status, index) => [`:from${index}`, status]));
    const moved = await store.patch(
      itemKey(item.jobId, item.instanceId, item.platformId, item.spaceId),
      { ...set, status: to, updatedAt: at },
      {
        condition: `#status IN (${from.map((_, index) => `:from${index}`).join(", ")})`,
        names: { "#status": "status" },
        values,
      },
    );
    const was = moved?.status as ItemStatus | undefined;
    if (was && was !== to) {
      await store.patch(
        jobKey(item.jobId),
        { updatedAt: at },
        { add: { [`${was}Count`]: -1, [`${to}Count`]: 1 } },
      );
    }
    return moved as StoredItem | null;
  }

  /** Sends the failed items of a job again. */
  export async function retry(jobId: string): Promise<Job> {
    const { queue } = getRuntime();
    await loadJob(jobId);
    const failed = (await itemsOf(jobId)).filter((item) => item.status === "failed");
    const retried: SyncMessage[] = [];
    for (const item of failed) {
      if (await transition(item, ["failed"], "queued", { error: null, attempts: 0, finishedAt: null })) {
        retried.push({
          jobId,
          instanceId: item.instanceId,
          platformId: item.platformId,
          spaceId: item.spaceId,
        });
      }
    }
    await queue.send(retried);
    await Audit.record("sync.retry", { type: "sync", id: jobId }, { items: retried.length });
    return toJob(await loadJob(jobId));
  }

  /** Cancels the items not yet started; running ones finish. */
  export async function cancel(jobId: string): Promise<Job> {
    const { now } = getRuntime();
    await loadJob(jobId);
    let cancelled = 0;
    for (const item of await itemsOf(jobId)) {
      if (item.status !== "queued") continue;
      if (await transition(item, ["queued"], "cancelled", { finishedAt: now().toISOString() })) {
        cancelled++;
        await Access.setSync(item, {
          status: "cancelled",
          jobId,
          providerId: item.providerId,
          updatedAt: now().toISOString(),
        });
      }
    }
    await Audit.record("sync.cancel", { type: "sync", id: jobId }, { items: cancelled });
    return toJob(await loadJob(jobId));
  }

  const contexts = new Map<string, Promise<{ instance: Instance.Stored; settings: DatabaseSettings }>>();

  /**
   * What every item of a job shares, read once per job and process: the instance as it was when the
   * job ran, and the platform's connection settings.
   */
  function jobContext(message: SyncMessage) {
    const memo = `${message.jobId}/${message.instanceId}`;
    let pending = contexts.get(memo);
    if (!pending) {
      pending = (async () => ({
        instance: await Instance.load(message.instanceId),
        settings: await Platform.settings(message.platformId),
      }))();
      contexts.set(memo, pending);
      pending.catch(() => contexts.delete(memo));
      if (contexts.size > 100) contexts.delete(contexts.keys().next().value as string);
    }
    return pending;
  }

  const discoveries = new Map<string, Promise<ToolsSnapshot>>();

  /**
   * The tools for an instance in a job: discovered once per job (by the first item to need them,
   * then kept with the job), with the instance's own headers.
   */
  async function toolsFor(jobId: string, instance: Instance.Stored): Promise<ToolsSnapshot> {
    const { store } = getRuntime();
    const memo = `${jobId}/${instance.id}`;
    let pending = discoveries.get(memo);
    if (!pending) {
      pending = (async () => {
        const kept = await store.get<{ pk: string; sk: string; snapshot: ToolsSnapshot }>(
          toolsKey(jobId, instance.id),
        );
        if (kept) return kept.snapshot;
        let snapshot: ToolsSnapshot;
        try {
          snapshot = await discoverTools(instance.upstream, {
            headers: await Instance.headersOf(instance),
            timeoutMs: instance.timeouts.timeout * 1000,
          });
          await Instance.keepTools(instance.id, snapshot);
        } catch (error) {
          // The upstream is down or refusing now: the last tools it listed still serve Dify best.
          const last = await Instance.tools(instance.id);
          if (!last) throw error;
          logger.warn("discovery failed, using the last tools", {
            instanceId: instance.id,
            code: isAppError(error) ? error.code : "unknown",
          });
          snapshot = last;
        }
        await store.put({
          ...toolsKey(jobId, instance.id),
          snapshot,
          ttl: Math.floor(Date.now() / 1000) + 7 * 86400,
        });
        return snapshot;
      })();
      discoveries.set(memo, pending);
      pending.catch(() => discoveries.delete(memo));
      if (discoveries.size > 1000) discoveries.delete(discoveries.keys().next().value as string);
    }
    return pending;
  }

  /**
   * Handles one sync message: writes the provider row into the space's Dify database. Safe to run
   * twice for the same message. Throws only for a transient failure that deserves another
   * delivery; everything else is recorded on the item.
   */
  export async function handle(message: SyncMessage, attempt: number): Promise<void> {
    const { store, now } = getRuntime();
    // One conditional write claims the item and returns it; a finished or cancelled one is left alone.
    const item = await transition(message, ["queued", "running"], "running", {
      attempts: attempt,
      startedAt: now().toISOString(),
    });
    if (!item) return;
    const running: StoredItem = { ...item, status: "running" };
    const context = {
      jobId: item.jobId,
      instanceId: item.instanceId,
      platformId: item.platformId,
      spaceId: item.spaceId,
      attempt,
    };
    try {
      const { instance, settings } = await jobContext(message);
      const grant = await Access.find(message.instanceId, message.platformId, message.spaceId);
      if (!grant)
        throw new AppError("access_removed", "The space's access was removed before the sync ran.", {
          status: 409,
        });
      const tools = await toolsFor(message.jobId, instance);
      const credential = await Access.credentialOf(grant);
      const result = await Platform.withDatabase(message.platformId, settings, (pool) =>
        writeProvider(pool, {
          tenantId: message.spaceId,
          name: instance.name,
          serverIdentifier: instance.identifier,
          serverUrl: gatewayUrl(instance),
          transport: instance.upstream.transport,
          owner: providerOwner(message),
          credential,
          icon: instance.icon,
          tools: tools.tools,
          timeouts: instance.timeouts,
          knownProviderId: Access.providerOf(grant),
          knownDigest: grant.providerDigest,
          skipUnchanged: item.skipUnchanged,
        }),
      );
      const at = now().toISOString();
      await transition(running, ["running"], "synced", {
        error: null,
        providerId: result.providerId,
        repairedDrift: result.repairedDrift,
        finishedAt: at,
      });
      await Access.setSync(
        grant,
        {
          status: "synced",
          jobId: item.jobId,
          providerId: result.providerId,
          syncedAt: at,
          repairedDrift: result.repairedDrift,
          updatedAt: at,
        },
        { providerId: result.providerId, digest: result.digest },
      );
      if (!instance.firstSyncedAt) {
        await store.patch(
          Keys.instance(instance.id),
          { firstSyncedAt: at },
          { condition: "attribute_not_exists(#first)", names: { "#first": "firstSyncedAt" } },
        );
      }
      logger.info("space synced", { ...context, action: result.action, repairedDrift: result.repairedDrift });
    } catch (error) {
      if (!isAppError(error)) logger.error("sync failed unexpectedly", { ...context, error: String(error) });
      const failure = !isAppError(error)
        ? { code: "sync_failed", message: "The sync failed unexpectedly; it has been logged. Retry the job." }
        : UNREACHABLE.has(error.code)
          ? { code: "dify_unreachable", message: `Dify's database could not be reached. ${error.message}` }
          : { code: error.code, message: error.message };
      const at = now().toISOString();
      if ((!isAppError(error) || TRANSIENT.has(failure.code)) && attempt < MAX_ATTEMPTS) {
        await transition(running, ["running"], "queued", { error: failure });
        logger.warn("sync will be retried", { ...context, code: failure.code });
        throw error;
      }
      await transition(running, ["running"], "failed", { error: failure, finishedAt: at });
      await Access.setSync(item, {
        status: "failed",
        jobId: item.jobId,
        providerId: item.providerId,
        error: failure,
        updatedAt: at,
      });
      logger.warn("sync failed", { ...context, code: failure.code });
    }
  }

  /**
   * Removes Spacegate's provider row from the space's Dify, found by its ids only (never a row
   * someone else wrote, whatever it holds). If Dify cannot be reached nothing is removed, so it can
   * be tried again.
   */
  export async function removeFromDify(
    instanceId: string,
    platformId: string,
    spaceId: string,
  ): Promise<{ removed: boolean }> {
    const grant = await Access.load(instanceId, platformId, spaceId);
    const instance = await Instance.load(instanceId);
    return Platform.withDatabase(platformId, await Platform.settings(platformId), (pool) =>
      removeProvider(pool, spaceId, {
        providerId: Access.providerOf(grant),
        owner: providerOwner(grant),
        serverIdentifier: instance.identifier,
      }),
    );
  }

  /** Starts re-sync jobs for every synced space of an instance, one job per platform. */
  export async function resyncInstance(
    instanceId: string,
    reason: string,
    options: Omit<Parameters<typeof start>[1], "reason"> = {},
  ): Promise<Job[]> {
    const { store } = getRuntime();
    const byPlatform = new Map<string, string[]>();
    for await (const grant of store.all<Access.Stored>({ pk: `GRANT#${instanceId}` })) {
      if (!Access.providerOf(grant)) continue;
      byPlatform.set(grant.platformId, [...(byPlatform.get(grant.platformId) ?? []), grant.spaceId]);
    }
    const jobs: Job[] = [];
    for (const [platformId, spaceIds] of byPlatform) {
      jobs.push(
        await start(
          { platformId, instanceIds: [instanceId], spaces: spaceIds.map((spaceId) => ({ spaceId })) },
          { ...options, reason },
        ),
      );
    }
    return jobs;
  }

  /** Re-syncs one space after its credential changed, if it had been synced. */
  export async function resyncSpace(instanceId: string, platformId: string, spaceId: string, reason: string) {
    const grant = await Access.load(instanceId, platformId, spaceId);
    if (!Access.providerOf(grant)) return null;
    return start({ platformId, instanceIds: [instanceId], spaces: [{ spaceId }] }, { reason });
  }

  /** A stable fingerprint of a tool list, to tell whether a refresh found something new. */
  export function toolsFingerprint(snapshot: Pick<ToolsSnapshot, "tools">): string {
    return createHash("sha256").update(JSON.stringify(snapshot.tools)).digest("hex");
  }

  /**
   * The scheduled refresh: re-discovers the tools of each instance synced anywhere, then goes over
   * every space it is in. A row that already holds the current tools and was not touched in Dify
   * is left alone; a stale tool list or a row deleted or edited in Dify is rewritten.
   */
  export async function refresh(): Promise<
    Array<{ instanceId: string; changed: boolean; jobs: number; error?: string }>
  > {
    const { store } = getRuntime();
    const results: Array<{ instanceId: string; changed: boolean; jobs: number; error?: string }> = [];
    for await (const instance of store.all<Instance.Stored>({ pk: "INSTANCE" })) {
      if (!instance.firstSyncedAt || !instance.enabled) continue;
      try {
        const before = await Instance.tools(instance.id);
        const snapshot = await discoverTools(instance.upstream, {
          headers: await Instance.headersOf(instance),
          timeoutMs: instance.timeouts.timeout * 1000,
        });
        const changed = !before || toolsFingerprint(before) !== toolsFingerprint(snapshot);
        await Instance.keepTools(instance.id, snapshot);
        const jobs = await Actor.run({ type: "system", id: "refresh" }, () =>
          resyncInstance(instance.id, changed ? "tools_changed" : "refresh", {
            skipUnchanged: true,
            snapshots: new Map([[instance.id, snapshot]]),
            keepDays: 7,
          }),
        );
        results.push({ instanceId: instance.id, changed, jobs: jobs.length });
      } catch (error) {
        results.push({
          instanceId: instance.id,
          changed: false,
          jobs: 0,
          error: isAppError(error) ? error.code : String(error),
        });
      }
    }
    return results;
  }
}
