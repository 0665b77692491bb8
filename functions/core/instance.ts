import { gunzipSync, gzipSync } from "node:zlib";
import { z } from "zod";
import { Audit } from "./audit";
import { ErrorCode } from "./error-code";
import { AppError, assertVersion, isAppError, notFound } from "./errors";
import {
  MaskedHeaders,
  maskHeaders,
  openHeaders,
  type SealedHeaders,
  sealHeaders,
  updateHeaders,
} from "./headers";
import { createId, idPattern } from "./id";
import { discoverTools, ToolsSnapshot } from "./mcp/discover";
import { type IdentitySettings, identityOff, type RateLimits, type ToolList } from "./policy";
import { getRuntime } from "./runtime";
import { InstanceInput } from "./schemas";
import { Keys } from "./store/keys";
import { type StreamSettings, streamsOf } from "./streams";

export namespace Instance {
  export const Transport = InstanceInput.Transport;
  export const Identifier = InstanceInput.Identifier;
  export const Icon = InstanceInput.Icon;
  export const Timeouts = InstanceInput.Timeouts;
  export const Upstream = InstanceInput.Upstream;
  export const Streams = InstanceInput.Streams;
  export const ForwardHeaders = InstanceInput.ForwardHeaders;
  export const Tools = InstanceInput.Tools;
  export const Limits = InstanceInput.Limits;
  export const Identity = InstanceInput.Identity;
  export const Create = InstanceInput.Create;
  export type Create = z.input<typeof Create>;
  export const Update = InstanceInput.Update;
  export type Update = z.input<typeof Update>;

  export const Discovery = z.union([
    z.object({ ok: z.literal(true), at: z.string(), toolCount: z.number() }),
    z.object({ ok: z.literal(false), at: z.string(), code: ErrorCode, message: z.string() }),
  ]);
  export type Discovery = z.infer<typeof Discovery>;

  export const Info = z.object({
    id: z.string(),
    name: z.string(),
    identifier: z.string(),
    identifierLocked: z.boolean(),
    description: z.string(),
    upstream: Upstream,
    gatewayUrl: z.string().describe("The URL written into Dify: the gateway, for this instance."),
    headers: MaskedHeaders,
    icon: z.object({ emoji: z.string(), background: z.string() }),
    timeouts: z.object({ timeout: z.number(), sseReadTimeout: z.number() }),
    enabled: z.boolean(),
    streams: Streams,
    forwardHeaders: z.array(z.string()),
    tools: z.array(z.string()).nullable(),
    limits: z.object({ callsPerMinute: z.number().nullable(), concurrent: z.number().nullable() }),
    identity: z.object({
      mode: z.enum(["off", "forward", "verify"]),
      header: z.string(),
      bearer: z.boolean(),
      issuer: z.string().nullable(),
      audience: z.string().nullable(),
      jwksUrl: z.string().nullable(),
      claimHeaders: z.record(z.string(), z.string()),
    }),
    discovery: Discovery.nullable(),
    server: z.object({ name: z.string(), version: z.string(), protocolVersion: z.string() }).nullable(),
    toolCount: z.number(),
    spaceCount: z.number(),
    version: z.number(),
    createdAt: z.string(),
    updatedAt: z.string(),
  });
  export type Info = z.infer<typeof Info>;

  export const Id = z.string().regex(idPattern("ins"), "Not an instance id");

  /** An instance as stored. Header values are sealed; the tools snapshot is a separate item. */
  export interface Stored {
    pk: string;
    sk: string;
    id: string;
    name: string;
    identifier: string;
    description: string;
    upstream: z.infer<typeof Upstream>;
    headers: SealedHeaders;
    icon: { emoji: string; background: string };
    timeouts: { timeout: number; sseReadTimeout: number };
    enabled: boolean;
    streams?: StreamSettings;
    /** Items stored before `streams`: whether GET streams went through on Lambda. */
    streamGet?: boolean;
    forwardHeaders?: string[];
    tools?: ToolList;
    limits?: RateLimits;
    identity?: IdentitySettings;
    discovery: Discovery | null;
    server: Info["server"];
    toolCount: number;
    spaceCount?: number;
    firstSyncedAt?: string;
    version: number;
    createdAt: string;
    updatedAt: string;
  }

