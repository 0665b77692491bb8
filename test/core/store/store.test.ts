import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Filter, Store } from "../../../functions/core/store";
import { startDynalite } from "../../../functions/local/dynalite";

let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let store: Store;

beforeAll(async () => {
  dynamo = await startDynalite({ tableName: "store-test" });
  store = new Store(dynamo.client, "store-test");
});
afterAll(() => dynamo.close());

describe("Store", () => {
  it("refuses to create an item twice", async () => {
    await store.create({ pk: "X", sk: "1", name: "first" });
    await expect(store.create({ pk: "X", sk: "1", name: "second" })).rejects.toMatchObject({
      code: "conflict",
      status: 409,
    });
    expect(await store.get({ pk: "X", sk: "1" })).toMatchObject({ name: "first" });
  });

  it("answers a stale update with conflict and keeps the newer write", async () => {
    await store.create({ pk: "V", sk: "1", name: "a", version: 1 });
    const updated = await store.replace({ pk: "V", sk: "1", name: "b", version: 1 }, 1);
    expect(updated.version).toBe(2);
    await expect(store.replace({ pk: "V", sk: "1", name: "stale", version: 1 }, 1)).rejects.toMatchObject({
      code: "conflict",
    });
    expect(await store.get({ pk: "V", sk: "1" })).toMatchObject({ name: "b", version: 2 });
  });

  it("pages through a collection with cursors, every item once", async () => {
    for (let i = 0; i < 25; i++) await store.put({ pk: "P", sk: `item-${String(i).padStart(2, "0")}`, i });
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<typeof store.query<{ pk: string; sk: string; i: number }>>> =
        await store.query({
          pk: "P",
          limit: 10,
          cursor,
        });
      seen.push(...page.items.map((item) => item.i));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual([...Array(25).keys()]);
    expect(pages).toBe(3);
  });

  it("fills a filtered page and lists newest first when reversed", async () => {
    for (let i = 0; i < 30; i++)
      await store.put({ pk: "F", sk: String(i).padStart(2, "0"), even: i % 2 === 0 });
    const page = await store.query<{ pk: string; sk: string }>({
      pk: "F",
      reverse: true,
      limit: 5,
      filter: [Filter.equals("even", true)],
    });
    expect(page.items.map((item) => item.sk)).toEqual(["28", "26", "24", "22", "20"]);
    expect(page.nextCursor).not.toBeNull();
  });

  it("rejects a cursor it did not give out", async () => {
    await expect(store.query({ pk: "P", cursor: "not-a-cursor" })).rejects.toMatchObject({
      code: "invalid_cursor",
      status: 400,
    });
  });

  it("patches only existing items", async () => {
    expect(await store.patch({ pk: "missing", sk: "x" }, { a: 1 })).toBeNull();
    await store.put({ pk: "C", sk: "1" });
    expect(await store.patch({ pk: "C", sk: "1" }, { seen: true }, { add: { calls: 3 } })).toMatchObject({
      pk: "C",
    });
    expect(await store.get({ pk: "C", sk: "1" })).toMatchObject({ seen: true, calls: 3 });
  });
});
