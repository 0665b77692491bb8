import { difyVpc } from "./network";
import { adminPassword, secretPrefix, secretsPermission } from "./secrets";
import { table } from "./table";

export const deadLetters = new sst.aws.Queue("SyncDeadLetters", { messageRetentionPeriod: "14 days" });

/** One message per (job, instance, space); five receives, then the dead-letter queue. */
export const syncQueue = new sst.aws.Queue("SyncQueue", {
  visibilityTimeout: "2 minutes",
  dlq: { queue: deadLetters.arn, retry: 5 },
});

syncQueue.subscribe(
  {
    handler: "functions/worker/sqs.handler",
    runtime: "nodejs22.x",
    timeout: "90 seconds",
    memory: "512 MB",
    link: [table, adminPassword],
    vpc: difyVpc,
    permissions: [secretsPermission],
    environment: {
      SPACEGATE_TABLE: table.name,
      SPACEGATE_SECRET_PREFIX: secretPrefix,
      POWERTOOLS_SERVICE_NAME: "spacegate-worker",
    },
  },
  { batch: { size: 10, window: "1 second", partialResponses: true } },
);
