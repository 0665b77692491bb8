import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { Audit } from "./audit";
import { ErrorCode } from "./error-code";
import { AppError, assertVersion, conflict } from "./errors";
import {
  HeaderMap,
  HeaderUpdate,
  MaskedHeaders,
  maskHeaders,
  openHeaders,
  type SealedHeaders,
  sealHeaders,
  updateHeaders,
} from "./headers";
import { Instance } from "./instance";
import { Platform } from "./platform";
import { allowedTools, type LimitsOverride, type ToolList } from "./policy";
import { getRuntime } from "./runtime";
import { ifAbsent } from "./store";
import { Keys } from "./store/keys";

export namespace Access {
  export const SyncStatus = z.enum(["queued", "running", "synced", "failed", "cancelled"]);
  export const SyncState = z.object({
    status: SyncStatus,
    jobId: z.string().optional(),
    providerId: z.string().nullable().optional(),
    syncedAt: z.string().optional(),
    repairedDrift: z.boolean().optional(),
    error: z.object({ code: ErrorCode, message: z.string() }).optional(),
    updatedAt: z.string(),
  });
  export type SyncState = z.infer<typeof SyncState>;

  export const Info = z.object({
    instanceId: z.string(),
    platformId: z.string(),
    spaceId: z.string(),
    spaceName: z.string(),
    owner: z.object({ name: z.string(), email: z.string() }).nullable(),
    credential: z.string().describe("The credential, masked. POST …/reveal shows it."),
    enabled: z.boolean(),
    headers: MaskedHeaders,
    expiresAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    lastUsedAt: z.string().nullable(),
    lastRotatedAt: z.string().nullable(),
    tools: z
      .array(z.string())
      .nullable()
      .describe("The space's narrowing of the instance's tools; null: the instance's"),
    limits: z
      .object({
        callsPerMinute: z.number().nullable().optional(),
        concurrent: z.number().nullable().optional(),
      })
      .describe("The space's own limits; a value left out is the instance's"),
    calls: z.number(),
    errors: z.number(),
    limited: z.number().describe("Calls refused for being past the space's rate limits"),
    sync: SyncState.nullable(),
    version: z.number(),
  });
  export type Info = z.infer<typeof Info>;

  const expiresAt = z.iso
    .datetime({ offset: true })
    .nullable()
    .refine((value) => value === null || Date.parse(value) > Date.now(), "Give a time in the future");

  const limit = z.number().int().min(1).max(1_000_000).nullable();
  /** A space's own limits: a value left out is the instance's, null lifts it. */
  export const Limits = z.object({ callsPerMinute: limit.optional(), concurrent: limit.optional() });

  export const Put = z.object({
    /** The space's pass-through headers; the instance's defaults when left out. */
    headers: HeaderMap.optional(),
    tools: Instance.Tools.optional().describe(
      "Narrows the instance's tools for this space; null: the instance's",
    ),
    enabled: z.boolean().default(true),
    expiresAt: expiresAt.default(null),
  });
  export type Put = z.input<typeof Put>;

  export const Patch = z.object({
    enabled: z.boolean().optional(),
    headers: HeaderUpdate.optional(),
    expiresAt: expiresAt.optional(),
    tools: Instance.Tools.optional().describe(
      "Narrows the instance's tools for this space; null: the instance's",
    ),
    limits: Limits.optional(),
    version: z.number().int().min(1).optional(),
  });
  export type Patch = z.input<typeof Patch>;

  export interface Stored {
    pk: string;
    sk: string;
    gsi1pk: string;
    gsi1sk: string;
    instanceId: string;
    platformId: string;
    spaceId: string;
    spaceName: string;
    owner: { name: string; email: string } | null;
    credential: string;
    credentialPreview: string;
    tokenHash: string;
    enabled: boolean;
    headers: SealedHeaders;
    expiresAt: string | null;
    createdAt: string;
    updatedAt: string;
    lastUsedAt: string | null;
    lastRotatedAt: string | null;
    calls: number;
    errors: number;
    limited?: number;
    tools?: ToolList;
    limits?: LimitsOverride;
    sync: SyncState | null;
    /** Our provider row in the space's Dify, once a sync wrote it. */
    providerId?: string;
    /** A fingerprint of what was last written there, to tell a change made in Dify from ours. */
    providerDigest?: string;
    version: number;
  }

  /** The gateway's single lookup: a credential's sha256 to the grant it belongs to. */
  export interface TokenIndex {
    pk: string;
    sk: "TOKEN";
    tokenHash: string;
    instanceId: string;
    platformId: string;
    spaceId: string;
  }

  export const key = Keys.grant;
  export const tokenKey = Keys.token;

