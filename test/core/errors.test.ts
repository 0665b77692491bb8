import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../functions/core/error-code";
import { AppError, errorCodes, errorSpec } from "../../functions/core/errors";

describe("the error catalog", () => {
  it("gives an AppError its status from its code", () => {
    expect(new AppError("identifier_taken", "Taken.").status).toBe(409);
    expect(new AppError("upstream_timeout", "Slow.").status).toBe(422);
  });

  it("gives the gateway's status where the gateway answers as the upstream's proxy", () => {
    expect(new AppError("upstream_timeout", "Slow.", { gateway: true }).status).toBe(504);
    expect(new AppError("upstream_unreachable", "Gone.", { gateway: true }).status).toBe(502);
    expect(new AppError("credential_invalid", "No.", { gateway: true }).status).toBe(401);
  });

  it("retries only what may be back soon: Dify's database or the MCP server out of reach", () => {
    const retried = errorCodes.filter((code) => errorSpec(code).retried);
    expect(retried.sort()).toEqual(
      [
        "connection_refused",
        "dify_unreachable",
        "dns_not_found",
        "timeout",
        "upstream_timeout",
        "upstream_unreachable",
      ].sort(),
    );
  });

  it("is the schema the API documents", () => {
    expect(ErrorCode.options).toEqual(errorCodes);
    expect(ErrorCode.safeParse("made_up").success).toBe(false);
  });
});
