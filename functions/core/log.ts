import { Logger } from "@aws-lambda-powertools/logger";

/**
 * The structured logger every part of Spacegate writes to. Callers log ids and codes, never a
 * password, credential or header value.
 */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "spacegate",
  logLevel: (process.env.POWERTOOLS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? "INFO") as "INFO",
});
