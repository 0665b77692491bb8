import { createRoute, z } from "@hono/zod-openapi";
import { Actor } from "../../core/actor";
import { Auth } from "../../core/auth";
import { AppError } from "../../core/errors";
import { Sso } from "../../core/sso";
import { bearerToken } from "../bearer-token";
import { clientIp } from "../client-ip";
import { SignInLimiter } from "../rate-limit";
import { body, ErrorBody, errors, json, router, security } from "../router";

const signInLimiter = new SignInLimiter();

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
        403: json(ErrorBody, "Signing in with the password is turned off (`password_login_disabled`)."),
        429: json(ErrorBody, "Too many failed attempts from this client; see Retry-After."),
      },
    }),
    async (c) => {
      const attempt = await signInLimiter.attempt(clientIp(c));
      if ("retryAfter" in attempt) {
        c.header("Retry-After", String(attempt.retryAfter));
        throw new AppError(
          "rate_limited",
          `Too many failed sign-in attempts. Try again in ${attempt.retryAfter} seconds.`,
        );
      }
      const session = await Auth.login(c.req.valid("json").password);
      await attempt.succeeded();
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
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/refresh",
      tags: ["Auth"],
      summary: "Check with the identity provider that this single sign-on session still stands",
      description:
        "For a single sign-on session, runs a refresh-token grant at the identity provider. When the provider refuses it, its session is gone: this session ends too and the answer is 401 `session_revoked`. Password sessions have nothing to check.",
      security,
      responses: {
        204: { description: "The session stands." },
        401: errors[401],
        503: json(
          ErrorBody,
          "The identity provider cannot be reached (`sso_unreachable`); the session stays.",
        ),
      },
    }),
    async (c) => {
      await Sso.refresh(bearerToken(c.req.header("authorization")));
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/methods",
      tags: ["Auth"],
      summary: "The ways to sign in here: the password, single sign-on, or both",
      responses: { 200: json(Sso.Methods, "The sign-in methods.") },
    }),
    (c) => c.json(Sso.methods(), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sso/start",
      tags: ["Auth"],
      summary: "Start a single sign-on at the identity provider (authorization code with PKCE)",
      responses: {
        200: json(
          z.object({ url: z.string(), state: z.string() }),
          "Where to send the browser; it comes back to the UI with `code` and `state`.",
        ),
        404: json(ErrorBody, "Single sign-on is not configured (`sso_not_configured`)."),
        503: json(ErrorBody, "The identity provider cannot be reached (`sso_unreachable`)."),
      },
    }),
    async (c) => c.json(await Sso.start(), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/sso/callback",
      tags: ["Auth"],
      summary: "Finish a single sign-on with the `code` and `state` the identity provider sent back",
      request: body(Sso.Callback),
      responses: {
        200: json(Auth.Session, "A bearer session token for the person, with their role."),
        400: errors[400],
        401: json(ErrorBody, "The identity provider's answer was refused (`sso_refused`)."),
        403: json(ErrorBody, "The person has no role here (`sso_no_role`); the message says why."),
        404: json(ErrorBody, "Single sign-on is not configured (`sso_not_configured`)."),
      },
    }),
    async (c) => c.json(await Sso.finish(c.req.valid("json")), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/session",
      tags: ["Auth"],
      summary: "Who this session is, and their role",
      security,
      responses: { 200: json(Auth.Person, "The signed-in person."), 401: errors[401] },
    }),
    (c) => {
      const { type: _type, ip: _ip, ...person } = Actor.current();
      return c.json(Auth.Person.parse(person), 200);
    },
  );
