import { createRoute, z } from "@hono/zod-openapi";
import { Sync } from "../../core/sync";
import { body, errors, json, Page, router, security } from "../router";

const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
const tags = ["Sync"];

export const syncs = router()
  .openapi(
    createRoute({
      method: "post",
      path: "/",
      tags,
      summary: "Sync instances into spaces: one item per (instance, space), done by the worker",
      security,
      request: body(Sync.Start),
      responses: {
        202: json(Sync.Job, "The job, queued."),
        400: errors[400],
        401: errors[401],
        404: errors[404],
        422: errors[422],
      },
    }),
    async (c) => c.json(await Sync.start(c.req.valid("json")), 202),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "Sync jobs, newest first",
      security,
      request: {
        query: z.object({
          cursor: z.string().max(2000).optional(),
          limit: z.coerce.number().int().min(1).max(200).optional(),
        }),
      },
      responses: { 200: json(Page(Sync.Job), "One page of jobs."), 400: errors[400], 401: errors[401] },
    }),
    async (c) => c.json(await Sync.list(c.req.valid("query")), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}",
      tags,
      summary: "A job and every item: status, error in plain words, attempts",
      security,
      request: { params: IdParam },
      responses: { 200: json(Sync.Detail, "The job and its items."), 401: errors[401], 404: errors[404] },
    }),
    async (c) => c.json(await Sync.get(c.req.valid("param").id), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/{id}/retry",
      tags,
      summary: "Send the failed items again",
      security,
      request: { params: IdParam },
      responses: { 202: json(Sync.Job, "The job."), 401: errors[401], 404: errors[404] },
    }),
    async (c) => c.json(await Sync.retry(c.req.valid("param").id), 202),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/{id}/cancel",
      tags,
      summary: "Cancel the items not yet started",
      security,
      request: { params: IdParam },
      responses: { 200: json(Sync.Job, "The job."), 401: errors[401], 404: errors[404] },
    }),
    async (c) => c.json(await Sync.cancel(c.req.valid("param").id), 200),
  );
