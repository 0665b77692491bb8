/** How long the sync worker may run; the queue hides a received message for longer than that. */
export const workerTimeoutSeconds = 60;

export const deadLetters = new sst.aws.Queue("SyncDeadLetters", {
  transform: { queue: { messageRetentionSeconds: 14 * 24 * 60 * 60 } },
});

/**
 * One message per (job, instance, space). A message that fails is received again after the
 * visibility timeout (the retry backoff); after five receives it goes to the dead-letter queue.
 */
export const syncQueue = new sst.aws.Queue("SyncQueue", {
  visibilityTimeout: `${workerTimeoutSeconds * 2} seconds`,
  dlq: { queue: deadLetters.arn, retry: 5 },
});
