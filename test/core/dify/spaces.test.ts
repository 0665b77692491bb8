import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DifyPools } from "../../../functions/core/dify/connection";
import { getSpace, listSpaces, type Space } from "../../../functions/core/dify/spaces";
import { createDifyFixture, type DifyFixture, databaseSettings } from "../../support/dify-fixture";

const pools = new DifyPools();
afterAll(() => pools.closeAll());

describe("listSpaces", () => {
  let fixture: DifyFixture;
  const pool = () => pools.get("plt_spaces", databaseSettings(fixture.url));
  const byName = (name: string) => fixture.spaces.find((space) => space.name === name)!;

  beforeAll(async () => {
    fixture = await createDifyFixture({ level: "1.15.0", spaces: 7 });
    await fixture.query(
      `INSERT INTO tenants (id, name) VALUES
         ('00000000-0000-4000-8000-000000000001', '100% Pure'),
         ('00000000-0000-4000-8000-000000000002', '1000 Pure'),
         ('00000000-0000-4000-8000-000000000003', 'snake_case'),
         ('00000000-0000-4000-8000-000000000004', 'snakeXcase')`,
    );
  });
  afterAll(() => fixture.close());

  test("pages through every space exactly once, ordered by name", async () => {
    const seen: Space[] = [];
    let cursor: string | undefined;
    do {
      const page = await listSpaces(pool(), { limit: 3, cursor });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);

    const names = seen.map((space) => space.name);
    expect(new Set(seen.map((space) => space.id)).size).toBe(seen.length);
    expect(seen).toHaveLength(fixture.spaces.length + 4);
    expect(seen.map((space) => space.id)).toEqual(
      expect.arrayContaining(fixture.spaces.map((space) => space.id)),
    );
    const sorted = (await fixture.query<{ name: string }>("SELECT name FROM tenants ORDER BY name, id")).map(
      (row) => row.name,
    );
    expect(names).toEqual(sorted);
  });

  test("matches a part of the name, ignoring case", async () => {
    const page = await listSpaces(pool(), { search: "aRcHiVeD" });
    expect(page.items.map((space) => space.name)).toEqual(["Archived Space"]);
    expect(page.nextCursor).toBeNull();
  });

  test("matches a part of the owner's email", async () => {
    const owner = byName("Space 002").ownerEmail;
    const page = await listSpaces(pool(), { search: owner.slice(0, owner.indexOf("@")) });
    expect(page.items.map((space) => space.name)).toEqual(["Space 002"]);
  });

  test("treats % and _ in a search literally", async () => {
    expect((await listSpaces(pool(), { search: "100%" })).items.map((space) => space.name)).toEqual([
      "100% Pure",
    ]);
    expect((await listSpaces(pool(), { search: "snake_" })).items.map((space) => space.name)).toEqual([
      "snake_case",
    ]);
  });

  test("shows the active owner, or an active admin when the owner is banned", async () => {
    const { items } = await listSpaces(pool(), { limit: 200 });
    const shown = (name: string) => items.find((space) => space.name === name)!;

    expect(shown("Space 001").owner).toEqual({
      name: byName("Space 001").ownerName,
      email: byName("Space 001").ownerEmail,
    });
    expect(shown("Banned Owner Space").owner).toEqual({
      name: "Banned Owner Space admin",
      email: "banned-owner-space-admin@example.com",
    });
    expect(shown("snake_case").owner).toBeNull();
  });

  test("says why a space cannot receive encrypted values", async () => {
    const { items } = await listSpaces(pool(), { limit: 200 });
    const shown = (name: string) => items.find((space) => space.name === name)!;

    expect(shown("Space 001")).toMatchObject({ status: "normal", canEncrypt: true });
    expect(shown("Space 001").reason).toBeUndefined();
    expect(shown("Archived Space")).toMatchObject({
      status: "archive",
      canEncrypt: false,
      reason: "archived",
    });
    expect(shown("Vault Key Space")).toMatchObject({ canEncrypt: false, reason: "key_not_pem" });
    expect(shown("100% Pure")).toMatchObject({ canEncrypt: false, reason: "key_not_pem" });
  });

  test("refuses a cursor it did not make", async () => {
    await expect(listSpaces(pool(), { cursor: "bm90LWEtY3Vyc29y" })).rejects.toMatchObject({
      code: "invalid_cursor",
    });
  });

  test("getSpace finds one space by id and answers null for unknown or malformed ids", async () => {
    const space = byName("Banned Owner Space");

    expect(await getSpace(pool(), space.id)).toMatchObject({
      id: space.id,
      name: "Banned Owner Space",
      owner: { email: "banned-owner-space-admin@example.com" },
      canEncrypt: true,
    });
    expect(await getSpace(pool(), "00000000-0000-4000-8000-00000000ffff")).toBeNull();
    expect(await getSpace(pool(), "not-a-uuid")).toBeNull();
  });
});

describe("listSpaces on a large installation", () => {
  let fixture: DifyFixture;
  beforeAll(async () => {
    fixture = await createDifyFixture({ level: "1.9.0", spaces: 10_000 });
  });
  afterAll(() => fixture.close());

  test("returns 10,000 tenants page by page", async () => {
    const pool = pools.get("plt_large", databaseSettings(fixture.url));

    const first = await listSpaces(pool);
    const second = await listSpaces(pool, { cursor: first.nextCursor! });
    const searched = await listSpaces(pool, { search: "space 09" });

    expect(first.items).toHaveLength(50);
    expect(first.items[0]!.name).toBe("Archived Space");
    expect(first.nextCursor).not.toBeNull();
    expect(second.items).toHaveLength(50);
    expect(second.items[0]!.name > first.items.at(-1)!.name).toBe(true);
    expect(searched.items).toHaveLength(50);
    expect(searched.items.every((space) => space.name.startsWith("Space 09"))).toBe(true);
  });
});
