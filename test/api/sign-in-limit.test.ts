import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignInLimiter } from "../../functions/api/rate-limit";
import { storeCounter } from "../../functions/core/limit-counter";
import { Store } from "../../functions/core/store";
import { startDynalite } from "../../functions/local/dynalite";

let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let store: Store;

beforeAll(async () => {
  dynamo = await startDynalite({ tableName: "sign-in-test" });
  store = new Store(dynamo.client, "sign-in-test");
});
afterAll(() => dynamo.close());

describe("sign-in attempts", () => {
  it("are limited across API functions as one count per client and window, failures only", async () => {
    let now = Date.parse("2026-01-15T10:00:20Z");
    // Two API functions, each with its own limiter, over the same table.
    const functions = [0, 1].map(
      () =>
        new SignInLimiter(
          () => storeCounter(store),
          10,
          60_000,
          () => now,
        ),
    );

    const attempts = await Promise.all(
      Array.from({ length: 24 }, (_, i) => functions[i % 2]!.attempt("203.0.113.7")),
    );
    const allowed = attempts.filter((attempt) => "succeeded" in attempt);
    const refused = attempts.filter((attempt) => "retryAfter" in attempt);
    const otherClient = await functions[1]!.attempt("198.51.100.2");

    expect(allowed).toHaveLength(10);
    expect(refused).toHaveLength(14);
    expect(refused[0]).toEqual({ retryAfter: 40 });
    expect("succeeded" in otherClient).toBe(true);

    // A success gives its attempt back, so it leaves room for one more.
    if ("succeeded" in allowed[0]!) await allowed[0].succeeded();
    expect("succeeded" in (await functions[0]!.attempt("203.0.113.7"))).toBe(true);
    expect("retryAfter" in (await functions[1]!.attempt("203.0.113.7"))).toBe(true);

    now = Date.parse("2026-01-15T10:01:00Z");
    expect("succeeded" in (await functions[1]!.attempt("203.0.113.7"))).toBe(true);
  });
});