  const key = Keys.instance;
  export const keyOf = key;
  const identKey = Keys.identifier;
  const toolsKey = Keys.instanceTools;

  /** The URL Dify is given for an instance: the gateway, ending in /mcp or /sse as Dify expects. */
  export function gatewayUrl(instance: Pick<Stored, "id" | "upstream">): string {
    const leaf = instance.upstream.transport === "sse" ? "sse" : "mcp";
    return `${getRuntime().config.publicUrl}/gateway/${instance.id}/${leaf}`;
  }

  export function toInfo(item: Stored): Info {
    return {
      id: item.id,
      name: item.name,
      identifier: item.identifier,
      identifierLocked: Boolean(item.firstSyncedAt),
      description: item.description,
      upstream: item.upstream,
      gatewayUrl: gatewayUrl(item),
      headers: maskHeaders(item.headers),
      icon: item.icon,
      timeouts: item.timeouts,
      enabled: item.enabled,
      streams: streamsOf(item),
      forwardHeaders: item.forwardHeaders ?? [],
      tools: item.tools ?? null,
      limits: item.limits ?? { callsPerMinute: null, concurrent: null },
      identity: item.identity ?? identityOff,
      discovery: item.discovery,
      server: item.server,
      toolCount: item.toolCount,
      spaceCount: item.spaceCount ?? 0,
      version: item.version,
      createdAt: item.createdAt,
      updatedAt: item.updatedAt,
    };
  }

