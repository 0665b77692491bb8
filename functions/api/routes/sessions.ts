import { createRoute, z } from "@hono/zod-openapi";
import { Auth } from "../../core/auth";
import { errors, json, router, security } from "../router";

export const sessions = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags: ["Auth"],
      summary: "The live sessions, newest first: who, their role, how they signed in, and when it ends",
      security,
      responses: {
        200: json(z.object({ items: z.array(Auth.SessionInfo) }), "Every live session; never a token."),
        401: errors[401],
      },
    }),
    async (c) => c.json({ items: await Auth.listSessions() }, 200),
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{id}",
      tags: ["Auth"],
      summary: "End one session at once (its token answers 401 `session_revoked` from now on)",
      security,
      request: { params: z.object({ id: z.string() }) },
      responses: { 204: { description: "Ended." }, 401: errors[401], 404: errors[404] },
    }),
    async (c) => {
      await Auth.revokeSession(c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
