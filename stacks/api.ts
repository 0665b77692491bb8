import { lambdaFiles } from "../bundle.config";
import { permissionsOf } from "./iam";
import { gatewayVpc, vpc } from "./network";
import { syncQueue } from "./queue";
import { secretPrefix } from "./secrets";
import { signInSettings } from "./sign-in";
import { table } from "./table";

/** A custom domain for the API and the gateway, e.g. spacegate.example.com (hosted in Route 53). */
const domain = process.env.SPACEGATE_DOMAIN;

/** The origin the admin UI is served from; `*` allows any (sessions are bearer tokens, never cookies). */
const webOrigin = process.env.SPACEGATE_WEB_ORIGIN ?? "*";

/**
 * How many gateway calls may run at once (SPACEGATE_GATEWAY_CONCURRENCY): reserved for the gateway,
 * so open event streams can neither starve the API and the worker nor be starved by them.
 */
const gatewayConcurrency = process.env.SPACEGATE_GATEWAY_CONCURRENCY;
if (gatewayConcurrency !== undefined && !/^[1-9]\d*$/.test(gatewayConcurrency)) {
  throw new Error(
    `SPACEGATE_GATEWAY_CONCURRENCY must be a whole number above 0, not "${gatewayConcurrency}".`,
  );
}

/** API Gateway's own error answers (throttled, timed out) carry CORS headers, so the UI can read them. */
let errorResponses: aws.apigateway.Response[] = [];

export const api = new sst.aws.ApiGatewayV1("Api", {
  endpoint: { type: "regional" },
  ...(domain ? { domain } : {}),
  // Preflights reach the API function, which answers them with the configured origin (functions/api/app.ts).
  cors: false,
  transform: {
    deployment: (args, opts) => {
      opts.dependsOn = errorResponses;
      args.triggers = $output(args.triggers).apply((triggers) => ({ ...triggers, webOrigin }));
    },
  },
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
    corsOrigin: webOrigin,
    ...signInSettings,
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
    ...(gatewayConcurrency ? { concurrency: { reserved: Number(gatewayConcurrency) } } : {}),
  },
  { transform: { integration: { timeoutMilliseconds: 900_000 } } },
);

errorResponses = (["DEFAULT_4XX", "DEFAULT_5XX"] as const).map(
  (responseType) =>
    new aws.apigateway.Response(responseType === "DEFAULT_4XX" ? "ApiErrors4xx" : "ApiErrors5xx", {
      restApiId: api.nodes.api.id,
      responseType,
      responseParameters: {
        "gatewayresponse.header.Access-Control-Allow-Origin": `'${webOrigin}'`,
        "gatewayresponse.header.Access-Control-Allow-Headers": "'Authorization,Content-Type'",
      },
      responseTemplates: {
        "application/json": '{"code":"gateway_error","message":$context.error.messageString}',
      },
    }),
);

api.deploy();
