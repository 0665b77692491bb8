import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { AppError, conflict } from "../errors";

/**
 * One DynamoDB table holds everything. Keys (pk / sk, and GSI1 gsi1pk / gsi1sk where noted):
 *
 * | item                | pk                    | sk                          | gsi1pk               | gsi1sk     |
 * | ------------------- | --------------------- | --------------------------- | -------------------- | ---------- |
 * | admin login         | ADMIN                 | PASSWORD                    |                      |            |
 * | platform            | PLATFORM              | plt_…                       |                      |            |
 * | instance            | INSTANCE              | ins_…                       | IDENT#<identifier>*  |            |
 * | identifier claim    | IDENT#<identifier>    | IDENT                       |                      |            |
 * | access grant        | GRANT#ins_…           | plt_…#<spaceId>             | SPACE#plt_…#<space>  | ins_…      |
 * | token index         | TOKEN#<sha256 hex>    | TOKEN                       |                      |            |
 * | signed-out session  | SESSION#<session id>  | REVOKED (ttl: its expiry)   |                      |            |
 * | sync job            | JOB                   | job_…                       |                      |            |
 * | sync job item       | JOB#job_…             | ITEM#ins_…#plt_…#<spaceId>  |                      |            |
 * | audit event         | AUDIT                 | <ISO time>#aud_…            |                      |            |
 *
 * Ids are time-sortable, so a query on a collection's pk lists it oldest first (or newest first
 * with `reverse`). Every write is a single-item conditional write; entities carry a `version`
 * that each update checks and bumps (optimistic concurrency, a stale update is a 409 `conflict`).
 * Items with a `ttl` attribute (epoch seconds) expire.
 */
export interface Key {
  pk: string;
  sk: string;
}

export type Item = Key;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface QueryOptions {
  pk: string;
  index?: "gsi1";
  skPrefix?: string;
  limit?: number;
  cursor?: string | null;
  reverse?: boolean;
  filter?: { expression: string; names?: Record<string, string>; values?: Record<string, unknown> };
}

export const GSI1 = "gsi1";

