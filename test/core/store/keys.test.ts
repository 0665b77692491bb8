import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Keys } from "../../../functions/core/store/keys";

const source = readFileSync(path.resolve(__dirname, "../../../functions/core/store/keys.ts"), "utf8");

/** The rows of the key table in keys.ts's doc comment: item, builder call, pk, sk, gsi1pk, gsi1sk. */
function tableRows() {
  const rows = source
    .split("\n")
    .filter((line) => line.startsWith(" * |"))
    .map((line) =>
      line
        .slice(" * |".length, line.lastIndexOf("|"))
        .split("|")
        .map((cell) => cell.trim()),
    );
  const [header, rule, ...body] = rows;
  expect(header).toEqual(["item", "builder", "pk", "sk", "gsi1pk", "gsi1sk"]);
  expect(rule?.every((cell) => /^-+$/.test(cell))).toBe(true);
  return body;
}

/** What a builder gives, in the table's columns: a collection's sort key shows as its prefix and …. */
function columns(built: Record<string, string | undefined>) {
  if (!("sk" in built)) {
    const sk = `${built.skPrefix ?? ""}…`;
    return built.index === "gsi1" ? ["", "", built.pk, sk] : [built.pk, sk, "", ""];
  }
  return [built.pk, built.sk, built.gsi1pk ?? "", built.gsi1sk ?? ""];
}

describe("the key table in store/keys.ts", () => {
  it("names every builder once, and each row is what its builder gives", () => {
    const rows = tableRows();
    const named = rows.map(([, builder]) => builder?.slice(0, builder.indexOf("(")));
    expect([...named].sort()).toEqual(Object.keys(Keys).sort());
    for (const [item, call, ...expected] of rows) {
      const [, name, args] = /^(\w+)\(([^)]*)\)$/.exec(call ?? "") ?? [];
      const parameters = args ? args.split(",").map((arg) => `<${arg.trim()}>`) : [];
      const builder = Keys[name as keyof typeof Keys] as (...values: string[]) => Record<string, string>;
      expect(columns(builder(...parameters)), `${item}: ${call}`).toEqual(expected);
    }
  });

  it("spells no key outside the store", () => {
    const spelled = /`(?:GRANT|PGRANT|JOB|TOKEN|IDENT|INSTANCE|AUDIT)#|pk: "[A-Z]+"|Expression/;
    const core = path.resolve(__dirname, "../../../functions/core");
    const domain = ["access", "audit", "auth", "instance", "key-rotation", "platform", "sync"];
    for (const file of domain) {
      expect(readFileSync(path.join(core, `${file}.ts`), "utf8"), file).not.toMatch(spelled);
    }
  });
});
