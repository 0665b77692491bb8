import { Actor } from "../core/actor";
import { logger } from "../core/log";
import { getAwsRuntime } from "../core/runtime-aws";
import { Sync } from "../core/sync";

/** The scheduled refresh (EventBridge): re-discovers tools and re-syncs spaces whose tools changed. */
export const handler = async () => {
  getAwsRuntime();
  const results = await Actor.run({ type: "system", id: "refresh" }, () => Sync.refresh());
  logger.info("refresh done", {
    instances: results.length,
    changed: results.filter((result) => result.changed).length,
    results,
  });
  return results;
};
