import { z } from "zod";
import { Actor } from "./actor";
import { createId } from "./id";
import { Roles } from "./roles";
import { getRuntime } from "./runtime";
import { Filter } from "./store";
import { Keys } from "./store/keys";

export namespace Audit {
  /** What an event is about: events are recorded with these types, and the list filters by them. */
  export const TargetType = z.enum(["platform", "instance", "access", "sync", "key", "session"]);
  export type TargetType = z.infer<typeof TargetType>;

  export const Event = z.object({
    id: z.string(),
    at: z.string(),
    actor: z.object({
      type: z.enum(["admin", "system"]),
      /** `admin` for the password, the issuer's subject for single sign-on, or the system part. */
      id: z.string(),
      email: z.string().optional(),
      name: z.string().optional(),
      role: Roles.Role.optional(),
      ip: z.string().optional(),
    }),
    action: z.string(),
    /** `name`: what the target was called when the event was recorded (a space's name, say). */
    target: z.object({ type: TargetType, id: z.string(), name: z.string().optional() }),
    details: z.record(z.string(), z.unknown()).optional(),
  });
  export type Event = z.infer<typeof Event>;

  export const ListQuery = z.object({
    action: z.string().max(100).optional(),
    /** Who acted: an e-mail address, or a subject (`admin` for the password). */
    actor: z.string().min(1).max(320).optional(),
    targetType: TargetType.optional(),
    targetId: z.string().max(200).optional(),
    since: z.iso.datetime().optional(),
    until: z.iso.datetime().optional(),
    cursor: z.string().max(2000).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  });

  /**
   * Records an admin write. `details` holds ids, names and flags only: callers never pass a
   * password, credential or header value.
   */
  export async function record(
    action: string,
    target: { type: TargetType; id: string; name?: string },
    details?: Record<string, unknown>,
  ): Promise<Event> {
    const { store, now } = getRuntime();
    const at = now().toISOString();
    const id = createId("aud", now().getTime());
    const event: Event = { id, at, actor: Actor.current(), action, target, details };
    await store.put({ ...Keys.audit(at, id), ...event });
    return event;
  }

  export async function list(query: z.input<typeof ListQuery>) {
    const { store } = getRuntime();
    const q = ListQuery.parse(query);
    const filter = [
      q.action === undefined ? null : Filter.equals("action", q.action),
      q.actor === undefined
        ? null
        : Filter.equals(q.actor.includes("@") ? "actor.email" : "actor.id", q.actor),
      q.targetType === undefined ? null : Filter.equals("target.type", q.targetType),
      q.targetId === undefined ? null : Filter.equals("target.id", q.targetId),
      q.since === undefined ? null : Filter.atLeast("at", q.since),
      q.until === undefined ? null : Filter.atMost("at", q.until),
    ].filter((test) => test !== null);
    const page = await store.query<Event & { pk: string; sk: string }>({
      ...Keys.auditLog(),
      reverse: true,
      limit: q.limit,
      cursor: q.cursor,
      filter,
    });
    return { items: page.items.map((item) => Event.parse(item)), nextCursor: page.nextCursor };
  }
}
