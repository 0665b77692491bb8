import { difyVpc } from "./network";
import { syncQueue } from "./queue";
import { adminPassword, secretPrefix, secretsPermission } from "./secrets";
import { table } from "./table";

/** The URL Dify reaches the gateway at; defaults to the API's own URL. */
const publicUrl = process.env.SPACEGATE_PUBLIC_URL;

export const api = new sst.aws.ApiGatewayV1("Api", {
  endpoint: { type: "regional" },
});

const environment = {
  SPACEGATE_TABLE: table.name,
  SPACEGATE_SECRET_PREFIX: secretPrefix,
  SPACEGATE_QUEUE_URL: syncQueue.url,
  ...(publicUrl ? { SPACEGATE_PUBLIC_URL: publicUrl } : {}),
};

api.route("ANY /api/{proxy+}", {
  handler: "functions/api/lambda.handler",
  runtime: "nodejs22.x",
  timeout: "29 seconds",
  memory: "1024 MB",
  link: [table, syncQueue, adminPassword],
  vpc: difyVpc,
  permissions: [secretsPermission],
  environment: {
    ...environment,
    SPACEGATE_ADMIN_PASSWORD: adminPassword.value,
    POWERTOOLS_SERVICE_NAME: "spacegate-api",
  },
});

// The gateway streams: REST API response streaming with a 15-minute integration timeout. It reads
// the table and the envelope key ring only, so it needs no VPC.
api.route(
  "ANY /gateway/{proxy+}",
  {
    handler: "functions/gateway/lambda.handler",
    runtime: "nodejs22.x",
    streaming: true,
    timeout: "15 minutes",
    memory: "1024 MB",
    link: [table],
    permissions: [{ actions: ["secretsmanager:GetSecretValue"], resources: secretsPermission.resources }],
    environment: { ...environment, POWERTOOLS_SERVICE_NAME: "spacegate-gateway" },
  },
  {
    transform: {
      integration: (args) => {
        args.responseTransferMode = "STREAM";
        args.timeoutMilliseconds = 900_000;
      },
    },
  },
);

api.deploy();
