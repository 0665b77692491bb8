import { createHash } from "node:crypto";
import { z } from "zod";
import { Access } from "./access";
import { Actor } from "./actor";
import { Audit } from "./audit";
import type { DatabaseSettings } from "./dify/connection";
import { removeProvider, writeProvider } from "./dify/writer";
import { ErrorCode as ErrorCodeSchema } from "./error-code";
import { AppError, type ErrorCode, errorSpec, isAppError, notFound } from "./errors";
import { createId, idPattern } from "./id";
import { Instance } from "./instance";
import { logger } from "./log";
import { discoverTools, type ToolsSnapshot } from "./mcp/discover";
import { Platform } from "./platform";
import { type Delivery, MAX_RECEIVES, type SyncMessage } from "./queue";
import { getRuntime } from "./runtime";
import { SyncInput } from "./schemas";
import { ifMissing, ifStatusIn } from "./store";
import { Keys } from "./store/keys";

/** Connection failures that, during a sync, all mean Dify's database is not there now. */
/** What an item that failed records: a catalogued code and the message for the admin. */
type Failure = { code: ErrorCode; message: string };

const UNREACHABLE = new Set<ErrorCode>(["connection_refused", "timeout", "dns_not_found"]);

/** Spaces prepared together when a job starts: read, written and queued in a few requests. */
const CHUNK = 25;

export namespace Sync {
  export const ItemStatus = z.enum(["queued", "running", "synced", "failed", "cancelled"]);
  export type ItemStatus = z.infer<typeof ItemStatus>;
  export const JobStatus = z.enum(["queued", "running", "done", "failed", "cancelled"]);

  export const Start = SyncInput.Start;
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
    error: z.object({ code: ErrorCodeSchema, message: z.string() }).nullable(),
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
    pk: string;
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

  const jobKey = Keys.job;
  const itemKey = Keys.jobItem;
  const toolsKey = Keys.jobTools;

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

  export const gatewayUrl = Instance.gatewayUrl;

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
      ...jobKey(jobId),
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
    await store.putMany(
      [...(options.snapshots ?? [])].map(([instanceId, snapshot]) => ({
        ...toolsKey(jobId, instanceId),
        snapshot,
        ttl: Math.floor(now().getTime() / 1000) + 7 * 86_400,
      })),
    );