export class Store {
  readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    readonly table: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async get<T extends Item>(key: Key, options: { consistent?: boolean } = {}): Promise<T | null> {
    const result = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: key.pk, sk: key.sk },
        ConsistentRead: options.consistent,
      }),
    );
    return (result.Item as T | undefined) ?? null;
  }

  async batchGet<T extends Item>(keys: Key[]): Promise<T[]> {
    const found: T[] = [];
    for (let start = 0; start < keys.length; start += 100) {
      let request: Record<string, { Keys: Record<string, unknown>[] }> | undefined = {
        [this.table]: { Keys: keys.slice(start, start + 100).map(({ pk, sk }) => ({ pk, sk })) },
      };
      while (request && Object.keys(request).length > 0) {
        const result = await this.doc.send(new BatchGetCommand({ RequestItems: request }));
        found.push(...((result.Responses?.[this.table] as T[] | undefined) ?? []));
        request = result.UnprocessedKeys as typeof request;
      }
    }
    return found;
  }

  /** Writes a new item; answers 409 `conflict` when one with the same key exists. */
  async create<T extends Item>(item: T, message = "It already exists."): Promise<T> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item as Record<string, unknown>,
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return item;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw conflict(message);
      throw error;
    }
  }

  /** Writes an item unconditionally (for items no one else edits, such as audit events). */
  async put<T extends Item>(item: T): Promise<T> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: item as Record<string, unknown> }));
    return item;
  }

  /**
   * Replaces an entity if its stored version is still `expectedVersion`, bumping the version.
   * A stale write answers 409 `conflict` and changes nothing.
   */
  async replace<T extends Item & { version: number }>(item: T, expectedVersion: number): Promise<T> {
    const next = { ...item, version: expectedVersion + 1 };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: next as unknown as Record<string, unknown>,
          ConditionExpression: "#version = :expected",
          ExpressionAttributeNames: { "#version": "version" },
          ExpressionAttributeValues: { ":expected": expectedVersion },
        }),
      );
      return next;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw conflict("It was changed by someone else since it was read. Reload it and try again.", {
          expectedVersion,
        });
      }
      throw error;
    }
  }

  /**
   * Sets attributes of an existing item without a version check (counters, timestamps, statuses).
   * Returns the item as it was before, or null when it does not exist or the condition failed.
   */
  async patch(
    key: Key,
    set: Record<string, unknown>,
    options: {
      add?: Record<string, number>;
      condition?: string;
      names?: Record<string, string>;
      values?: Record<string, unknown>;
    } = {},
  ): Promise<Record<string, unknown> | null> {
    const names: Record<string, string> = { ...options.names };
    const values: Record<string, unknown> = { ...options.values };
    const sets: string[] = [];
    const adds: string[] = [];
    Object.entries(set).forEach(([name, value], index) => {
      names[`#s${index}`] = name;
      values[`:s${index}`] = value;
      sets.push(`#s${index} = :s${index}`);
    });
    Object.entries(options.add ?? {}).forEach(([name, value], index) => {
      names[`#a${index}`] = name;
      values[`:a${index}`] = value;
      adds.push(`#a${index} :a${index}`);
    });
    const expression = [
      sets.length ? `SET ${sets.join(", ")}` : "",
      adds.length ? `ADD ${adds.join(", ")}` : "",
    ]
      .filter(Boolean)
      .join(" ");
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: key.pk, sk: key.sk },
          UpdateExpression: expression,
          ConditionExpression: ["attribute_exists(pk)", options.condition].filter(Boolean).join(" AND "),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_OLD",
        }),
      );
      return (result.Attributes as Record<string, unknown> | undefined) ?? null;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
  }

  async delete(
    key: Key,
    options: { condition?: string; names?: Record<string, string>; values?: Record<string, unknown> } = {},
  ) {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: key.pk, sk: key.sk },
          ConditionExpression: options.condition,
          ExpressionAttributeNames: options.names,
          ExpressionAttributeValues: options.values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** One page of a collection. `cursor` is the opaque `nextCursor` of the page before. */
  async query<T extends Item>(options: QueryOptions): Promise<Page<T>> {
    const pkName = options.index ? "gsi1pk" : "pk";
    const skName = options.index ? "gsi1sk" : "sk";
    const input: QueryCommandInput = {
      TableName: this.table,
      IndexName: options.index ? GSI1 : undefined,
      KeyConditionExpression: options.skPrefix ? "#pk = :pk AND begins_with(#sk, :sk)" : "#pk = :pk",
      ExpressionAttributeNames: {
        "#pk": pkName,
        ...(options.skPrefix ? { "#sk": skName } : {}),
        ...options.filter?.names,
      },
      ExpressionAttributeValues: {
        ":pk": options.pk,
        ...(options.skPrefix ? { ":sk": options.skPrefix } : {}),
        ...options.filter?.values,
      },
      FilterExpression: options.filter?.expression,
      ScanIndexForward: !options.reverse,
      ExclusiveStartKey: decodeCursor(options.cursor, options),
    };
    const limit = options.limit ?? 50;
    const items: T[] = [];
    let lastKey: Record<string, unknown> | undefined;
    // A filter can leave a page short: keep reading until the page is full or the collection ends.
    do {
      const result = await this.doc.send(new QueryCommand({ ...input, Limit: limit - items.length }));
      items.push(...((result.Items as T[] | undefined) ?? []));
      lastKey = result.LastEvaluatedKey;
      input.ExclusiveStartKey = lastKey;
    } while (lastKey && items.length < limit);
    return { items, nextCursor: lastKey ? encodeCursor(lastKey) : null };
  }

  /** Every item of a collection (for small collections and background work). */
  async *all<T extends Item>(options: Omit<QueryOptions, "cursor" | "limit">): AsyncGenerator<T> {
    let cursor: string | null = null;
    do {
      const page: Page<T> = await this.query<T>({ ...options, cursor, limit: 100 });
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor);
  }
}

function encodeCursor(key: Record<string, unknown>) {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/**
 * A cursor is read back only as a start key of the same query: exactly the key attributes that
 * query's index gives out, in its partition and under its sort key prefix. Anything else would make
 * DynamoDB refuse the query, or start it somewhere the caller was never shown.
 */
function decodeCursor(
  cursor: string | null | undefined,
  query: Pick<QueryOptions, "pk" | "index" | "skPrefix">,
): Record<string, string> | undefined {
  if (!cursor) return undefined;
  const names = query.index ? ["pk", "sk", "gsi1pk", "gsi1sk"] : ["pk", "sk"];
  const [pkName, skName] = query.index ? ["gsi1pk", "gsi1sk"] : ["pk", "sk"];
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {}
  if (
    key !== null &&
    typeof key === "object" &&
    !Array.isArray(key) &&
    Object.keys(key).length === names.length &&
    names.every((name) => typeof (key as Record<string, unknown>)[name] === "string") &&
    (key as Record<string, string>)[pkName] === query.pk &&
    (key as Record<string, string>)[skName]!.startsWith(query.skPrefix ?? "")
  ) {
    return key as Record<string, string>;
  }
  throw new AppError("invalid_cursor", "The cursor is not one this API gave out. Start again without it.", {
    details: [{ path: "cursor", message: "Unknown cursor" }],
  });
}

export { DynamoDBClient };
