import { z } from "zod";
import { Audit } from "./audit";
import { CheckResult, checkDify } from "./dify/check";
import type { DatabaseSettings } from "./dify/connection";
import { classifyPgError } from "./dify/errors";
import { Space as DifySpace, getSpace, getSpaces, listSpaces } from "./dify/spaces";
import { AppError, assertVersion, notFound } from "./errors";
import { createId, idPattern } from "./id";
import { getRuntime } from "./runtime";
import { PlatformInput } from "./schemas";
import { SecretName } from "./secrets";
import { Keys } from "./store/keys";

export namespace Platform {
  /** A space (Dify workspace) as listed: name, owner, and whether Spacegate can write to it. */
  export const Space = DifySpace;
  export type Space = DifySpace;

  export const Kind = PlatformInput.Kind;
  export const SslMode = PlatformInput.SslMode;
  export const Database = PlatformInput.Database;
  export const Create = PlatformInput.Create;
  export type Create = z.input<typeof Create>;
  export const Update = PlatformInput.Update;
  export type Update = z.input<typeof Update>;

  export const Info = z.object({
    id: z.string(),
    name: z.string(),
    kind: Kind,
    database: z.object({
      host: z.string(),
      port: z.number(),
      database: z.string(),
      user: z.string(),
      ssl: SslMode,
      hasCaPem: z.boolean(),
      hasPassword: z.literal(true),
    }),
    check: CheckResult.nullable(),
    version: z.number(),
    createdAt: z.string(),
    updatedAt: z.string(),
  });
  export type Info = z.infer<typeof Info>;

  export const Id = z.string().regex(idPattern("plt"), "Not a platform id");

  export const SpacesQuery = z.object({
    search: z.string().max(200).optional(),
    cursor: z.string().max(2000).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  });

  interface Stored {
    pk: string;
    sk: string;
    id: string;
    name: string;
    kind: z.infer<typeof Kind>;
    database: Omit<DatabaseSettings, "password">;
    check: CheckResult | null;
    version: number;
    createdAt: string;
    updatedAt: string;
  }

  const key = Keys.platform;

  function toInfo(item: Stored): Info {
    const { caPem, ...database } = item.database;
    return {
      id: item.id,
      name: item.name,
      kind: item.kind,
      database: { ...database, hasCaPem: Boolean(caPem), hasPassword: true },
      check: item.check,
      version: item.version,
      createdAt: item.createdAt,
      updatedAt: item.updatedAt,
    };
  }

  /** Tests connection details without saving anything. */
  export async function check(input: z.input<typeof Database>): Promise<CheckResult> {
    return checkDify(Database.parse(input));
  }

  export async function create(input: Create): Promise<Info> {
    const { store, secrets, now } = getRuntime();
    const data = Create.parse(input);
    const { password, ...database } = data.database;
    const result = await checkDify(data.database);
    const at = now().toISOString();
    const id = createId("plt", now().getTime());
    await secrets.put(SecretName.platformPassword(id), password);
    const item: Stored = {
      ...key(id),
      id,
      name: data.name,
      kind: data.kind,
      database,
      check: result,
      version: 1,
      createdAt: at,
      updatedAt: at,
    };
    try {
      await store.create(item);
    } catch (error) {
      await secrets.delete(SecretName.platformPassword(id));
      throw error;
    }
    await Audit.record("platform.create", { type: "platform", id }, { name: data.name, checkOk: result.ok });
    return toInfo(item);
  }

  async function load(id: string): Promise<Stored> {
    const item = Id.safeParse(id).success
      ? await getRuntime().store.get<Stored>(key(id), { consistent: true })
      : null;
    if (!item) throw notFound("Platform", id);
    return item;
  }

  export async function get(id: string): Promise<Info> {
    return toInfo(await load(id));
  }

  export async function list(options: { cursor?: string; limit?: number } = {}) {
    const page = await getRuntime().store.query<Stored>({
      ...Keys.platforms(),
      cursor: options.cursor,
      limit: options.limit,
    });
    return { items: page.items.map(toInfo), nextCursor: page.nextCursor };
  }

  /** The full connection settings, password included, for server-side use only. */
  export async function settings(id: string): Promise<DatabaseSettings> {
    const item = await load(id);
    return settingsOf(item);
  }

  async function settingsOf(item: Stored): Promise<DatabaseSettings> {
    const password = await getRuntime().secrets.get(SecretName.platformPassword(item.id));
    if (password === null) {
      throw new AppError(
        "platform_password_missing",
        `The database password of platform ${item.name} is missing. Edit the platform and enter it again.`,
      );
    }
    return { ...item.database, password };
  }

