import { createRoute } from "@hono/zod-openapi";
import { Auth } from "../../core/auth";
import { AppError } from "../../core/errors";
import { bearerToken } from "../bearer-token";
import { clientIp } from "../client-ip";
import { FailureLimiter } from "../rate-limit";
import { body, ErrorBody, errors, json, router, security } from "../router";

export const loginLimiter = new FailureLimiter();

export const auth = router()
  .openapi(
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
      const wait = loginLimiter.attempt(client);
      if (wait > 0) {
        c.header("Retry-After", String(wait));
        throw new AppError("rate_limited", `Too many failed sign-in attempts. Try again in ${wait} seconds.`);
      }
      const session = await Auth.login(c.req.valid("json").password);
      loginLimiter.succeed(client);
      return c.json(session, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/logout",
      tags: ["Auth"],
      summary: "Sign this session out (its token is refused from now on)",
      security,
      responses: { 204: { description: "Signed out." }, 401: errors[401] },
    }),
    async (c) => {
      await Auth.logout(bearerToken(c.req.header("authorization")));
      return c.body(null, 204);
    },
  );
