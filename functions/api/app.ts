import { randomUUID } from "node:crypto";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { Actor } from "../core/actor";
import { Auth } from "../core/auth";
import { AppError } from "../core/errors";
import { logger } from "../core/log";
import { bearerToken } from "./bearer-token";
import { clientIp } from "./client-ip";
import { docs } from "./docs";
import { onError } from "./errors";
import { requireRole } from "./roles";
import { json, router } from "./router";
import { audit } from "./routes/audit";
import { auth } from "./routes/auth";
import { instances } from "./routes/instances";
import { keys } from "./routes/keys";
import { platforms } from "./routes/platforms";
import { sessions } from "./routes/sessions";
import { syncs } from "./routes/syncs";
import { usage } from "./routes/usage";

const PUBLIC_PATHS = new Set([
  "/api/auth/login",
  "/api/auth/methods",
  "/api/auth/sso/start",
  "/api/auth/sso/callback",
  "/api/health",
  "/api/openapi.json",
  "/api/docs",
]);
const isPublic = (path: string) => PUBLIC_PATHS.has(path) || path.startsWith("/api/docs/");

const Health = z.object({ status: z.literal("ok"), version: z.string() });

/** The admin API, mounted at /api. The same app serves API Gateway and the local product. */
export function createApi(options: { corsOrigin?: string; ready?: () => Promise<void> } = {}) {
  const api = router().basePath("/api");

  api.use("*", async (c, next) => {
    const requestId = c.req.header("x-request-id")?.slice(0, 100) || randomUUID();
    const started = performance.now();
    c.header("x-request-id", requestId);
    await next();
    logger.info("api request", {
      requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round(performance.now() - started),
    });
  });
  // Preflights reach the API function (API Gateway answers none itself) and are answered first, so
  // the UI can read any error that follows.
  api.use(
    "*",
    cors({ origin: options.corsOrigin ?? "*", allowHeaders: ["Authorization", "Content-Type"], maxAge: 600 }),
  );
  // What must hold before any request is served (on Lambda, the admin password from its secret).
  const { ready } = options;
  if (ready) {
    api.use("*", async (_c, next) => {
      await ready();
      await next();
    });
  }
  // The API answers JSON only: nothing in it may load, run or be framed (the docs set their own CSP).
  api.use(
    "*",
    secureHeaders({
      xFrameOptions: "DENY",
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      overwrite: false,
    }),
  );
  api.use(
    "*",
    bodyLimit({
      maxSize: 1024 * 1024,
      onError: () => {
        throw new AppError("payload_too_large", "The request body is larger than 1 MB.");
      },
    }),
  );
  api.use("*", async (c, next) => {
    if (c.req.method === "OPTIONS" || isPublic(c.req.path)) return next();
    const actor = await Auth.verifySession(bearerToken(c.req.header("authorization")));
    return Actor.run({ ...actor, ip: clientIp(c) }, () => requireRole(c, next));
  });

  const app = api
    .openapi(
      createRoute({
        method: "get",
        path: "/health",
        tags: ["Health"],
        summary: "Liveness",
        responses: { 200: json(Health, "The API answers.") },
      }),
      (c) => c.json({ status: "ok" as const, version: process.env.npm_package_version ?? "0.1.0" }, 200),
    )
    .route("/auth", auth)
    .route("/platforms", platforms)
    .route("/instances", instances)
    .route("/instances", usage)
    .route("/syncs", syncs)
    .route("/audit", audit)
    .route("/keys", keys)
    .route("/sessions", sessions);

  api.openAPIRegistry.registerComponent("securitySchemes", "Bearer", {
    type: "http",
    scheme: "bearer",
    description: "The token from POST /api/auth/login.",
  });
  api.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Spacegate API",
      version: "1.0.0",
      description:
        "Publish MCP servers into Dify workspaces. Sign in with `POST /api/auth/login`, then send `Authorization: Bearer <token>`.",
    },
  });
  api.route("/docs", docs);
  const noRoute = (c: Context) =>
    c.json(new AppError("not_found", `No route for ${c.req.method} ${c.req.path}.`).toJSON(), 404);
  // A route, not only notFound: mounted in a larger app (the local product), /api/* must end here.
  api.all("*", noRoute);
  api.notFound(noRoute);
  api.onError(onError);
  return app;
}

export type Api = ReturnType<typeof createApi>;