  /** Dify's identifier rule from a display name: "GitHub Issues!" becomes "github-issues". */
  export function identifierFrom(name: string): string {
    const slug = name
      .normalize("NFKD")
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 24)
      .replace(/-+$/, "");
    return slug || "mcp";
  }

  async function claimIdentifier(identifier: string, instanceId: string, explicit: boolean): Promise<string> {
    const { store } = getRuntime();
    for (let attempt = 0; attempt < 20; attempt++) {
      const suffix = attempt === 0 ? "" : `-${attempt + 1}`;
      const candidate = `${identifier.slice(0, 24 - suffix.length)}${suffix}`;
      try {
        await store.create({ ...identKey(candidate), instanceId });
        return candidate;
      } catch (error) {
        if (!isAppError(error) || error.code !== "conflict") throw error;
        if (explicit) {
          throw new AppError(
            "identifier_taken",
            `Another instance already uses the identifier ${identifier}. Choose another.`,
            {
              details: [{ path: "identifier", message: "Already in use" }],
            },
          );
        }
      }
    }
    throw new AppError("identifier_taken", "No free identifier could be derived from the name. Give one.");
  }

  export async function create(input: Create): Promise<Info> {
    const { store, now } = getRuntime();
    const data = Create.parse(input);
    const id = createId("ins", now().getTime());
    const identifier = await claimIdentifier(
      data.identifier ?? identifierFrom(data.name),
      id,
      data.identifier !== undefined,
    );
    const at = now().toISOString();
    const item: Stored = {
      ...key(id),
      id,
      name: data.name,
      identifier,
      description: data.description,
      upstream: data.upstream,
      headers: await sealHeaders(data.headers),
      icon: data.icon,
      timeouts: data.timeouts,
      enabled: data.enabled,
      streams: data.streams,
      forwardHeaders: data.forwardHeaders,
      tools: data.tools,
      limits: data.limits,
      identity: data.identity,
      discovery: null,
      server: null,
      toolCount: 0,
      version: 1,
      createdAt: at,
      updatedAt: at,
    };
    try {
      await store.create(item);
    } catch (error) {
      await store.delete(identKey(identifier));
      throw error;
    }
    let info: Info;
    try {
      info = await discover(id, { audit: false });
    } catch (error) {
      // Discovery reports its own failures; anything else leaves no half-made instance behind.
      await store.delete(toolsKey(id));
      await store.delete(key(id));
      await store.delete(identKey(identifier));
      throw error;
    }
    await Audit.record("instance.create", { type: "instance", id }, { name: data.name, identifier });
    return info;
  }

  export async function load(id: string): Promise<Stored> {
    const item = Id.safeParse(id).success
      ? await getRuntime().store.get<Stored>(key(id), { consistent: true })
      : null;
    if (!item) throw notFound("Instance", id);
    return item;
  }

  export async function get(id: string): Promise<Info> {
    return toInfo(await load(id));
  }

  export async function list(options: { cursor?: string; limit?: number } = {}) {
    const page = await getRuntime().store.query<Stored>({
      ...Keys.instances(),
      cursor: options.cursor,
      limit: options.limit,
    });
    return { items: page.items.map(toInfo), nextCursor: page.nextCursor };
  }

  /** What changed in an update that Dify's copy of the provider shows (name, icon, URL, timeouts). */
  export type Change =
    | "name"
    | "identifier"
    | "icon"
    | "upstream"
    | "timeouts"
    | "headers"
    | "enabled"
    | "tools"
    | "identity"
    | "other";

  /** The changes Dify's copy of the provider shows: every space it is in must get the new version. */
  const SHOWN_IN_DIFY: ReadonlySet<Change> = new Set([
    "name",
    "identifier",
    "icon",
    "upstream",
    "timeouts",
    "tools",
    "identity",
  ]);
  export const showsInDify = (changes: Change[]) => changes.some((change) => SHOWN_IN_DIFY.has(change));

  /** Edits the instance's own record; Sync.updateInstance also carries what Dify shows into Dify. */
  export async function update(id: string, input: Update): Promise<{ info: Info; changes: Change[] }> {
    const { store, now } = getRuntime();
    const data = Update.parse(input);
    const item = await load(id);
    assertVersion("instance", data.version, item.version);
    const changes: Change[] = [];
    const differs = (a: unknown, b: unknown) => a !== undefined && JSON.stringify(a) !== JSON.stringify(b);
    if (differs(data.name, item.name)) changes.push("name");
    if (differs(data.icon, item.icon)) changes.push("icon");
    if (differs(data.upstream, item.upstream)) changes.push("upstream");
    if (differs(data.timeouts, item.timeouts)) changes.push("timeouts");
    if (data.headers) changes.push("headers");
    if (differs(data.enabled, item.enabled)) changes.push("enabled");
    if (data.tools !== undefined && differs(data.tools, item.tools ?? null)) changes.push("tools");
    if (data.identity && (data.identity.mode !== "off") !== ((item.identity?.mode ?? "off") !== "off"))
      changes.push("identity");

    let identifier = item.identifier;
    if (data.identifier !== undefined && data.identifier !== item.identifier) {
      if (item.firstSyncedAt) {
        throw new AppError(
          "identifier_locked",
          "The identifier cannot change once the instance has been synced: Dify apps refer to its tools by it.",
          { details: [{ path: "identifier", message: "Fixed after the first sync" }] },
        );
      }
      identifier = await claimIdentifier(data.identifier, id, true);
      changes.push("identifier");
    }

    let next: Stored;
    try {
      next = await store.replace<Stored>(
        {
          ...item,
          name: data.name ?? item.name,
          identifier,
          description: data.description ?? item.description,
          upstream: data.upstream ?? item.upstream,
          headers: data.headers ? await updateHeaders(item.headers, data.headers) : item.headers,
          icon: data.icon ?? item.icon,
          timeouts: data.timeouts ?? item.timeouts,
          enabled: data.enabled ?? item.enabled,
          streams: data.streams ?? streamsOf(item),
          forwardHeaders: data.forwardHeaders ?? item.forwardHeaders ?? [],
          tools: data.tools !== undefined ? data.tools : (item.tools ?? null),
          limits: data.limits ?? item.limits,
          identity: data.identity ?? item.identity,
          updatedAt: now().toISOString(),
        },
        item.version,
      );
    } catch (error) {
      if (identifier !== item.identifier) await store.delete(identKey(identifier));
      throw error;
    }
    if (identifier !== item.identifier) await store.delete(identKey(item.identifier));
    await Audit.record(
      "instance.update",
      { type: "instance", id },
      { fields: Object.keys(data).filter((f) => f !== "version") },
    );
    return { info: toInfo(next), changes };
  }

  export async function remove(id: string): Promise<void> {
    const { store } = getRuntime();
    const item = await load(id);
    const grants = await store.query({ ...Keys.grants(id), limit: 1 });
    if (grants.items.length > 0) {
      throw new AppError(
        "instance_in_use",
        `Instance ${item.name} still has access in some spaces. Remove that access first.`,
      );
    }
    await store.delete(key(id));
    await store.delete(toolsKey(id));
    await store.delete(identKey(item.identifier));
    await Audit.record("instance.delete", { type: "instance", id }, { name: item.name });
  }

  /** The instance's default headers in plain text, for discovery and the gateway. */
  export async function headersOf(item: Stored) {
    return openHeaders(item.headers);
  }

  /**
   * Connects to the upstream, lists its tools and keeps the snapshot. A failure is stored as the
   * instance's discovery state and returned, not thrown, so the admin sees it beside the instance.
   */
  export async function discover(id: string, options: { audit?: boolean } = {}): Promise<Info> {
    const { store, now } = getRuntime();
    const item = await load(id);
    let discovery: Discovery;
    let snapshot: ToolsSnapshot | null = null;
    try {
      snapshot = await discoverTools(item.upstream, {
        headers: await headersOf(item),
        timeoutMs: item.timeouts.timeout * 1000,
      });
      await saveTools(id, snapshot);
      discovery = { ok: true, at: now().toISOString(), toolCount: snapshot.tools.length };
    } catch (error) {
      if (!isAppError(error)) throw error;
      snapshot = null;
      discovery = { ok: false, at: now().toISOString(), code: error.code, message: error.message };
    }
    const set: Record<string, unknown> = { discovery };
    if (snapshot) {
      set.toolCount = snapshot.tools.length;
      set.server = {
        name: snapshot.serverName,
        version: snapshot.serverVersion,
        protocolVersion: snapshot.protocolVersion,
      };
    }
    await store.patch(key(id), set);
    if (options.audit !== false) {
      await Audit.record(
        "instance.discover",
        { type: "instance", id },
        { ok: discovery.ok, toolCount: snapshot?.tools.length },
      );
    }
    return toInfo({ ...item, ...(set as Partial<Stored>) });
  }

  async function saveTools(id: string, snapshot: ToolsSnapshot) {
    const packed = gzipSync(JSON.stringify(snapshot));
    if (packed.length > 350_000) {
      throw new AppError(
        "tools_too_large",
        "The upstream's tool list is too large to keep (over 350 KB compressed).",
      );
    }
    await getRuntime().store.put({ ...toolsKey(id), snapshot: packed });
  }

  /** The last discovered tools, or null if discovery never succeeded. */
  export async function tools(id: string): Promise<ToolsSnapshot | null> {
    await load(id);
    const item = await getRuntime().store.get<{ pk: string; sk: string; snapshot: Uint8Array }>(toolsKey(id));
    if (!item) return null;
    return ToolsSnapshot.parse(JSON.parse(gunzipSync(item.snapshot).toString("utf8")));
  }

  /** Keeps a freshly discovered snapshot (the sync and the refresh discover once per instance). */
  export async function keepTools(id: string, snapshot: ToolsSnapshot) {
    const { store, now } = getRuntime();
    await saveTools(id, snapshot);
    await store.patch(key(id), {
      discovery: { ok: true, at: now().toISOString(), toolCount: snapshot.tools.length },
      toolCount: snapshot.tools.length,
      server: {
        name: snapshot.serverName,
        version: snapshot.serverVersion,
        protocolVersion: snapshot.protocolVersion,
      },
    });
  }
}