  /** A new gateway credential: "sg_" and 32 random bytes in base64url. */
  export const newCredential = () => `sg_${randomBytes(32).toString("base64url")}`;

  export const hashCredential = (credential: string) =>
    createHash("sha256").update(credential, "utf8").digest("hex");

  /** Whether a presented credential matches a stored hash, in constant time. */
  export function matches(credential: string, tokenHash: string): boolean {
    const given = Buffer.from(hashCredential(credential), "hex");
    const stored = Buffer.from(tokenHash, "hex");
    return given.length === stored.length && timingSafeEqual(given, stored);
  }

  const preview = (credential: string) => `sg_••••${credential.slice(-4)}`;

  export function toInfo(item: Stored): Info {
    return {
      instanceId: item.instanceId,
      platformId: item.platformId,
      spaceId: item.spaceId,
      spaceName: item.spaceName,
      owner: item.owner,
      credential: item.credentialPreview,
      enabled: item.enabled,
      headers: maskHeaders(item.headers),
      expiresAt: item.expiresAt,
      createdAt: item.createdAt,
      updatedAt: item.updatedAt,
      lastUsedAt: item.lastUsedAt,
      lastRotatedAt: item.lastRotatedAt,
      tools: item.tools ?? null,
      limits: item.limits ?? {},
      calls: item.calls,
      errors: item.errors,
      limited: item.limited ?? 0,
      sync: item.sync,
      version: item.version,
    };
  }

  export async function find(
    instanceId: string,
    platformId: string,
    spaceId: string,
  ): Promise<Stored | null> {
    return getRuntime().store.get<Stored>(key(instanceId, platformId, spaceId), { consistent: true });
  }

  export async function load(instanceId: string, platformId: string, spaceId: string): Promise<Stored> {
    const item = await find(instanceId, platformId, spaceId);
    if (!item) {
      throw new AppError(
        "not_found",
        `Space ${spaceId} of platform ${platformId} has no access to instance ${instanceId}.`,
        {
          details: { instanceId, platformId, spaceId },
        },
      );
    }
    return item;
  }

  /** A new grant with a fresh credential, and the token index entry that finds it. */
  async function newGrant(
    instance: Instance.Stored,
    platformId: string,
    spaceId: string,
    data: { headers?: HeaderMap; tools?: ToolList; enabled: boolean; expiresAt: string | null },
    space: { name: string; owner: { name: string; email: string } | null },
    sync: SyncState | null,
  ): Promise<{ grant: Stored; token: TokenIndex }> {
    const { envelope, now } = getRuntime();
    const credential = newCredential();
    const tokenHash = hashCredential(credential);
    const at = now().toISOString();
    const grant: Stored = {
      ...key(instance.id, platformId, spaceId),
      instanceId: instance.id,
      platformId,
      spaceId,
      spaceName: space.name,
      owner: space.owner,
      credential: await envelope.encrypt(credential),
      credentialPreview: preview(credential),
      tokenHash,
      enabled: data.enabled,
      headers: data.headers ? await sealHeaders(data.headers) : instance.headers,
      expiresAt: data.expiresAt,
      tools: data.tools ?? null,
      createdAt: at,
      updatedAt: at,
      lastUsedAt: null,
      lastRotatedAt: null,
      calls: 0,
      errors: 0,
      sync,
      version: 1,
    };
    const token: TokenIndex = {
      ...tokenKey(tokenHash),
      tokenHash,
      instanceId: instance.id,
      platformId,
      spaceId,
    };
    return { grant, token };
  }

  /**
   * Stores a new grant whose token index entry is already written, unless someone created the
   * grant first: then their grant stands, and the unused entry is deleted.
   */
  async function storeGrant(fresh: { grant: Stored; token: TokenIndex }): Promise<Stored | null> {
    const { store } = getRuntime();
    if (await store.put(fresh.grant, { if: ifAbsent() })) return fresh.grant;
    await store.delete(fresh.token);
    return find(fresh.grant.instanceId, fresh.grant.platformId, fresh.grant.spaceId);
  }

