import { settings } from "./api";
import { vpc } from "./network";
import { queueSend, syncQueue, workerTimeoutSeconds } from "./queue";
import { secretsAccess } from "./secrets";
import { tableReadWrite } from "./table";

/** The sync worker: writes each (instance, space) into Dify, reporting failed records one by one. */
syncQueue.subscribe(
  {
    handler: "functions/worker/sqs.handler",
    timeout: `${workerTimeoutSeconds} seconds`,
    memory: "512 MB",
    link: [settings],
    vpc,
    permissions: [tableReadWrite, queueSend, ...secretsAccess.worker],
    environment: { POWERTOOLS_SERVICE_NAME: "spacegate-worker" },
  },
  { batch: { size: 10, window: "1 second", partialResponses: true } },
);
