import { lambdaFiles } from "../bundle.config";
import { permissionsOf } from "./iam";
import { gatewayVpc, vpc } from "./network";
import { syncQueue } from "./queue";
import { secretPrefix } from "./secrets";
import { table } from "./table";

/** A custom domain for the API and the gateway, e.g. spacegate.example.com (hosted in Route 53). */
const domain = process.env.SPACEGATE_DOMAIN;

export const api = new sst.aws.ApiGatewayV1("Api", {
  endpoint: { type: "regional" },
  ...(domain ? { domain } : {}),
});

/**
 * The API's own URL, built from the REST API's id rather than its deployment, so that the functions
 * behind it can be given it without a cycle.
 */
export const apiUrl = domain
  ? `https://${domain}`
  : $interpolate`https://${api.nodes.api.id}.execute-api.${aws.getRegionOutput().name}.amazonaws.com/${$app.stage}`;

/** The URL Dify reaches the gateway at: the API's own unless SPACEGATE_PUBLIC_URL says otherwise. */
export const publicUrl = process.env.SPACEGATE_PUBLIC_URL ?? apiUrl;

/** Every function's configuration, read by functions/core/config.ts. It grants nothing. */
export const settings = new sst.Linkable("Settings", {
  properties: {
    tableName: table.name,
    secretPrefix,
    queueUrl: syncQueue.url,
    publicUrl,
    corsOrigin: process.env.SPACEGATE_WEB_ORIGIN ?? "*",
  },
});

api.route("ANY /api/{proxy+}", {
  handler: "functions/api/lambda.handler",
  copyFiles: lambdaFiles.api,
  timeout: "29 seconds",
  memory: "1024 MB",
  link: [settings],
  vpc,
  permissions: permissionsOf("api"),
  environment: { POWERTOOLS_SERVICE_NAME: "spacegate-api" },
});

// The gateway streams (REST API response streaming) for up to 15 minutes per request.
api.route(
  "ANY /gateway/{proxy+}",
  {
    handler: "functions/gateway/lambda.handler",
    streaming: true,
    timeout: "15 minutes",
    memory: "1024 MB",
    link: [settings],
    vpc: gatewayVpc,
    permissions: permissionsOf("gateway"),
    environment: { POWERTOOLS_SERVICE_NAME: "spacegate-gateway" },
  },
  { transform: { integration: { timeoutMilliseconds: 900_000 } } },
);

api.deploy();
