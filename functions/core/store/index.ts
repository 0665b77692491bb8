import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { AppError, conflict } from "../errors";
import type { Collection, Key } from "./keys";

/**
 * The only code that knows DynamoDB. One table holds everything; ./keys.ts spells every key and
 * tables them. Domain modules ask with keys, collections, typed conditions (`ifAbsent()`,
 * `ifStatusIn(…)`, `ifMissing(…)`) and filters (`Filter.equals(…)`), never with expressions.
 *
 * Every single-item write may carry a condition; entities carry a `version` that each `replace`
 * checks and bumps (optimistic concurrency, a stale update is a 409 `conflict`). `putMany` writes
 * up to 25 items per request (BatchWriteItem) without conditions, for items no one else writes
 * yet. Items with a `ttl` attribute (epoch seconds) expire.
 */
export type { Collection, Key };

export type Item = Key;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** When a single-item write may happen. */
export type Condition =
  | { kind: "absent" }
  | { kind: "in"; attribute: string; values: readonly (string | number | boolean)[] }
  | { kind: "missing"; attribute: string };

/** The item does not exist yet. */
export const ifAbsent = (): Condition => ({ kind: "absent" });
/** The item's `status` is one of these. */
export const ifStatusIn = (...statuses: string[]): Condition => ({
  kind: "in",
  attribute: "status",
  values: statuses,
});
/** The item has no such attribute yet. */
export const ifMissing = (attribute: string): Condition => ({ kind: "missing", attribute });

/** One test on an attribute (a dotted path reaches into maps), for filtering a query. */
export interface Filter {
  path: string;
  op: "=" | ">=" | "<=";
  value: string | number | boolean;
}

export const Filter = {
  equals: (path: string, value: Filter["value"]): Filter => ({ path, op: "=", value }),
  atLeast: (path: string, value: Filter["value"]): Filter => ({ path, op: ">=", value }),
  atMost: (path: string, value: Filter["value"]): Filter => ({ path, op: "<=", value }),
};

export interface QueryOptions extends Collection {
  limit?: number;
  cursor?: string | null;
  reverse?: boolean;
  /** Every filter must hold. */
  filter?: Filter[];
}

export const GSI1 = "gsi1";

