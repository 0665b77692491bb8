import type { APIGatewayProxyResult } from "aws-lambda";
import { handle } from "hono/aws-lambda";
import { describe, expect, it } from "vitest";
import { createApi } from "../../functions/api/app";
import { AppError } from "../../functions/core/errors";
import { lambdaContext, restProxyEvent } from "../support/lambda-events";

const WEB_ORIGIN = "https://admin.example.com";

/** The API as its Lambda serves it, whose admin password secret is still blank. */
const blankPasswordApi = handle(
  createApi({
    corsOrigin: WEB_ORIGIN,
    ready: () => Promise.reject(new AppError("admin_password_blank", "The admin password secret is blank.")),
  }),
);

async function invoke(method: string, headers: Record<string, string>) {
  const result = (await blankPasswordApi(
    restProxyEvent({ method, path: "/api/platforms", headers }) as unknown as Parameters<
      typeof blankPasswordApi
    >[0],
    lambdaContext(),
  )) as APIGatewayProxyResult;
  // The answer to a REST event that carries multi-value headers has them there too.
  const answered = Object.fromEntries(
    Object.entries(result.multiValueHeaders ?? {}).map(([name, values]) => [name, values.join(", ")]),
  );
  return { status: result.statusCode, headers: answered, body: result.body };
}

describe("CORS on API Gateway, where preflights reach the API function", () => {
  it("answers a preflight with the configured origin and Authorization named, before anything else runs", async () => {
    const preflight = await invoke("OPTIONS", {
      Origin: WEB_ORIGIN,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "authorization,content-type",
    });

    expect(preflight.status).toBe(204);
    const headers = preflight.headers ?? {};
    expect(headers["access-control-allow-origin"]).toBe(WEB_ORIGIN);
    expect(String(headers["access-control-allow-headers"]).split(",")).toEqual([
      "Authorization",
      "Content-Type",
    ]);
  });

  it("lets the UI read an error the API answers before the request reaches a route", async () => {
    const response = await invoke("GET", { Origin: WEB_ORIGIN, Authorization: "Bearer x" });

    expect(response.status).toBe(503);
    expect(response.headers["access-control-allow-origin"]).toBe(WEB_ORIGIN);
    expect(JSON.parse(response.body).code).toBe("admin_password_blank");
  });
});
