import { z } from "zod";
import { AppError } from "../errors";
import { isUsablePublicKey } from "./encrypt-token";
import type { Queryable } from "./schema";

/** A Dify tenant as Spacegate shows it. `reason` says why Spacegate cannot write to it. */
export const Space = z.object({
  id: z.uuid(),
  name: z.string(),
  status: z.string().describe("Dify's tenant status: normal or archive"),
  owner: z
    .object({ name: z.string(), email: z.string() })
    .nullable()
    .describe("Active owner, else an active admin"),
  canEncrypt: z.boolean(),
  reason: z.enum(["archived", "key_not_pem"]).optional(),
});
export type Space = z.infer<typeof Space>;

export const SpacePage = z.object({ items: z.array(Space), nextCursor: z.string().nullable() });
export type SpacePage = z.infer<typeof SpacePage>;

type SpaceRow = {
  id: string;
  name: string;
  status: string;
  encrypt_public_key: string | null;
  owner_name: string | null;
  owner_email: string | null;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// The owner shown is the one the provider rows are written for: the active owner, else an active admin.
const SELECT_SPACES = `
  SELECT t.id, t.name, t.status, t.encrypt_public_key, o.name AS owner_name, o.email AS owner_email
    FROM tenants t
    LEFT JOIN LATERAL (
      SELECT a.name, a.email
        FROM tenant_account_joins j
        JOIN accounts a ON a.id = j.account_id
       WHERE j.tenant_id = t.id AND j.role IN ('owner', 'admin') AND a.status = 'active'
       ORDER BY j.role = 'owner' DESC, j.created_at, a.id
       LIMIT 1
    ) o ON true`;

const toSpace = (row: SpaceRow): Space => {
  const space = {
    id: row.id,
    name: row.name,
    status: row.status,
    owner: row.owner_email === null ? null : { name: row.owner_name ?? "", email: row.owner_email },
  };
  if (row.status !== "normal") return { ...space, canEncrypt: false, reason: "archived" };
  if (!isUsablePublicKey(row.encrypt_public_key))
    return { ...space, canEncrypt: false, reason: "key_not_pem" };
  return { ...space, canEncrypt: true };
};

const encodeCursor = (row: SpaceRow) => Buffer.from(JSON.stringify([row.name, row.id])).toString("base64url");

const decodeCursor = (cursor: string): [string, string] => {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === "string" &&
      // PostgreSQL text holds no NUL: such a name could never have come from Dify.
      !value[0].includes("\u0000") &&
      typeof value[1] === "string" &&
      UUID.test(value[1])
    )
      return [value[0], value[1]];
  } catch {}
  throw new AppError("invalid_cursor", "This page cursor is not valid. Start again from the first page.");
};

const likePattern = (search: string) => `%${search.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;

/**
 * One page of a Dify installation's spaces, ordered by name. `search` matches a part of the name or
 * of the owner's email, ignoring case.
 */
export async function listSpaces(
  db: Queryable,
  options: { search?: string; cursor?: string; limit?: number } = {},
): Promise<SpacePage> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 50) || 50, 1), 200);
  const search = options.search?.trim() ? likePattern(options.search.trim()) : null;
  const [afterName, afterId] = options.cursor ? decodeCursor(options.cursor) : [null, null];

  const { rows } = await db.query<SpaceRow>(
    `${SELECT_SPACES}
      WHERE ($1::text IS NULL OR t.name ILIKE $1 OR o.email ILIKE $1)
        AND ($2::text IS NULL OR (t.name, t.id) > ($2::text, $3::uuid))
      ORDER BY t.name, t.id
      LIMIT $4`,
    [search, afterName, afterId, limit + 1],
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(toSpace), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

/** One space by its tenant id, or null when there is no such tenant. */
export async function getSpace(db: Queryable, spaceId: string): Promise<Space | null> {
  if (!UUID.test(spaceId)) return null;
  const { rows } = await db.query<SpaceRow>(`${SELECT_SPACES} WHERE t.id = $1`, [spaceId]);
  return rows[0] ? toSpace(rows[0]) : null;
}

/** The spaces among `spaceIds` that exist, in one query; ids that are not uuids are left out. */
export async function getSpaces(db: Queryable, spaceIds: string[]): Promise<Space[]> {
  const ids = spaceIds.filter((id) => UUID.test(id));
  if (ids.length === 0) return [];
  const { rows } = await db.query<SpaceRow>(`${SELECT_SPACES} WHERE t.id = ANY($1::uuid[])`, [ids]);
  return rows.map(toSpace);
}
