import { handle } from "hono/aws-lambda";
import { Auth } from "../core/auth";
import { getAwsRuntime } from "../core/runtime-aws";
import { createApi } from "./app";

getAwsRuntime();
const app = createApi({ corsOrigin: process.env.SPACEGATE_WEB_ORIGIN });
const lambda = handle(app);
let ready: Promise<unknown> | undefined;

/** The admin API behind API Gateway (REST, proxy integration). */
export const handler: typeof lambda = async (event, context) => {
  ready ??= Auth.ensureAdmin(process.env.SPACEGATE_ADMIN_PASSWORD).catch((error) => {
    ready = undefined;
    throw error;
  });
  await ready;
  return lambda(event, context);
};
