import type { Context, Next } from "hono";
import { Actor } from "../core/actor";
import { AppError } from "../core/errors";
import { Roles } from "../core/roles";

/**
 * The least role each route needs, by method and path as the OpenAPI document spells them.
 * test/api/roles.test.ts checks that every route of the document is here; a route that is not is
 * refused to everyone.
 */
export const ROUTE_ROLES: Record<string, Roles.Role | "public"> = {
  "GET /api/health": "public",
  "POST /api/auth/login": "public",
  "GET /api/auth/methods": "public",
  "POST /api/auth/sso/start": "public",
  "POST /api/auth/sso/callback": "public",
  "GET /api/auth/session": "viewer",
  "POST /api/auth/logout": "viewer",
  "POST /api/auth/refresh": "viewer",
  "GET /api/sessions": "admin",
  "DELETE /api/sessions/{id}": "admin",

  "GET /api/platforms": "viewer",
  "POST /api/platforms": "admin",
  "POST /api/platforms/check": "admin",
  "GET /api/platforms/{id}": "viewer",
  "PATCH /api/platforms/{id}": "admin",
  "DELETE /api/platforms/{id}": "admin",
  "POST /api/platforms/{id}/check": "operator",
  "GET /api/platforms/{id}/spaces": "viewer",

  "GET /api/instances": "viewer",
  "POST /api/instances": "admin",
  "GET /api/instances/{id}": "viewer",
  "PATCH /api/instances/{id}": "operator",
  "DELETE /api/instances/{id}": "admin",
  "POST /api/instances/{id}/discover": "operator",
  "GET /api/instances/{id}/tools": "viewer",
  "GET /api/instances/{id}/usage": "viewer",
  "GET /api/instances/{id}/access": "viewer",
  "GET /api/instances/{id}/access/{platformId}/{spaceId}/usage": "viewer",
  "PUT /api/instances/{id}/access/{platformId}/{spaceId}": "operator",
  "PATCH /api/instances/{id}/access/{platformId}/{spaceId}": "operator",
  "POST /api/instances/{id}/access/{platformId}/{spaceId}/rotate": "operator",
  "POST /api/instances/{id}/access/{platformId}/{spaceId}/reveal": "operator",
  "DELETE /api/instances/{id}/access/{platformId}/{spaceId}": "operator",

  "POST /api/syncs": "operator",
  "GET /api/syncs": "viewer",
  "GET /api/syncs/{id}": "viewer",
  "POST /api/syncs/{id}/retry": "operator",
  "POST /api/syncs/{id}/cancel": "operator",

  "GET /api/audit": "viewer",
  "POST /api/keys/rotate": "admin",
};

/** The route a request matched, as `METHOD /api/path/{param}`, or undefined when none did. */
export function routeOf(c: Context): string | undefined {
  const matched = c.req.matchedRoutes.filter((route) => route.method !== "ALL").at(-1);
  if (!matched) return undefined;
  const path = matched.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}").replace(/\/$/, "") || "/";
  return `${c.req.method} ${path}`;
}

/**
 * Refuses a signed-in person whose role does not reach the route's (403 `forbidden_role`). A route
 * missing from the table is refused to everyone; a path no route matches goes on to its 404.
 */
export async function requireRole(c: Context, next: Next) {
  const route = routeOf(c);
  if (route === undefined) return next();
  const needed = ROUTE_ROLES[route];
  const role = Actor.current().role ?? "viewer";
  if (needed !== "public" && (needed === undefined || !Roles.allows(role, needed))) {
    throw new AppError(
      "forbidden_role",
      needed
        ? `Your role (${role}) may not do this; it needs ${needed}. Ask a Spacegate admin.`
        : "This action is not open to any role.",
      { details: { role, needed: needed ?? null } },
    );
  }
  return next();
}
