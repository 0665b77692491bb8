import { settings } from "./api";
import { permissionsOf } from "./iam";
import { vpc } from "./network";
import { syncQueue, workerTimeoutSeconds } from "./queue";

/** The sync worker: writes each (instance, space) into Dify, reporting failed records one by one. */
syncQueue.subscribe(
  {
    handler: "functions/worker/sqs.handler",
    timeout: `${workerTimeoutSeconds} seconds`,
    memory: "512 MB",
    link: [settings],
    vpc,
    permissions: permissionsOf("worker"),
    environment: { POWERTOOLS_SERVICE_NAME: "spacegate-worker" },
  },
  { batch: { size: 10, window: "1 second", partialResponses: true } },
);
