import { settings } from "./api";
import { permissionsOf } from "./iam";
import { vpc } from "./network";

/** Re-discovers each instance's tools and re-syncs the spaces whose tool list changed. */
export const refresh = new sst.aws.Cron("Refresh", {
  schedule: "rate(30 minutes)",
  function: {
    handler: "functions/worker/refresh.handler",
    timeout: "5 minutes",
    memory: "512 MB",
    link: [settings],
    vpc,
    permissions: permissionsOf("refresh"),
    environment: { POWERTOOLS_SERVICE_NAME: "spacegate-refresh" },
  },
});
