import { createRoute } from "@hono/zod-openapi";
import { Auth } from "../../core/auth";
import { AppError } from "../../core/errors";
import { clientIp } from "../client-ip";
import { FailureLimiter } from "../rate-limit";
import { body, ErrorBody, errors, json, router } from "../router";

export const loginLimiter = new FailureLimiter();

export const auth = router().openapi(
  createRoute({
    method: "post",
    path: "/login",
    tags: ["Auth"],
    summary: "Sign in with the admin password",
    request: body(Auth.Login),
    responses: {
      200: json(Auth.Session, "A bearer session token, valid for 12 hours."),
      400: errors[400],
      401: errors[401],
      429: json(ErrorBody, "Too many failed attempts from this client; see Retry-After."),
    },
  }),
  async (c) => {
    const client = clientIp(c);
    const wait = loginLimiter.retryAfter(client);
    if (wait > 0) {
      c.header("Retry-After", String(wait));
      throw new AppError("rate_limited", `Too many failed sign-in attempts. Try again in ${wait} seconds.`, {
        status: 429,
      });
    }
    try {
      const session = await Auth.login(c.req.valid("json").password);
      loginLimiter.succeed(client);
      return c.json(session, 200);
    } catch (error) {
      if (error instanceof AppError && error.code === "invalid_credentials") loginLimiter.fail(client);
      throw error;
    }
  },
);
