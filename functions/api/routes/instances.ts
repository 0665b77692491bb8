import { createRoute, z } from "@hono/zod-openapi";
import { Access } from "../../core/access";
import { Instance } from "../../core/instance";
import { ToolsSnapshot } from "../../core/mcp/discover";
import { Sync } from "../../core/sync";
import { body, errors, json, Page, router, security } from "../router";

export const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
export const AccessParams = IdParam.extend({
  platformId: z.string().openapi({ param: { name: "platformId", in: "path" } }),
  spaceId: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "spaceId", in: "path" } }),
});
const ListQuery = z.object({
  cursor: z.string().max(2000).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

const tags = ["Instances"];
const accessTags = ["Access"];

export const instances = router()
  .openapi(
    createRoute({
      method: "get",
      path: "/",
      tags,
      summary: "List MCP instances",
      security,
      request: { query: ListQuery },
      responses: {
        200: json(Page(Instance.Info), "One page of instances."),
        400: errors[400],
        401: errors[401],
      },
    }),
    async (c) => c.json(await Instance.list(c.req.valid("query")), 200),
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/",
      tags,
      summary:
        "Register an MCP instance (discovers its tools once; a failed discovery does not block saving)",
      security,
      request: body(Instance.Create),
      responses: {
        201: json(Instance.Info, "The instance."),
        400: errors[400],
        401: errors[401],
        409: errors[409],
      },
    }),
    async (c) => c.json(await Instance.create(c.req.valid("json")), 201),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}",
      tags,
      summary: "Get an instance",
      security,
      request: { params: IdParam },
      responses: { 200: json(Instance.Info, "The instance."), 401: errors[401], 404: errors[404] },
    }),
    async (c) => c.json(await Instance.get(c.req.valid("param").id), 200),
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/{id}",
      tags,
      summary: "Edit an instance",
      security,
      request: { params: IdParam, ...body(Instance.Update) },
      responses: {
        200: json(Instance.Info, "The instance."),
        400: errors[400],
        401: errors[401],
        404: errors[404],
        409: errors[409],
      },
    }),
    async (c) => c.json(await Sync.updateInstance(c.req.valid("param").id, c.req.valid("json")), 200),
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{id}",
      tags,
      summary: "Remove an instance (refused while spaces still have access)",
      security,
      request: { params: IdParam },
      responses: { 204: { description: "Removed." }, 401: errors[401], 404: errors[404], 409: errors[409] },
    }),
    async (c) => {
      await Instance.remove(c.req.valid("param").id);
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/{id}/discover",
      tags,
      summary: "Connect to the upstream and list its tools again",
      security,
      request: { params: IdParam },
      responses: {
        200: json(Instance.Info, "The instance with its discovery result."),
        401: errors[401],
        404: errors[404],
      },
    }),
    async (c) => c.json(await Instance.discover(c.req.valid("param").id), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}/tools",
      tags,
      summary: "The tools found by the last successful discovery",
      security,
      request: { params: IdParam },
      responses: {
        200: json(ToolsSnapshot.nullable(), "The snapshot, or null before the first successful discovery."),
        401: errors[401],
        404: errors[404],
      },
    }),
    async (c) => c.json(await Instance.tools(c.req.valid("param").id), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/{id}/access",
      tags: accessTags,
      summary: "Every space with access to the instance: credential and headers masked, sync state, usage",
      security,
      request: { params: IdParam, query: ListQuery },
      responses: {
        200: json(Page(Access.Info), "One page of access grants."),
        401: errors[401],
        404: errors[404],
      },
    }),
    async (c) => c.json(await Access.list(c.req.valid("param").id, c.req.valid("query")), 200),
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/{id}/access/{platformId}/{spaceId}",
      tags: accessTags,
      summary: "Give a space access (a new credential), or set its headers if it has access",
      security,
      request: { params: AccessParams, ...body(Access.Put) },
      responses: {
        200: json(Access.Info, "The space already had access."),
        201: json(Access.Info, "Access created."),
        400: errors[400],
        401: errors[401],
        404: errors[404],
        422: errors[422],
      },
    }),
    async (c) => {
      const { id, platformId, spaceId } = c.req.valid("param");
      const { grant, created } = await Access.put(id, platformId, spaceId, c.req.valid("json"));
      return created ? c.json(Access.toInfo(grant), 201) : c.json(Access.toInfo(grant), 200);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/{id}/access/{platformId}/{spaceId}",
      tags: accessTags,
      summary: "Enable or disable access, edit the space's headers, set an expiry",
      security,
      request: { params: AccessParams, ...body(Access.Patch) },
      responses: {
        200: json(Access.Info, "The access."),
        400: errors[400],
        401: errors[401],
        404: errors[404],
        409: errors[409],
      },
    }),
    async (c) => {
      const { id, platformId, spaceId } = c.req.valid("param");
      const grant = await Sync.patchAccess(id, platformId, spaceId, c.req.valid("json"));
      return c.json(Access.toInfo(grant), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/{id}/access/{platformId}/{spaceId}/rotate",
      tags: accessTags,
      summary: "Issue a new credential; the old one stops working at once",
      security,
      request: { params: AccessParams },
      responses: {
        200: json(Access.Info, "The access with its new credential."),
        401: errors[401],
        404: errors[404],
      },
    }),
    async (c) => {
      const { id, platformId, spaceId } = c.req.valid("param");
      return c.json(Access.toInfo(await Sync.rotateAccess(id, platformId, spaceId)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/{id}/access/{platformId}/{spaceId}/reveal",
      tags: accessTags,
      summary: "Show the plaintext credential (audited)",
      security,
      request: { params: AccessParams },
      responses: {
        200: json(z.object({ credential: z.string() }), "The credential."),
        401: errors[401],
        404: errors[404],
      },
    }),
    async (c) => {
      const { id, platformId, spaceId } = c.req.valid("param");
      c.header("Cache-Control", "no-store");
      return c.json({ credential: await Access.reveal(id, platformId, spaceId) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/{id}/access/{platformId}/{spaceId}",
      tags: accessTags,
      summary: "Remove the space's access; the credential stops working at once",
      description:
        "With removeFromDify=true, Spacegate's provider row is deleted from the space's Dify first (only that row).",
      security,
      request: {
        params: AccessParams,
        query: z.object({ removeFromDify: z.enum(["true", "false"]).optional() }),
      },
      responses: { 204: { description: "Removed." }, 401: errors[401], 404: errors[404], 422: errors[422] },
    }),
    async (c) => {
      const { id, platformId, spaceId } = c.req.valid("param");
      await Sync.removeAccess(id, platformId, spaceId, {
        removeFromDify: c.req.valid("query").removeFromDify === "true",
      });
      return c.body(null, 204);
    },
  );
