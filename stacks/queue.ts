import { MAX_RECEIVES } from "../functions/core/queue";

/** How long the sync worker may run. */
export const workerTimeoutSeconds = 60;

/**
 * How long the queue hides a received message: six times the worker's timeout, as AWS asks for a
 * queue that feeds a function, so a batch the function was throttled on is not counted as a failed
 * receive before it can run.
 */
export const visibilityTimeoutSeconds = workerTimeoutSeconds * 6;

export const deadLetters = new sst.aws.Queue("SyncDeadLetters", {
  transform: { queue: { messageRetentionSeconds: 14 * 24 * 60 * 60 } },
});

/**
 * One message per (job, instance, space). A message that fails is received again after the
 * visibility timeout (the retry backoff); after MAX_RECEIVES it goes to the dead-letter queue.
 */
export const syncQueue = new sst.aws.Queue("SyncQueue", {
  visibilityTimeout: `${visibilityTimeoutSeconds} seconds`,
  dlq: { queue: deadLetters.arn, retry: MAX_RECEIVES },
});
