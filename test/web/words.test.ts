import { describe, expect, it } from "vitest";
import { errorCodes } from "../../functions/core/errors";
import { ERROR_WORDS } from "../../web/src/components/words";

describe("the admin UI's wording of error codes", () => {
  it("words every code of the error catalog, and no code the catalog lacks", () => {
    const unworded = errorCodes.filter((code) => !ERROR_WORDS[code]?.trim());
    const unknown = Object.keys(ERROR_WORDS).filter((code) => !(errorCodes as string[]).includes(code));

    expect(unworded, "codes with no wording in web/src/components/words.ts").toEqual([]);
    expect(unknown, "wording for codes the catalog does not have").toEqual([]);
  });
});