  export async function update(id: string, input: Update): Promise<Info> {
    const { store, secrets, pools, now } = getRuntime();
    const data = Update.parse(input);
    const item = await load(id);
    assertVersion("platform", data.version, item.version);
    const current = await settingsOf(item);
    const merged = Database.parse({ ...current, ...data.database });
    if (data.database?.ssl && data.database.ssl !== "verify-full" && data.database.caPem === undefined) {
      merged.caPem = undefined;
    }
    if (data.database?.password === undefined) assertSameServer(item.database, merged);
    const databaseChanged = JSON.stringify(merged) !== JSON.stringify(Database.parse(current));
    const result = databaseChanged ? await checkDify(merged) : item.check;
    const { password, ...database } = merged;
    const next = await store.replace<Stored>(
      {
        ...item,
        name: data.name ?? item.name,
        kind: data.kind ?? item.kind,
        database,
        check: result,
        updatedAt: now().toISOString(),
      },
      item.version,
    );
    if (password !== current.password) await secrets.put(SecretName.platformPassword(id), password);
    if (databaseChanged) await pools.close(id);
    await Audit.record(
      "platform.update",
      { type: "platform", id },
      {
        fields: Object.keys(data).filter((field) => field !== "version"),
        passwordChanged: password !== current.password,
      },
    );
    return toInfo(next);
  }

  const SSL_STRENGTH = { disable: 0, require: 1, "verify-full": 2 } as const;

  /**
   * The stored password goes only to the server it was saved for, checked as strictly as then: a
   * new host, port, database or user, a weaker SSL mode or another CA needs the password again.
   */
  function assertSameServer(saved: Stored["database"], next: DatabaseSettings) {
    const changed: string[] = (["host", "port", "database", "user"] as const).filter(
      (field) => saved[field] !== next[field],
    );
    if (SSL_STRENGTH[next.ssl] < SSL_STRENGTH[saved.ssl]) changed.push("ssl");
    if (next.caPem !== undefined && next.caPem !== saved.caPem) changed.push("caPem");
    if (changed.length === 0) return;
    throw new AppError(
      "password_required",
      `Enter the database password again to change ${changed.join(", ")}: the stored password is only sent to the server it was saved for.`,
      { details: [{ path: "database.password", message: "Required when the server changes" }] },
    );
  }

  /** Runs the check again with the stored settings and keeps its result. */
  export async function recheck(id: string): Promise<Info> {
    const { store, now } = getRuntime();
    const item = await load(id);
    const result = await checkDify(await settingsOf(item));
    await store.patch(key(id), { check: result, updatedAt: now().toISOString() });
    await Audit.record(
      "platform.check",
      { type: "platform", id },
      { ok: result.ok, code: result.ok ? undefined : result.code },
    );
    return toInfo({ ...item, check: result });
  }

  export async function remove(id: string): Promise<void> {
    const { store, secrets, pools } = getRuntime();
    const item = await load(id);
    const grants = await store.query({ ...Keys.platformGrants(id), limit: 1 });
    if (grants.items.length > 0) {
      throw new AppError(
        "platform_in_use",
        `Platform ${item.name} still has spaces with access to instances. Remove that access first.`,
      );
    }
    await store.delete(key(id));
    await secrets.delete(SecretName.platformPassword(id));
    await pools.close(id);
    await Audit.record("platform.delete", { type: "platform", id }, { name: item.name });
  }

  /** Runs `work` on the platform's pool; database failures become the check's codes. */
  export async function withDatabase<T>(
    id: string,
    databaseSettings: DatabaseSettings,
    work: (pool: import("pg").Pool) => Promise<T>,
  ): Promise<T> {
    try {
      return await work(getRuntime().pools.get(id, databaseSettings));
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw classifyPgError(error, databaseSettings);
    }
  }

  export async function spaces(id: string, query: z.input<typeof SpacesQuery>) {
    const q = SpacesQuery.parse(query);
    return withDatabase(id, await settings(id), (pool) => listSpaces(pool, q));
  }

  export async function space(id: string, spaceId: string): Promise<Space> {
    const found = await withDatabase(id, await settings(id), (pool) => getSpace(pool, spaceId));
    if (!found) throw notFound("Space", spaceId);
    return found;
  }

  /** The given spaces as Dify has them now; 404 naming every id that is not a space of the platform. */
  export async function spacesByIds(id: string, spaceIds: string[]): Promise<Map<string, Space>> {
    const found = await withDatabase(id, await settings(id), (pool) => getSpaces(pool, spaceIds));
    const byId = new Map(found.map((space) => [space.id, space]));
    const missing = spaceIds.filter((spaceId) => !byId.has(spaceId));
    if (missing.length > 0) {
      throw new AppError("not_found", `No space ${missing.join(", ")} in this platform's Dify.`, {
        details: { spaceIds: missing },
      });
    }
    return byId;
  }
}