    const granted = new Map<string, number>();
    const queued: Access.SyncState = { status: "queued", jobId, updatedAt: at };
    const unprepared: Array<{ item: StoredItem; error: unknown; hasGrant: boolean }> = [];
    const unsent: SyncMessage[] = [];
    const itemOf = (instance: Instance.Stored, spaceId: string, grant: Access.Stored | null): StoredItem => ({
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
    const chunks = instances.flatMap((instance) =>
      Array.from({ length: Math.ceil(data.spaces.length / CHUNK) }, (_, index) => ({
        instance,
        spaces: data.spaces.slice(index * CHUNK, (index + 1) * CHUNK),
      })),
    );
    // Each chunk's messages go out once its items are stored, so the worker starts early.
    await inParallel(chunks, 4, async ({ instance, spaces: chunk }) => {
      let outcomes: Awaited<ReturnType<typeof Access.grantMany>>;
      try {
        outcomes = await Access.grantMany(
          instance,
          data.platformId,
          chunk.map(({ spaceId, headers, tools }) => {
            const dify = spaces.get(spaceId);
            const space = { name: dify?.name ?? spaceId, owner: dify?.owner ?? null };
            return { spaceId, headers, tools, space };
          }),
          queued,
        );
      } catch (error) {
        outcomes = chunk.map(({ spaceId }) => ({ spaceId, grant: null, created: false, error }));
      }
      const ready: StoredItem[] = [];
      for (const { spaceId, grant, created, error } of outcomes) {
        if (created) granted.set(instance.id, (granted.get(instance.id) ?? 0) + 1);
        if (error)
          unprepared.push({ item: itemOf(instance, spaceId, grant), error, hasGrant: grant !== null });
        else ready.push(itemOf(instance, spaceId, grant));
      }
      try {
        await store.putMany(ready);
      } catch (error) {
        unprepared.push(...ready.map((item) => ({ item, error, hasGrant: true })));
        return;
      }
      const messages = ready.map(({ jobId, instanceId, platformId, spaceId }) => ({
        jobId,
        instanceId,
        platformId,
        spaceId,
      }));
      // A message that cannot be sent leaves its item queued with no one to run it: it is failed below.
      await queue.send(messages).catch((error) => {
        logger.error("sync messages not sent", { jobId, count: messages.length, error: String(error) });
        unsent.push(...messages);
      });
    });
    // No message went out for these items, so no worker can move them meanwhile.
    const grantFailed = (
      grant: Parameters<typeof Access.setSync>[0],
      providerId: string | null,
      error: Failure,
    ) => Access.setSync(grant, { status: "failed", jobId, providerId, error, updatedAt: at });
    for (const { item, error, hasGrant } of unprepared) {
      logger.error("sync item not prepared", {
        jobId,
        instanceId: item.instanceId,
        spaceId: item.spaceId,
        error: String(error),
      });
      const failure: Failure = isAppError(error)
        ? { code: error.code, message: error.message }
        : {
            code: "sync_not_started",
            message: "The space could not be prepared for the sync; it has been logged. Retry the job.",
          };
      await store.put({ ...item, status: "failed", error: failure, finishedAt: at });
      if (hasGrant) await grantFailed(item, item.providerId, failure);
    }
    if (unprepared.length > 0) {
      await store.patch(
        jobKey(jobId),
        { updatedAt: at },
        { add: { queuedCount: -unprepared.length, failedCount: unprepared.length } },
      );
    }
    const tally = new Tally();
    for (const message of unsent) {
      const failure: Failure = {
        code: "sync_not_queued",
        message: "The sync could not be queued for this space; it has been logged. Retry the job.",
      };
      const item = await transition(message, ["queued"], "failed", { error: failure, finishedAt: at }, tally);
      if (item) await grantFailed(message, item.providerId, failure);
    }
    await tally.flush();
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
    for await (const item of getRuntime().store.all<StoredItem>(Keys.jobItems(jobId))) items.push(item);
    return items;
  }

  export async function get(jobId: string) {
    const job = await loadJob(jobId);
    return { job: toJob(job), items: (await itemsOf(jobId)).map(toItem) };
  }

  export async function list(options: { cursor?: string; limit?: number } = {}) {
    const page = await getRuntime().store.query<StoredJob>({
      ...Keys.jobs(),
      reverse: true,
      cursor: options.cursor,
      limit: options.limit,
    });
    return { items: page.items.map(toJob), nextCursor: page.nextCursor };
  }

  /** Changes to jobs' counters, gathered while items move and written once per job. */
  class Tally {
    private readonly deltas = new Map<string, Map<string, number>>();

    count(jobId: string, from: ItemStatus, to: ItemStatus) {
      const job = this.deltas.get(jobId) ?? new Map<string, number>();
      job.set(`${from}Count`, (job.get(`${from}Count`) ?? 0) - 1);
      job.set(`${to}Count`, (job.get(`${to}Count`) ?? 0) + 1);
      this.deltas.set(jobId, job);
    }

    async flush() {
      const { store, now } = getRuntime();
      const deltas = [...this.deltas];
      this.deltas.clear();
      for (const [jobId, counts] of deltas) {
        const add = Object.fromEntries([...counts].filter(([, delta]) => delta !== 0));
        if (Object.keys(add).length === 0) continue;
        await store.patch(jobKey(jobId), { updatedAt: now().toISOString() }, { add });
      }
    }
  }

  /**
   * Moves an item from one status to another only if it is still in `from`, counting the move in
   * `tally` for the job's counters. Returns the item as it was, or null when someone else moved it
   * first (a redelivery, a cancel).
   */
  async function transition(
    item: SyncMessage,
    from: ItemStatus[],
    to: ItemStatus,
    set: Partial<Item>,
    tally: Tally,
  ): Promise<StoredItem | null> {
    const { store, now } = getRuntime();
    const moved = (await store.patch(
      itemKey(item.jobId, item.instanceId, item.platformId, item.spaceId),
      { ...set, status: to, updatedAt: now().toISOString() },
      { if: ifStatusIn(...from) },
    )) as StoredItem | null;
    if (moved && moved.status !== to) tally.count(item.jobId, moved.status, to);
    return moved;
  }

  /** Moves many items, a hundred at a time, writing the job's counters after each hundred. */
  async function transitionAll(
    items: StoredItem[],
    move: (item: StoredItem, tally: Tally) => Promise<unknown>,
  ): Promise<void> {
    for (let start = 0; start < items.length; start += 100) {
      const tally = new Tally();
      await inParallel(items.slice(start, start + 100), 16, (item) => move(item, tally));
      await tally.flush();
    }
  }

  /** Sends the failed items of a job again. */
  export async function retry(jobId: string): Promise<Job> {
    const { queue } = getRuntime();
    await loadJob(jobId);
    const failed = (await itemsOf(jobId)).filter((item) => item.status === "failed");
    const retried: SyncMessage[] = [];
    await transitionAll(failed, async (item, tally) => {
      if (
        await transition(item, ["failed"], "queued", { error: null, attempts: 0, finishedAt: null }, tally)
      ) {
        retried.push({
          jobId,
          instanceId: item.instanceId,
          platformId: item.platformId,
          spaceId: item.spaceId,
        });
      }
    });
    await queue.send(retried);
    await Audit.record("sync.retry", { type: "sync", id: jobId }, { items: retried.length });
    return toJob(await loadJob(jobId));
  }

  /** Cancels the items not yet started; running ones finish. */
  export async function cancel(jobId: string): Promise<Job> {
    const { now } = getRuntime();
    await loadJob(jobId);
    let cancelled = 0;
    const queuedItems = (await itemsOf(jobId)).filter((item) => item.status === "queued");
    await transitionAll(queuedItems, async (item, tally) => {
      if (await transition(item, ["queued"], "cancelled", { finishedAt: now().toISOString() }, tally)) {
        cancelled++;
        await Access.setSync(item, {
          status: "cancelled",
          jobId,
          providerId: item.providerId,
          updatedAt: now().toISOString(),
        });
      }
    });
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
          // Another delivery would not list them either: say why now rather than after five tries.
          if (!last)
            throw new AppError(
              "discovery_failed",
              `The tools of ${instance.name} could not be listed, so there is nothing to give Dify: ${
                isAppError(error) ? error.message : "the MCP server did not answer as expected."
              } Fix the instance and choose Discover tools, then retry.`,
              { cause: error },
            );
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

  /** Instances this process has seen synced, so their first sync is recorded once. */
  const firstSynced = new Set<string>();

  /**
   * Handles one sync message: writes the provider row into the space's Dify database. Safe to run
   * twice for the same message. Throws only for a transient failure that deserves another
   * delivery; everything else is recorded on the item.
   */
  export async function handle(message: SyncMessage, attempt: number): Promise<void> {
    const [result] = await handleBatch([{ message, attempt }]);
    if (result?.status === "rejected") throw result.reason;
  }

  /**
   * Handles a batch of sync messages as the queue delivers them, each as `handle` does, with fewer
   * table requests: the batch's grants are read together and the jobs' counters written once after
   * the items are claimed and once after they finish. One settled result per delivery, in order.
   */
  export async function handleBatch(deliveries: Delivery[]): Promise<PromiseSettledResult<void>[]> {
    const { now } = getRuntime();
    const tally = new Tally();
    try {
      const grants = new Map(
        (await Access.findMany(deliveries.map(({ message }) => message))).map((grant) => [
          grantRef(grant),
          grant,
        ]),
      );
      // One conditional write per item claims it and returns it; a finished or cancelled one is left alone.
      const claims = await Promise.allSettled(
        deliveries.map(({ message, attempt }) =>
          transition(
            message,
            ["queued", "running"],
            "running",
            { attempts: attempt, startedAt: now().toISOString() },
            tally,
          ),
        ),
      );
      // The counters follow every claim that was written, even when another claim failed.
      await tally.flush();
      const results = await Promise.allSettled(
        deliveries.map(async ({ message, attempt }, index) => {
          const claim = claims[index] as PromiseSettledResult<StoredItem | null>;
          if (claim.status === "rejected") throw claim.reason;
          if (claim.value)
            await run(message, attempt, claim.value, grants.get(grantRef(message)) ?? null, tally);
        }),
      );
      await tally.flush();
      return results;
    } catch (error) {
      return deliveries.map(() => ({ status: "rejected", reason: error }));
    }
  }

  const grantRef = (ref: { instanceId: string; platformId: string; spaceId: string }) =>
    `${ref.instanceId}/${ref.platformId}/${ref.spaceId}`;

  async function run(
    message: SyncMessage,
    attempt: number,
    item: StoredItem,
    grant: Access.Stored | null,
    tally: Tally,
  ): Promise<void> {
    const { store, now } = getRuntime();
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
      if (!grant) throw new AppError("access_removed", "The space's access was removed before the sync ran.");
      const tools = await toolsFor(message.jobId, instance);
      if (tools.tools.length === 0)
        throw new AppError(
          "no_tools",
          `${instance.name} lists no tools, so Dify would show an empty provider. Add tools to the MCP server, choose Discover tools, then retry.`,
        );
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
          tools: Access.toolsFor(instance, grant, tools.tools),
          identity: (instance.identity?.mode ?? "off") !== "off",
          timeouts: instance.timeouts,
          knownProviderId: Access.providerOf(grant),
          knownDigest: grant.providerDigest,
          skipUnchanged: item.skipUnchanged,
        }),
      );
      const at = now().toISOString();
      await transition(
        running,
        ["running"],
        "synced",
        {
          error: null,
          providerId: result.providerId,
          repairedDrift: result.repairedDrift,
          finishedAt: at,
        },
        tally,
      );
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
      if (!instance.firstSyncedAt && !firstSynced.has(instance.id)) {
        await store.patch(
          Keys.instance(instance.id),
          { firstSyncedAt: at },
          { if: ifMissing("firstSyncedAt") },
        );
        firstSynced.add(instance.id);
      }
      logger.info("space synced", { ...context, action: result.action, repairedDrift: result.repairedDrift });
    } catch (error) {
      if (!isAppError(error)) logger.error("sync failed unexpectedly", { ...context, error: String(error) });
      const failure: Failure = !isAppError(error)
        ? { code: "sync_failed", message: "The sync failed unexpectedly; it has been logged. Retry the job." }
        : UNREACHABLE.has(error.code)
          ? { code: "dify_unreachable", message: `Dify's database could not be reached. ${error.message}` }
          : { code: error.code, message: error.message };
      const at = now().toISOString();
      if ((!isAppError(error) || errorSpec(failure.code).retried) && attempt < MAX_RECEIVES) {
        await transition(running, ["running"], "queued", { error: failure }, tally);
        logger.warn("sync will be retried", { ...context, code: failure.code });
        throw error;
      }
      await transition(running, ["running"], "failed", { error: failure, finishedAt: at }, tally);
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
  async function removeProviderOf(
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
    for await (const grant of store.all<Access.Stored>(Keys.grants(instanceId))) {
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

  /**
   * Edits an instance; a change Dify shows (name, identifier, icon, URL, timeouts) is carried into
   * every space the instance was synced to.
   */
  export async function updateInstance(id: string, input: Instance.Update): Promise<Instance.Info> {
    const { info, changes } = await Instance.update(id, input);
    if (Instance.showsInDify(changes)) await resyncInstance(id, "instance_changed");
    return info;
  }

  /** Edits a space's access; a change of its tools reaches its row in Dify, which lists only those. */
  export async function patchAccess(
    instanceId: string,
    platformId: string,
    spaceId: string,
    input: Access.Patch,
  ): Promise<Access.Stored> {
    const grant = await Access.patch(instanceId, platformId, spaceId, input);
    if (input.tools !== undefined) await resyncSpace(instanceId, platformId, spaceId, "tools_changed");
    return grant;
  }

  /** Issues a space a new credential and, as Dify holds the credential, gives Dify the new one. */
  export async function rotateAccess(
    instanceId: string,
    platformId: string,
    spaceId: string,
  ): Promise<Access.Stored> {
    const grant = await Access.rotate(instanceId, platformId, spaceId);
    await resyncSpace(instanceId, platformId, spaceId, "credential_rotated");
    return grant;
  }

  /**
   * Removes a space's access. With `removeFromDify`, Spacegate's provider row is deleted from the
   * space's Dify first: if Dify cannot be reached, the access stays, so it can be tried again.
   */
  export async function removeAccess(
    instanceId: string,
    platformId: string,
    spaceId: string,
    options: { removeFromDify?: boolean } = {},
  ): Promise<void> {
    const removeFromDify = options.removeFromDify === true;
    const dify = removeFromDify ? await removeProviderOf(instanceId, platformId, spaceId) : undefined;
    await Access.remove(instanceId, platformId, spaceId, { removeFromDify, removedFromDify: dify?.removed });
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
  /** What the refresh did for one instance; `heldBack` are new tools its allow-list does not name. */
  export type RefreshResult = {
    instanceId: string;
    changed: boolean;
    jobs: number;
    newTools?: string[];
    heldBack?: string[];
    error?: string;
  };

  export async function refresh(): Promise<RefreshResult[]> {
    const { store } = getRuntime();
    const results: RefreshResult[] = [];
    for await (const instance of store.all<Instance.Stored>(Keys.instances())) {
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
        // A tool new upstream reaches only spaces without a list of their own, and none past the instance's.
        const known = new Set(before?.tools.map((tool) => tool.name));
        const newTools = snapshot.tools.map((tool) => tool.name).filter((name) => before && !known.has(name));
        const heldBack = instance.tools ? newTools.filter((name) => !instance.tools?.includes(name)) : [];
        if (newTools.length > 0)
          logger.info("new tools upstream", {
            instanceId: instance.id,
            newTools,
            notAllowedByInstance: heldBack,
          });
        results.push({
          instanceId: instance.id,
          changed,
          jobs: jobs.length,
          ...(newTools.length > 0 ? { newTools, heldBack } : {}),
        });
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
