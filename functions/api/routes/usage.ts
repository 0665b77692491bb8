import { createRoute } from "@hono/zod-openapi";
import { Usage } from "../../core/usage";
import { errors, json, router, security } from "../router";
import { AccessParams, IdParam } from "./instances";

const tags = ["Usage"];
const responses = {
  200: json(Usage.Report, "Calls by outcome, latency p50/p95 per point, busiest tools (and spaces)."),
  400: errors[400],
  401: errors[401],
  404: errors[404],
};

/** Gateway usage history, under /instances: the instance's, and one space's. */
export const usage = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}/usage",
      tags,
      summary: "The instance's gateway usage over a window (kept 90 days)",
      security,
      request: { params: IdParam, query: Usage.Query },
      responses,
    }),
    async (c) => c.json(await Usage.forInstance(c.req.valid("param").id, c.req.valid("query")), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}/access/{platformId}/{spaceId}/usage",
      tags,
      summary: "One space's gateway usage of the instance over a window (kept 90 days)",
      security,
      request: { params: AccessParams, query: Usage.Query },
      responses,
    }),
    async (c) => {
      const { id, platformId, spaceId } = c.req.valid("param");
      return c.json(await Usage.forSpace(id, platformId, spaceId, c.req.valid("query")), 200);
    },
  );
