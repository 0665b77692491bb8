import { createRoute, z } from "@hono/zod-openapi";
import { CheckResult } from "../../core/dify/check";
import { Platform } from "../../core/platform";
import { body, errors, json, Page, router, security } from "../router";

const IdParam = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "plt_01hx…" }),
});

const tags = ["Agent Platforms"];

export const platforms = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "List agent platforms",
      security,
      request: {
        query: z.object({
          cursor: z.string().max(2000).optional(),
          limit: z.coerce.number().int().min(1).max(200).optional(),
        }),
      },
      responses: {
        200: json(Page(Platform.Info), "One page of platforms."),
        400: errors[400],
        401: errors[401],
      },
    }),
    async (c) => c.json(await Platform.list(c.req.valid("query")), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/",
      tags,
      summary: "Add an agent platform (runs the check and stores its result)",
      security,
      request: body(Platform.Create),
      responses: {
        201: json(Platform.Info, "The platform, with its check."),
        400: errors[400],
        401: errors[401],
      },
    }),
    async (c) => c.json(await Platform.create(c.req.valid("json")), 201),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/check",
      tags,
      summary: "Test connection details without saving",
      security,
      request: body(Platform.Database),
      responses: { 200: json(CheckResult, "What the check found."), 400: errors[400], 401: errors[401] },
    }),
    async (c) => c.json(await Platform.check(c.req.valid("json")), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}",
      tags,
      summary: "Get a platform",
      security,
      request: { params: IdParam },
      responses: { 200: json(Platform.Info, "The platform."), 401: errors[401], 404: errors[404] },
    }),
    async (c) => c.json(await Platform.get(c.req.valid("param").id), 200),
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/{id}",
      tags,
      summary: "Edit a platform (re-runs the check when the database settings change)",
      security,
      request: { params: IdParam, ...body(Platform.Update) },
      responses: {
        200: json(Platform.Info, "The platform."),
        400: errors[400],
        401: errors[401],
        404: errors[404],
        409: errors[409],
      },
    }),
    async (c) => c.json(await Platform.update(c.req.valid("param").id, c.req.valid("json")), 200),
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{id}",
      tags,
      summary: "Remove a platform (refused while spaces still have access)",
      security,
      request: { params: IdParam },
      responses: { 204: { description: "Removed." }, 401: errors[401], 404: errors[404], 409: errors[409] },
    }),
    async (c) => {
      await Platform.remove(c.req.valid("param").id);
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/{id}/check",
      tags,
      summary: "Run the check again with the stored settings",
      security,
      request: { params: IdParam },
      responses: {
        200: json(Platform.Info, "The platform with its new check."),
        401: errors[401],
        404: errors[404],
      },
    }),
    async (c) => c.json(await Platform.recheck(c.req.valid("param").id), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}/spaces",
      tags,
      summary: "List the platform's spaces (Dify workspaces), live from its database",
      security,
      request: { params: IdParam, query: Platform.SpacesQuery },
      responses: {
        200: json(Page(Platform.Space), "One page of spaces."),
        400: errors[400],
        401: errors[401],
        404: errors[404],
        422: errors[422],
      },
    }),
    async (c) => c.json(await Platform.spaces(c.req.valid("param").id, c.req.valid("query")), 200),
  );
