import { difyVpc } from "./network";
import { syncQueue } from "./queue";
import { secretPrefix, secretsPermission } from "./secrets";
import { table } from "./table";

/** Re-discovers each instance's tools and re-syncs the spaces whose tool list changed. */
export const refresh = new sst.aws.Cron("Refresh", {
  schedule: "rate(30 minutes)",
  function: {
    handler: "functions/worker/refresh.handler",
    runtime: "nodejs22.x",
    timeout: "5 minutes",
    link: [table, syncQueue],
    vpc: difyVpc,
    permissions: [secretsPermission],
    environment: {
      SPACEGATE_TABLE: table.name,
      SPACEGATE_SECRET_PREFIX: secretPrefix,
      SPACEGATE_QUEUE_URL: syncQueue.url,
      POWERTOOLS_SERVICE_NAME: "spacegate-refresh",
    },
  },
});
