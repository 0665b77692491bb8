import type { Hook } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { AppError } from "../core/errors";
import { logger } from "../core/log";

/** The first problem of each field: the one to fix first. */
export const issuesOf = (error: ZodError) => {
  const issues = new Map<string, string>();
  for (const issue of error.issues) {
    const path = issue.path.join(".") || "(body)";
    if (!issues.has(path)) issues.set(path, issue.message);
  }
  return [...issues].map(([path, message]) => ({ path, message }));
};

export const invalidRequest = (error: ZodError) =>
  new AppError(
    "invalid_request",
    `The request is not valid: ${issuesOf(error)
      .map((i) => `${i.path}: ${i.message}`)
      .join("; ")}`,
    {
      details: issuesOf(error),
    },
  );

/** Validation failures of any route answer 400 `invalid_request` naming each field. */
// biome-ignore lint/suspicious/noExplicitAny: the hook serves every route's input type.
export const validationHook: Hook<any, any, any, any> = (result) => {
  if (!result.success) throw invalidRequest(result.error as ZodError);
};

/** The one place errors become responses: `{ code, message, details? }`, never a stack or a secret. */
export function onError(error: Error, c: Context) {
  if (error instanceof AppError) {
    if (error.status >= 500)
      logger.error("request failed", { code: error.code, path: c.req.path, error: error.message });
    return c.json(error.toJSON(), error.status as ContentfulStatusCode);
  }
  if (error instanceof HTTPException) {
    const status = error.status;
    const code =
      status === 413
        ? "payload_too_large"
        : status === 401
          ? "unauthorized"
          : status === 400
            ? "invalid_request"
            : "http_error";
    const message =
      status === 400 && /json/i.test(error.message)
        ? "The request body is not valid JSON."
        : status === 413
          ? "The request body is larger than 1 MB."
          : error.message || "The request could not be handled.";
    return c.json(new AppError(code, message).toJSON(), status as ContentfulStatusCode);
  }
  logger.error("unexpected error", {
    path: c.req.path,
    method: c.req.method,
    error: error.name,
    detail: error.message,
  });
  return c.json(
    new AppError("internal_error", "Something went wrong on our side. It has been logged.").toJSON(),
    500,
  );
}
