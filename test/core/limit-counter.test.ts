import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LimitCounter, memoryCounter, storeCounter } from "../../functions/core/limit-counter";
import { Store } from "../../functions/core/store";
import { Keys } from "../../functions/core/store/keys";
import { startDynalite } from "../../functions/local/dynalite";

let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let store: Store;

beforeAll(async () => {
  dynamo = await startDynalite({ tableName: "limits-test" });
  store = new Store(dynamo.client, "limits-test");
});
afterAll(() => dynamo.close());

const window = Date.parse("2026-01-15T10:01:00Z");

describe("limit counters", () => {
  it("counts one space's calls across gateway functions in one DynamoDB item per window", async () => {
    // Two Lambda functions, each with its own counter, over the same table.
    const [first, second] = [storeCounter(store), storeCounter(store)] as const;

    const taken = [
      await first.take("ins_1#plt_1#spc_a#m#1", 3, window),
      await second.take("ins_1#plt_1#spc_a#m#1", 3, window),
      await first.take("ins_1#plt_1#spc_a#m#1", 3, window),
      await second.take("ins_1#plt_1#spc_a#m#1", 3, window),
      await second.take("ins_1#plt_1#spc_b#m#1", 3, window),
    ];
    await first.give("ins_1#plt_1#spc_a#m#1");
    const afterGive = await second.take("ins_1#plt_1#spc_a#m#1", 3, window);

    expect(taken).toEqual([true, true, true, false, true]);
    expect(afterGive).toBe(true);
    expect(await store.get(Keys.limit("ins_1#plt_1#spc_a#m#1"))).toMatchObject({
      count: 3,
      ttl: window / 1000 + 60,
    });
  });

  it("takes concurrent counts atomically: exactly the limit of simultaneous takes succeed", async () => {
    const counters: LimitCounter[] = Array.from({ length: 4 }, () => storeCounter(store));

    const results = await Promise.all(
      Array.from({ length: 12 }, (_, index) => counters[index % 4]!.take("ins_1#plt_1#spc_c#c#1", 5, window)),
    );

    expect(results.filter(Boolean)).toHaveLength(5);
  });

  it("forgets a count in memory once its window has passed", () => {
    let now = window - 1_000;
    const counter = memoryCounter(() => now);

    const before = [counter.take("k", 1, window), counter.take("k", 1, window)];
    now = window;
    const after = counter.take("k", 1, window + 60_000);

    expect(before).toEqual([true, false]);
    expect(after).toBe(true);
  });
});
