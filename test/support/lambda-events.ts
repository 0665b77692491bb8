import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEvent, Context, ScheduledEvent } from "aws-lambda";

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function apiGatewayTime(date: Date) {
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

export function lambdaContext(overrides: Partial<Context> = {}): Context {
  const requestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: "spacegate-gateway",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:spacegate-gateway",
    memoryLimitInMB: "512",
    awsRequestId: requestId,
    logGroupName: "/aws/lambda/spacegate-gateway",
    logStreamName: "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
    getRemainingTimeInMillis: () => 900_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
    ...overrides,
  };
}

/**
 * An API Gateway REST API (v1) proxy event as API Gateway sends it on a regional endpoint, stage
 * `prod`, for the route of the path's first segment (`/gateway/{proxy+}` or `/api/{proxy+}`).
 */
export function restProxyEvent(input: {
  method: string;
  path: string;
  headers?: Record<string, string | string[]>;
  query?: Record<string, string | string[]>;
  body?: string | Buffer | null;
  base64?: boolean;
  sourceIp?: string;
}): APIGatewayProxyEvent {
  const sourceIp = input.sourceIp ?? "203.0.113.7";
  const domainName = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com";
  const multiValueHeaders: Record<string, string[]> = {
    Host: [domainName],
    "User-Agent": ["python-httpx/0.28.1"],
    "X-Amzn-Trace-Id": ["Root=1-67890abc-0123456789abcdef01234567"],
    "X-Forwarded-For": [sourceIp],
    "X-Forwarded-Port": ["443"],
    "X-Forwarded-Proto": ["https"],
  };
  for (const [name, value] of Object.entries(input.headers ?? {})) {
    multiValueHeaders[name] = Array.isArray(value) ? value : [value];
  }
  const headers = Object.fromEntries(
    Object.entries(multiValueHeaders).map(([name, values]) => [name, values.at(-1) ?? ""]),
  );
  const multiValueQuery = input.query
    ? Object.fromEntries(
        Object.entries(input.query).map(([name, value]) => [name, Array.isArray(value) ? value : [value]]),
      )
    : null;
  const queryStringParameters = multiValueQuery
    ? Object.fromEntries(Object.entries(multiValueQuery).map(([name, values]) => [name, values.at(-1) ?? ""]))
    : null;
  const base64 = input.base64 ?? Buffer.isBuffer(input.body);
  const body =
    input.body === undefined || input.body === null
      ? null
      : Buffer.isBuffer(input.body)
        ? input.body.toString("base64")
        : base64
          ? Buffer.from(input.body).toString("base64")
          : input.body;
  const now = Date.now();
  const [, base = "", proxy = ""] = /^\/([^/]*)\/?(.*)$/.exec(input.path) ?? [];
  const resource = `/${base}/{proxy+}`;
  return {
    resource,
    path: input.path,
    httpMethod: input.method,
    headers,
    multiValueHeaders,
    queryStringParameters,
    multiValueQueryStringParameters: multiValueQuery,
    pathParameters: { proxy },
    stageVariables: null,
    requestContext: {
      accountId: "123456789012",
      apiId: "a1b2c3d4e5",
      authorizer: undefined,
      domainName,
      domainPrefix: "a1b2c3d4e5",
      extendedRequestId: "AbCdEfGhIjKlMnO=",
      httpMethod: input.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp,
        user: null,
        userAgent: "python-httpx/0.28.1",
        userArn: null,
      },
      path: `/prod${input.path}`,
      protocol: "HTTP/1.1",
      requestId: randomUUID(),
      requestTime: apiGatewayTime(new Date(now)),
      requestTimeEpoch: now,
      resourceId: "abc123",
      resourcePath: resource,
      stage: "prod",
    },
    body,
    isBase64Encoded: body !== null && base64,
  };
}

/** The event EventBridge Scheduler's rule delivers to the scheduled refresh. */
export function scheduledEvent(): ScheduledEvent {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "123456789012",
    time: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    region: "eu-west-1",
    resources: ["arn:aws:events:eu-west-1:123456789012:rule/spacegate-production-RefreshRule"],
    detail: {},
  };
}
