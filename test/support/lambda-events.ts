import type { APIGatewayProxyEvent, Context } from "aws-lambda";

/** A REST API (v1) proxy event as API Gateway sends it to a Lambda proxy integration. */
export function restProxyEvent(options: {
  method: string;
  path: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
  sourceIp?: string;
}): APIGatewayProxyEvent {
  const headers = {
    Host: "abc123.execute-api.eu-west-1.amazonaws.com",
    "X-Forwarded-Proto": "https",
    ...options.headers,
  };
  const query = options.query ?? null;
  return {
    resource: "/{proxy+}",
    path: options.path,
    httpMethod: options.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: query,
    multiValueQueryStringParameters: query
      ? Object.fromEntries(Object.entries(query).map(([name, value]) => [name, [value]]))
      : null,
    pathParameters: { proxy: options.path.replace(/^\//, "") },
    stageVariables: null,
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      authorizer: null,
      protocol: "HTTP/1.1",
      httpMethod: options.method,
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
        sourceIp: options.sourceIp ?? "203.0.113.7",
        user: null,
        userAgent: "vitest",
        userArn: null,
      },
      path: `/prod${options.path}`,
      stage: "prod",
      requestId: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
      requestTimeEpoch: 1_764_072_000_000,
      resourceId: "123456",
      resourcePath: "/{proxy+}",
    },
    body: options.body ?? null,
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
}

export function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "spacegate-api",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:spacegate-api",
    memoryLimitInMB: "1024",
    awsRequestId: "8f5e3c1a-0000-4000-8000-000000000000",
    logGroupName: "/aws/lambda/spacegate-api",
    logStreamName: "2026/11/25/[$LATEST]abcdef",
    getRemainingTimeInMillis: () => 30_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
