import { OpenAPIHono, z } from "@hono/zod-openapi";
import { ErrorCode } from "../core/error-code";
import { validationHook } from "./errors";

/** A sub-router whose validation failures answer 400 `invalid_request`. */
export const router = () => new OpenAPIHono({ defaultHook: validationHook });

export const ErrorBody = z.object({
  code: ErrorCode,
  message: z.string(),
  details: z.unknown().optional(),
});

const error = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorBody } },
});

export const errors = {
  400: error("The request is not valid (`invalid_request`); `details` names each field."),
  401: error("Not signed in, or the session expired."),
  404: error("No such object."),
  409: error("A conflict: changed by someone else, or still in use."),
  422: error("The request was understood but cannot be carried out (for example, an unreachable database)."),
} as const;

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});

export const security = [{ Bearer: [] }];

export const Page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });
