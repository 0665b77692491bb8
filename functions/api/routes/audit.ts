import { createRoute } from "@hono/zod-openapi";
import { Audit } from "../../core/audit";
import { errors, json, Page, router, security } from "../router";

export const audit = router().openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["Audit"],
    summary: "Admin writes, newest first, filtered by person, action, target or time",
    security,
    request: { query: Audit.ListQuery },
    responses: {
      200: json(Page(Audit.Event), "One page of audit events."),
      400: errors[400],
      401: errors[401],
    },
  }),
  async (c) => c.json(await Audit.list(c.req.valid("query")), 200),
);
