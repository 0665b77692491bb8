import { createRoute, z } from "@hono/zod-openapi";
import { rotateEncryptionKey } from "../../core/key-rotation";
import { errors, json, router, security } from "../router";

export const keys = router().openapi(
  createRoute({
    method: "post",
    path: "/rotate",
    tags: ["Encryption"],
    summary: "Make a new encryption key current and re-encrypt every credential and header value",
    security,
    responses: {
      200: json(
        z.object({ keyId: z.string(), instances: z.number(), grants: z.number() }),
        "What was re-encrypted.",
      ),
      401: errors[401],
      409: errors[409],
    },
  }),
  async (c) => c.json(await rotateEncryptionKey(), 200),
);