  /**
   * Gives a space access to an instance, with a fresh credential; or, if it has access already,
   * applies the given headers and returns it. The space is read from Dify, so it must exist.
   */
  export async function put(
    instanceId: string,
    platformId: string,
    spaceId: string,
    input: Put = {},
  ): Promise<{ grant: Stored; created: boolean }> {
    const { store, now } = getRuntime();
    const data = Put.parse(input);
    const instance = await Instance.load(instanceId);
    await Platform.get(platformId);
    const existing = await find(instanceId, platformId, spaceId);
    if (existing) {
      if (!data.headers && data.tools === undefined) return { grant: existing, created: false };
      const next = await store.replace<Stored>(
        {
          ...existing,
          headers: data.headers ? await sealHeaders(data.headers) : existing.headers,
          tools: data.tools !== undefined ? data.tools : existing.tools,
          updatedAt: now().toISOString(),
        },
        existing.version,
      );
      const fields = [...(data.headers ? ["headers"] : []), ...(data.tools !== undefined ? ["tools"] : [])];
      await Audit.record("access.update", target(existing), { fields });
      return { grant: next, created: false };
    }
    const space = await Platform.space(platformId, spaceId);
    const fresh = await newGrant(instance, platformId, spaceId, data, space, null);
    await store.create(fresh.token);
    const grant = await storeGrant(fresh);
    if (grant !== fresh.grant) {
      if (grant) return { grant, created: false };
      throw conflict("The access was changed by someone else meanwhile. Try again.");
    }
    await store.patch(Instance.keyOf(instanceId), {}, { add: { spaceCount: 1 } });
    await Audit.record("access.create", target(grant), { spaceName: space.name });
    return { grant, created: true };
  }

  /** One space of a sync: the headers given for it, and its name and owner as Dify has them. */
  export interface Grantee {
    spaceId: string;
    headers?: HeaderMap;
    /** Narrows the instance's tools in this space; left out keeps what the grant has. */
    tools?: ToolList;
    space: { name: string; owner: { name: string; email: string } | null };
  }

  /**
   * Gives many spaces of a platform access to an instance at once (a sync), in few requests: the
   * existing grants are read together, new credentials' index entries written together, and each new
   * grant created with a conditional write (a racing creator's grant stands). An existing grant gets
   * the headers given for it. Every grant records `sync`. A space that fails carries its error;
   * counting and auditing are left to the caller.
   */
  export async function grantMany(
    instance: Instance.Stored,
    platformId: string,
    grantees: Grantee[],
    sync: SyncState,
  ): Promise<Array<{ spaceId: string; grant: Stored | null; created: boolean; error?: unknown }>> {
    const { store, now } = getRuntime();
    const existing = new Map(
      (
        await store.getMany<Stored>(
          grantees.map(({ spaceId }) => key(instance.id, platformId, spaceId)),
          { consistent: true },
        )
      ).map((grant) => [grant.spaceId, grant]),
    );
    const fresh = new Map(
      await Promise.all(
        grantees
          .filter(({ spaceId }) => !existing.has(spaceId))
          .map(
            async ({ spaceId, headers, tools, space }) =>
              [
                spaceId,
                await newGrant(
                  instance,
                  platformId,
                  spaceId,
                  { headers, tools, enabled: true, expiresAt: null },
                  space,
                  sync,
                ),
              ] as const,
          ),
      ),
    );
    await store.putMany([...fresh.values()].map(({ token }) => token));
    return Promise.all(
      grantees.map(async ({ spaceId, headers, tools }) => {
        try {
          const created = fresh.get(spaceId);
          const stored = created ? await storeGrant(created) : existing.get(spaceId);
          if (!stored) throw conflict("The access was changed by someone else meanwhile. Retry the job.");
          if (stored === created?.grant) return { spaceId, grant: stored, created: true };
          const state = { ...sync, providerId: providerOf(stored) };
          if (headers || tools !== undefined) {
            const grant = await store.replace<Stored>(
              {
                ...stored,
                headers: headers ? await sealHeaders(headers) : stored.headers,
                tools: tools !== undefined ? tools : stored.tools,
                sync: state,
                updatedAt: now().toISOString(),
              },
              stored.version,
            );
            return { spaceId, grant, created: false };
          }
          await setSync(stored, state);
          return { spaceId, grant: { ...stored, sync: state }, created: false };
        } catch (error) {
          return { spaceId, grant: existing.get(spaceId) ?? null, created: false, error };
        }
      }),
    );
  }

  /** The grants that exist of these (instance, platform, space) triples, read together. */
  export async function findMany(
    refs: Array<{ instanceId: string; platformId: string; spaceId: string }>,
  ): Promise<Stored[]> {
    const keys = new Map(refs.map((ref) => [`${ref.instanceId}/${ref.platformId}/${ref.spaceId}`, ref]));
    return getRuntime().store.getMany<Stored>(
      [...keys.values()].map((ref) => key(ref.instanceId, ref.platformId, ref.spaceId)),
      { consistent: true },
    );
  }

  export async function list(instanceId: string, options: { cursor?: string; limit?: number } = {}) {
    await Instance.load(instanceId);
    const page = await getRuntime().store.query<Stored>({
      ...Keys.grants(instanceId),
      cursor: options.cursor,
      limit: options.limit,
    });
    return { items: page.items.map(toInfo), nextCursor: page.nextCursor };
  }

  export async function patch(
    instanceId: string,
    platformId: string,
    spaceId: string,
    input: Patch,
  ): Promise<Stored> {
    const { store, now } = getRuntime();
    const data = Patch.parse(input);
    const grant = await load(instanceId, platformId, spaceId);
    assertVersion("access", data.version, grant.version);
    const next = await store.replace<Stored>(
      {
        ...grant,
        enabled: data.enabled ?? grant.enabled,
        headers: data.headers ? await updateHeaders(grant.headers, data.headers) : grant.headers,
        expiresAt: data.expiresAt === undefined ? grant.expiresAt : data.expiresAt,
        tools: data.tools === undefined ? grant.tools : data.tools,
        limits: data.limits === undefined ? grant.limits : { ...grant.limits, ...data.limits },
        updatedAt: now().toISOString(),
      },
      grant.version,
    );
    await Audit.record("access.update", target(grant), {
      fields: Object.keys(data).filter((field) => field !== "version"),
      enabled: data.enabled,
    });
    return next;
  }

  /**
   * Issues a new credential; the old one stops working at once (its index item is deleted). Dify
   * still holds the old one: Sync.rotateAccess also gives it the new one.
   */
  export async function rotate(instanceId: string, platformId: string, spaceId: string): Promise<Stored> {
    const { store, envelope, now } = getRuntime();
    const grant = await load(instanceId, platformId, spaceId);
    const credential = newCredential();
    const tokenHash = hashCredential(credential);
    const index: TokenIndex = { ...tokenKey(tokenHash), tokenHash, instanceId, platformId, spaceId };
    await store.create(index);
    let next: Stored;
    try {
      const at = now().toISOString();
      next = await store.replace<Stored>(
        {
          ...grant,
          credential: await envelope.encrypt(credential),
          credentialPreview: preview(credential),
          tokenHash,
          lastRotatedAt: at,
          updatedAt: at,
        },
        grant.version,
      );
    } catch (error) {
      await store.delete(tokenKey(tokenHash));
      throw error;
    }
    await store.delete(tokenKey(grant.tokenHash));
    await Audit.record("access.rotate", target(grant));
    return next;
  }

  /** The plaintext credential, for the admin to copy. Every reveal is audited. */
  export async function reveal(instanceId: string, platformId: string, spaceId: string): Promise<string> {
    const grant = await load(instanceId, platformId, spaceId);
    const credential = await credentialOf(grant);
    await Audit.record("access.reveal", target(grant));
    return credential;
  }

  export async function credentialOf(grant: Stored): Promise<string> {
    return getRuntime().envelope.decrypt(grant.credential);
  }

  export async function headersOf(grant: Stored) {
    return openHeaders(grant.headers);
  }

  /**
   * Deletes the grant and its token index item: the credential stops working at once. The tool stays
   * in Dify: Sync.removeAccess can delete it there first.
   */
  export async function remove(
    instanceId: string,
    platformId: string,
    spaceId: string,
    details: Record<string, unknown> = {},
  ) {
    const { store } = getRuntime();
    const grant = await load(instanceId, platformId, spaceId);
    await store.delete(tokenKey(grant.tokenHash));
    await store.delete(key(instanceId, platformId, spaceId));
    await store.patch(Instance.keyOf(instanceId), {}, { add: { spaceCount: -1 } });
    await Audit.record("access.delete", target(grant), details);
  }

  /**
   * Records the sync state of a grant (the worker's progress), without a version check; after a
   * successful write, also the provider row it wrote.
   */
  export async function setSync(
    grant: Pick<Stored, "instanceId" | "platformId" | "spaceId">,
    sync: SyncState,
    provider?: { providerId: string; digest: string },
  ) {
    await getRuntime().store.patch(key(grant.instanceId, grant.platformId, grant.spaceId), {
      sync,
      ...(provider ? { providerId: provider.providerId, providerDigest: provider.digest } : {}),
    });
  }

  /** The tools a space may use of those the upstream lists: the instance's list narrowed by the space's. */
  export function toolsFor<T extends { name: string }>(
    instance: Instance.Stored,
    grant: Stored,
    tools: T[],
  ): T[] {
    const allowed = allowedTools(instance.tools, grant.tools);
    if (allowed === null) return tools;
    const names = new Set(allowed);
    return tools.filter((tool) => names.has(tool.name));
  }

  /** The provider row of ours in the space's Dify, if a sync has written one. */
  export const providerOf = (grant: Stored) => grant.providerId ?? grant.sync?.providerId ?? null;

  const target = (grant: Pick<Stored, "instanceId" | "platformId" | "spaceId" | "spaceName">) => ({
    type: "access" as const,
    id: `${grant.instanceId}/${grant.platformId}/${grant.spaceId}`,
    name: grant.spaceName,
  });
}
