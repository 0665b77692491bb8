import { handle } from "hono/aws-lambda";
import { Auth } from "../core/auth";
import { getAwsRuntime } from "../core/runtime-aws";
import { createApi } from "./app";

const runtime = getAwsRuntime();
const app = createApi({ corsOrigin: runtime.config.corsOrigin, ready: Auth.ensureAdminFromSecret });

/** The admin API behind API Gateway (REST, proxy integration). */
export const handler = handle(app);