/** Names and values of one expression, each placeholder unique within it. */
class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private count = 0;

  name(path: string) {
    return path
      .split(".")
      .map((part) => {
        const placeholder = `#n${this.count++}`;
        this.names[placeholder] = part;
        return placeholder;
      })
      .join(".");
  }

  value(value: unknown) {
    const placeholder = `:v${this.count++}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  condition(condition: Condition): string {
    switch (condition.kind) {
      case "absent":
        return `attribute_not_exists(${this.name("pk")})`;
      case "missing":
        return `attribute_not_exists(${this.name(condition.attribute)})`;
      case "in":
        return `${this.name(condition.attribute)} IN (${condition.values.map((v) => this.value(v)).join(", ")})`;
    }
  }

  filter(filters: Filter[]): string {
    return filters.map((f) => `${this.name(f.path)} ${f.op} ${this.value(f.value)}`).join(" AND ");
  }

  /** The parts for a command, leaving out empty maps (DynamoDB refuses them). */
  attributes() {
    return {
      ExpressionAttributeNames: Object.keys(this.names).length ? this.names : undefined,
      ExpressionAttributeValues: Object.keys(this.values).length ? this.values : undefined,
    };
  }
}

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

  /** The items that exist of these keys, in no particular order, 100 keys per request. */
  async getMany<T extends Item>(keys: Key[], options: { consistent?: boolean } = {}): Promise<T[]> {
    const found: T[] = [];
    for (let start = 0; start < keys.length; start += 100) {
      let request: BatchGetCommandInput["RequestItems"] = {
        [this.table]: {
          Keys: keys.slice(start, start + 100).map(({ pk, sk }) => ({ pk, sk })),
          ConsistentRead: options.consistent,
        },
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
    if (!(await this.put(item, { if: ifAbsent() }))) throw conflict(message);
    return item;
  }

  /**
   * Writes an item whole. Without a condition it always writes (for items no one else edits, such
   * as audit events); with one, it answers false and writes nothing when the condition fails.
   */
  async put<T extends Item>(item: T, options: { if?: Condition } = {}): Promise<T | false> {
    const expression = new Expression();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item as Record<string, unknown>,
          ConditionExpression: options.if ? expression.condition(options.if) : undefined,
          ...expression.attributes(),
        }),
      );
      return item;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Writes many items whole, 25 per request (BatchWriteItem), without conditions: for items whose
   * keys no one else writes (a new job's items, a new credential's index entry).
   */
  async putMany(items: Item[]): Promise<void> {
    for (let start = 0; start < items.length; start += 25) {
      let request: BatchWriteCommandInput["RequestItems"] = {
        [this.table]: items
          .slice(start, start + 25)
          .map((item) => ({ PutRequest: { Item: item as unknown as Record<string, unknown> } })),
      };
      while (request && Object.keys(request).length > 0) {
        const result = await this.doc.send(new BatchWriteCommand({ RequestItems: request }));
        request = result.UnprocessedItems as typeof request;
      }
    }
  }

  /**
   * Replaces an entity if its stored version is still `expectedVersion`, bumping the version.
   * A stale write answers 409 `conflict` and changes nothing.
   */
  async replace<T extends Item & { version: number }>(item: T, expectedVersion: number): Promise<T> {
    const next = { ...item, version: expectedVersion + 1 };
    const expression = new Expression();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: next as unknown as Record<string, unknown>,
          ConditionExpression: `${expression.name("version")} = ${expression.value(expectedVersion)}`,
          ...expression.attributes(),
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
   * Sets attributes of an existing item without a version check (counters, timestamps, statuses),
   * and adds to numbers in `add`. Returns the item as it was before, or null when it does not exist
   * or the condition failed.
   */
  async patch(
    key: Key,
    set: Record<string, unknown>,
    options: { add?: Record<string, number>; if?: Condition } = {},
  ): Promise<Record<string, unknown> | null> {
    const expression = new Expression();
    const sets = Object.entries(set).map(
      ([name, value]) => `${expression.name(name)} = ${expression.value(value)}`,
    );
    const adds = Object.entries(options.add ?? {}).map(
      ([name, value]) => `${expression.name(name)} ${expression.value(value)}`,
    );
    const update = [sets.length ? `SET ${sets.join(", ")}` : "", adds.length ? `ADD ${adds.join(", ")}` : ""]
      .filter(Boolean)
      .join(" ");
    const condition = [`attribute_exists(${expression.name("pk")})`];
    if (options.if) condition.push(expression.condition(options.if));
    try {
      const result = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: key.pk, sk: key.sk },
          UpdateExpression: update,
          ConditionExpression: condition.join(" AND "),
          ...expression.attributes(),
          ReturnValues: "ALL_OLD",
        }),
      );
      return (result.Attributes as Record<string, unknown> | undefined) ?? null;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return null;
      throw error;
    }
  }

  /**
   * Adds to numbers of an item, creating it when it does not exist (counters kept per period), and
   * sets attributes in `set` alongside. Many writers may add to one item at once.
   */
  async increment(key: Key, add: Record<string, number>, set: Record<string, unknown> = {}): Promise<void> {
    const expression = new Expression();
    const sets = Object.entries(set).map(
      ([name, value]) => `${expression.name(name)} = ${expression.value(value)}`,
    );
    const adds = Object.entries(add).map(
      ([name, value]) => `${expression.name(name)} ${expression.value(value)}`,
    );
    const update = [sets.length ? `SET ${sets.join(", ")}` : "", adds.length ? `ADD ${adds.join(", ")}` : ""]
      .filter(Boolean)
      .join(" ");
    if (!update) return;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: update,
        ...expression.attributes(),
      }),
    );
  }

  /**
   * Adds `amount` to a counter item's `count`, creating the item; with `below`, only while the count
   * is under it (false otherwise). `ttl` (epoch seconds) is set when the item is created.
   */
  async count(key: Key, amount: number, options: { below?: number; ttl?: number } = {}): Promise<boolean> {
    const values: Record<string, unknown> = { ":amount": amount };
    if (options.below !== undefined) values[":below"] = options.below;
    if (options.ttl !== undefined) values[":ttl"] = options.ttl;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: key.pk, sk: key.sk },
          UpdateExpression: `ADD #count :amount${options.ttl === undefined ? "" : " SET #ttl = if_not_exists(#ttl, :ttl)"}`,
          ConditionExpression:
            options.below === undefined ? undefined : "attribute_not_exists(#count) OR #count < :below",
          ExpressionAttributeNames: {
            "#count": "count",
            ...(options.ttl === undefined ? {} : { "#ttl": "ttl" }),
          },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Deletes an item; false when the condition failed. Deleting what is not there is no error. */
  async delete(key: Key, options: { if?: Condition } = {}): Promise<boolean> {
    const expression = new Expression();
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: key.pk, sk: key.sk },
          ConditionExpression: options.if ? expression.condition(options.if) : undefined,
          ...expression.attributes(),
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
    const expression = new Expression();
    const pk = expression.name(options.index ? "gsi1pk" : "pk");
    const sk = options.index ? "gsi1sk" : "sk";
    const keyCondition = options.range
      ? `${pk} = ${expression.value(options.pk)} AND ${expression.name(sk)} BETWEEN ${expression.value(options.range.from)} AND ${expression.value(options.range.to)}`
      : options.skPrefix
        ? `${pk} = ${expression.value(options.pk)} AND begins_with(${expression.name(sk)}, ${expression.value(options.skPrefix)})`
        : `${pk} = ${expression.value(options.pk)}`;
    const input: QueryCommandInput = {
      TableName: this.table,
      IndexName: options.index ? GSI1 : undefined,
      KeyConditionExpression: keyCondition,
      FilterExpression: options.filter?.length ? expression.filter(options.filter) : undefined,
      ...expression.attributes(),
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
