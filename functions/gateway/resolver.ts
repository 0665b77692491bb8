import { AppError } from "../core/errors";
import type { GatewayResolver } from "./handler";

/** Stub: the DynamoDB-backed resolver (token index, grants, instances, header decryption) goes here. */
export function createResolverFromEnv(): GatewayResolver {
  throw new AppError("gateway_not_configured", "The gateway resolver is not configured.", { status: 500 });
}
