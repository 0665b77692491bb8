import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lambdaArchitecture, lambdaNodejs, lambdaRuntime } from "../../bundle.config";
import { grants } from "../../stacks/permissions";
import {
  ACCOUNT,
  FAILED_DEPLOY,
  REGION,
  type Synthesis,
  type SynthesizedResource,
  stateOf,
  type Variant,
} from "../support/synthesize";

// sst.config.ts run with SST's own components under Pulumi's mocks (test/support/synthesize.ts), in
// the variants a team deploys, and in deliberately broken ones that the same checks must catch.

const run = promisify(execFile);
const platform = path.resolve(".sst/platform");
const sstVersion = JSON.parse(readFileSync("node_modules/sst/package.json", "utf8")).version as string;

/** `sst install` (from the npm registry only) unless .sst/platform already holds this SST's. */
async function ensurePlatform() {
  const version = path.join(platform, "version");
  const installed = existsSync(version) && readFileSync(version, "utf8").trim() === sstVersion;
  if (installed && existsSync(path.join(platform, "node_modules/@pulumi/aws"))) return;
  await run("npm", ["run", "sst:install"], { maxBuffer: 1 << 24 });
}

/** The static site reads its built files while deploying; build them once if this checkout has none. */
async function ensureWebBuild() {
  if (existsSync("web/dist/index.html")) return;
  await run("npm", ["run", "build:web"], { maxBuffer: 1 << 24 });
}

let dir: string;
async function synthesize(variant: Variant): Promise<Synthesis> {
  const variantFile = path.join(dir, `${variant.name}.json`);
  const resultFile = path.join(dir, `${variant.name}.result.json`);
  writeFileSync(variantFile, JSON.stringify(variant));
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("SPACEGATE_")),
  );
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "test/support/synthesize.ts", variantFile, resultFile],
      { env, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.once("exit", (code) =>
      code === 0 || code === FAILED_DEPLOY
        ? resolve()
        : reject(new Error(`synthesis of ${variant.name} failed:\n${stderr}`)),
    );
  });
  return JSON.parse(readFileSync(resultFile, "utf8")) as Synthesis;
}

const ALARM_EMAIL = "ops@example.com";
const DOMAIN = "mcp.example.com";
const WEB_ORIGIN = "https://admin.example.com";

const variants = {
  default: { name: "default", stage: "ci", env: {}, bundle: true },
  vpc: {
    name: "vpc",
    stage: "ci",
    env: { SPACEGATE_VPC_SUBNETS: "subnet-0a1b,subnet-0c2d", SPACEGATE_VPC_SECURITY_GROUPS: "sg-0e3f" },
  },
  domain: {
    name: "domain",
    stage: "ci",
    env: {
      SPACEGATE_DOMAIN: DOMAIN,
      SPACEGATE_WEB_ORIGIN: WEB_ORIGIN,
      SPACEGATE_GATEWAY_CONCURRENCY: "200",
      SPACEGATE_COGNITO: "on",
      SPACEGATE_PASSWORD_LOGIN: "off",
    },
  },
  production: { name: "production", stage: "prod", env: { SPACEGATE_ALARM_EMAIL: ALARM_EMAIL } },
  emailAsHandler: {
    name: "email-as-handler",
    stage: "ci",
    env: { SPACEGATE_ALARM_EMAIL: ALARM_EMAIL },
    patch: {
      file: "stacks/alarms.ts",
      from: `new aws.sns.TopicSubscription("AlarmEmail", { topic: alarms.arn, protocol: "email", endpoint: email })`,
      to: `alarms.subscribe("AlarmEmail", \`email:\${email}\`)`,
    },
  },
  missingGrant: {
    name: "missing-grant",
    stage: "ci",
    env: {},
    patch: { file: "stacks/api.ts", from: `permissions: permissionsOf("gateway"),`, to: "" },
  },
  shortVisibility: {
    name: "short-visibility",
    stage: "ci",
    env: {},
    patch: { file: "stacks/queue.ts", from: "workerTimeoutSeconds * 6", to: "workerTimeoutSeconds * 2" },
  },
} satisfies Record<string, Variant>;

type Name = keyof typeof variants;
const synthesized = {} as Record<Name, Synthesis>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "spacegate-synthesis-"));
  await Promise.all([ensurePlatform(), ensureWebBuild()]);
  // Two at a time: each loads SST's components and the AWS provider's SDK.
  const queue = Object.entries(variants) as [Name, Variant][];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift())
      synthesized[next[0]] = await synthesize(next[1]);
  };
  await Promise.all([worker(), worker()]);
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  rmSync(".sst/synth", { recursive: true, force: true });
});

const FUNCTIONS = {
  api: { memory: 1024, timeout: 29 },
  gateway: { memory: 1024, timeout: 900 },
  worker: { memory: 512, timeout: 60 },
  refresh: { memory: 512, timeout: 300 },
} as const;
type FunctionName = keyof typeof FUNCTIONS;

const ofType = (synthesis: Synthesis, type: string) =>
  synthesis.resources.filter((resource) => resource.type === type);

/** Each function's Lambda resource, told apart by the service name it logs under. */
function lambdaOf(synthesis: Synthesis, name: FunctionName): SynthesizedResource | undefined {
  return ofType(synthesis, "aws:lambda/function:Function").find(
    (fn) => fn.inputs.environment?.variables?.POWERTOOLS_SERVICE_NAME === `spacegate-${name}`,
  );
}

/** The ARN the provider gives a created resource (as the mocks compute it). */
const arnOf = (resource: SynthesizedResource | undefined) =>
  resource ? String(stateOf(resource.type, resource.name, resource.inputs).arn) : "(none)";
const tableArn = (synthesis: Synthesis) => arnOf(ofType(synthesis, "aws:dynamodb/table:Table")[0]);
const syncQueue = (synthesis: Synthesis) =>
  ofType(synthesis, "aws:sqs/queue:Queue").find((queue) => queue.inputs.redrivePolicy);
const deadLetterQueue = (synthesis: Synthesis) =>
  ofType(synthesis, "aws:sqs/queue:Queue").find((queue) => !queue.inputs.redrivePolicy);
const queueArn = arnOf;

/**
 * The IAM statements a function's role must hold: what stacks/permissions.ts grants it, spelled out
 * as IAM reads them, after what SST's queue subscription gives the worker to receive its messages.
 */
function expectedStatements(synthesis: Synthesis, name: FunctionName) {
  const prefix = `spacegate-${synthesis.app.stage}`;
  const receive = {
    Effect: "Allow",
    Action: [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
    ],
    Resource: [queueArn(syncQueue(synthesis))],
  };
  const granted = grants[name].map((grant) => ({
    Effect: "Allow",
    Action: grant.actions.map((action) => `${grant.service}:${action}`),
    Resource:
      grant.service === "dynamodb"
        ? [tableArn(synthesis), `${tableArn(synthesis)}/index/*`]
        : grant.service === "sqs"
          ? [queueArn(syncQueue(synthesis))]
          : grant.names.map(
              (secret) =>
                `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${prefix}/${secret.endsWith("*") ? secret : `${secret}-??????`}`,
            ),
  }));
  return name === "worker" ? [receive, ...granted] : granted;
}

/** The statements of the function's role: its inline policy, nothing else. */
function roleStatements(synthesis: Synthesis, name: FunctionName) {
  const fn = lambdaOf(synthesis, name);
  const role = ofType(synthesis, "aws:iam/role:Role").find(
    (candidate) => arnOf(candidate) === fn?.inputs.role,
  );
  const policies = (role?.inputs.inlinePolicies ?? []) as { policy: string }[];
  return policies.flatMap((policy) => JSON.parse(policy.policy).Statement);
}

/**
 * What a deploy of this stack must hold, as a list of what it does not: empty for a sound stack.
 * Every test below reads it, so a broken stack fails the same checks a sound one passes.
 */
function problems(synthesis: Synthesis): string[] {
  const found: string[] = [];
  const check = (ok: boolean, problem: string) => {
    if (!ok) found.push(problem);
  };
  for (const error of synthesis.errors) found.push(`deploy fails: ${error}`);

  for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
    const fn = lambdaOf(synthesis, name);
    if (!fn) {
      found.push(`no ${name} function`);
      continue;
    }
    check(fn.inputs.runtime === lambdaRuntime, `${name} runs on ${fn.inputs.runtime}`);
    check(fn.inputs.architectures?.[0] === lambdaArchitecture, `${name} runs on ${fn.inputs.architectures}`);
    check(fn.inputs.memorySize === FUNCTIONS[name].memory, `${name} has ${fn.inputs.memorySize} MB`);
    check(fn.inputs.timeout === FUNCTIONS[name].timeout, `${name} times out after ${fn.inputs.timeout} s`);
    const statements = roleStatements(synthesis, name);
    check(
      JSON.stringify(statements) === JSON.stringify(expectedStatements(synthesis, name)),
      `${name}'s role does not grant what stacks/permissions.ts says: ${JSON.stringify(statements)}`,
    );
  }

  const integrations = ofType(synthesis, "aws:apigateway/integration:Integration");
  const gateway = lambdaOf(synthesis, "gateway");
  const gatewayIntegration = integrations.find((integration) =>
    String(integration.inputs.uri).includes(`/functions/${arnOf(gateway)}/`),
  );
  check(
    gatewayIntegration?.inputs.uri ===
      `arn:aws:apigateway:${REGION}:lambda:path/2021-11-15/functions/${arnOf(gateway)}/response-streaming-invocations`,
    `the gateway is not invoked for a response stream: ${gatewayIntegration?.inputs.uri}`,
  );
  check(gatewayIntegration?.inputs.responseTransferMode === "STREAM", "the gateway's answers are buffered");
  check(
    gatewayIntegration?.inputs.timeoutMilliseconds === 900_000,
    `the gateway's integration times out after ${gatewayIntegration?.inputs.timeoutMilliseconds} ms`,
  );
  check(
    !ofType(synthesis, "aws:apigateway/method:Method").some(
      (method) => method.inputs.httpMethod === "OPTIONS",
    ) && !integrations.some((integration) => integration.inputs.type === "MOCK"),
    "API Gateway answers preflights itself (an OPTIONS MOCK), not the API",
  );

  const queue = syncQueue(synthesis);
  const worker = lambdaOf(synthesis, "worker");
  check(
    queue?.inputs.visibilityTimeoutSeconds >= 6 * (worker?.inputs.timeout ?? Number.POSITIVE_INFINITY),
    `the sync queue hides a message ${queue?.inputs.visibilityTimeoutSeconds} s, under 6 times the worker's ${worker?.inputs.timeout} s`,
  );
  const redrive = JSON.parse(queue?.inputs.redrivePolicy ?? "{}");
  check(
    redrive.deadLetterTargetArn === queueArn(deadLetterQueue(synthesis)) && redrive.maxReceiveCount === 5,
    `the sync queue's redrive is ${queue?.inputs.redrivePolicy}`,
  );
  check(
    deadLetterQueue(synthesis)?.inputs.messageRetentionSeconds === 14 * 24 * 60 * 60,
    "dead letters are not kept 14 days",
  );
  const mapping = ofType(synthesis, "aws:lambda/eventSourceMapping:EventSourceMapping")[0];
  check(
    mapping?.inputs.batchSize === 10 &&
      mapping.inputs.functionResponseTypes?.includes("ReportBatchItemFailures") &&
      mapping.inputs.eventSourceArn === queueArn(queue),
    "the worker does not take batches of 10 with partial batch responses",
  );

  const topicArn = arnOf(ofType(synthesis, "aws:sns/topic:Topic")[0]);
  const alarms = ofType(synthesis, "aws:cloudwatch/metricAlarm:MetricAlarm");
  check(
    alarms
      .map((alarm) => alarm.inputs.metricName ?? alarm.name)
      .sort()
      .join() === "5XXError,ApproximateNumberOfMessagesVisible,GatewayErrorRate",
    "the alarms are not the dead letters, the 5xx answers and the gateway's error rate",
  );
  const errorRate = alarms.find((alarm) => alarm.name === "GatewayErrorRate");
  const queries = (errorRate?.inputs.metricQueries ?? []) as Array<{
    id: string;
    expression?: string;
    metric?: { namespace: string; metricName: string; dimensions: Record<string, string> };
  }>;
  check(
    queries.find((query) => query.id === "rate")?.expression === "IF(calls >= 20, 100 * errors / calls, 0)" &&
      queries.find((query) => query.id === "errors")?.metric?.metricName === "Errors" &&
      queries.every((query) => query.expression || query.metric?.namespace === "Spacegate"),
    "the gateway's error-rate alarm does not divide the gateway's errors by its calls",
  );
  const dashboard = ofType(synthesis, "aws:cloudwatch/dashboard:Dashboard")[0];
  const widgets = dashboard
    ? (JSON.parse(String(dashboard.inputs.dashboardBody)).widgets as Array<{ properties: { title: string } }>)
    : [];
  check(
    [
      "Gateway calls, errors, limited",
      "Gateway error rate (%)",
      "Gateway latency (ms)",
      "Calls per instance",
    ].every((title) => widgets.some((widget) => widget.properties.title === title)),
    "the gateway dashboard does not show calls, errors, error rate, latency and calls per instance",
  );
  for (const alarm of alarms) {
    check(
      alarm.inputs.alarmActions?.[0] === topicArn && alarm.inputs.okActions?.[0] === topicArn,
      `${alarm.name} does not notify the alarms topic`,
    );
  }
  const email = synthesis.resources.find((resource) => resource.name === "AlarmEmail");
  if (email) {
    check(
      email?.type === "aws:sns/topicSubscription:TopicSubscription" &&
        email.inputs.protocol === "email" &&
        email.inputs.topic === topicArn,
      "the alarm email is not an email subscription to the alarms topic",
    );
  }
  return found;
}

describe("sst.config.ts synthesized with SST's components under Pulumi's mocks", () => {
  it.each(["default", "vpc", "domain", "production"] as const)(
    "the %s stack holds everything a deploy needs",
    (name) => {
      expect(problems(synthesized[name])).toEqual([]);
    },
  );

  it("the functions are bundled with the options SST gives its builder, the gateway within 300 KB", () => {
    const { builds } = synthesized.default;
    expect(builds).toHaveLength(4);
    for (const build of builds) {
      expect(build.runtime).toBe(lambdaRuntime);
      expect(build.properties).toEqual({ ...lambdaNodejs, architecture: lambdaArchitecture });
    }
    const gateway = builds.find((build) => build.handler === "functions/gateway/lambda.handler")!;
    expect(gateway.bundleBytes).toBeLessThanOrEqual(300 * 1024);
    // The SDK's default credential chain (container, SSO, profiles) stayed out.
    expect(readFileSync(gateway.bundle!, "utf8")).not.toContain("AWS_CONTAINER_CREDENTIALS");
  });

  it("the web UI is built with the API's URL, its own domain when it has one", () => {
    const builder = (name: Name) => ofType(synthesized[name], "command:local:Command")[0]?.inputs;
    expect(builder("default")?.environment.VITE_API_URL).toBe(
      `https://a1b2c3d4e5.execute-api.${REGION}.amazonaws.com/ci`,
    );
    expect(builder("domain")?.environment.VITE_API_URL).toBe(`https://${DOMAIN}`);
  });

  it("CloudFront answers the UI with its security headers, the API's origin the only one it may call", () => {
    const [viewerResponse] = ofType(synthesized.default, "aws:cloudfront/function:Function").filter((fn) =>
      String(fn.inputs.code).includes("event.response.headers"),
    );
    const code = String(viewerResponse?.inputs.code);
    expect(code).toContain(`"x-frame-options"] = { value: "DENY" }`);
    expect(code).toContain(`"x-content-type-options"] = { value: "nosniff" }`);
    expect(code).toMatch(
      /"content-security-policy"\] = \{ value: "default-src 'self';[^"]*frame-ancestors 'none'" \}/,
    );
    expect(code).toContain(`connect-src 'self' https://a1b2c3d4e5.execute-api.${REGION}.amazonaws.com;`);
  });

  it("API Gateway's own error answers carry the configured web origin", () => {
    for (const [name, origin] of [
      ["default", "*"],
      ["domain", WEB_ORIGIN],
    ] as const) {
      const responses = ofType(synthesized[name], "aws:apigateway/response:Response");
      expect(responses.map((response) => response.inputs.responseType).sort()).toEqual([
        "DEFAULT_4XX",
        "DEFAULT_5XX",
      ]);
      for (const response of responses) {
        expect(response.inputs.responseParameters["gatewayresponse.header.Access-Control-Allow-Origin"]).toBe(
          `'${origin}'`,
        );
      }
    }
  });

  it("a custom domain gets its certificate, records and mapping, and the functions its URL and the web origin", () => {
    const domain = ofType(synthesized.domain, "aws:apigateway/domainName:DomainName")[0];
    expect(domain?.inputs).toMatchObject({
      domainName: DOMAIN,
      endpointConfiguration: { types: "REGIONAL" },
    });
    expect(ofType(synthesized.domain, "aws:apigateway/basePathMapping:BasePathMapping")).toHaveLength(1);
    expect(ofType(synthesized.domain, "aws:acm/certificateValidation:CertificateValidation")).toHaveLength(1);
    for (const { links } of synthesized.domain.builds) {
      expect(links).toMatchObject({ Settings: { publicUrl: `https://${DOMAIN}`, corsOrigin: WEB_ORIGIN } });
    }
  });

  it("a Cognito user pool signs people in when configured, and only then: a public code-flow client back to the UI, a group per role", () => {
    const pools = ofType(synthesized.domain, "aws:cognito/userPool:UserPool");
    expect(pools).toHaveLength(1);
    const client = ofType(synthesized.domain, "aws:cognito/userPoolClient:UserPoolClient")[0];
    expect(client?.inputs).toMatchObject({
      generateSecret: false,
      allowedOauthFlows: ["code"],
      callbackUrls: [`${WEB_ORIGIN}/`],
    });
    const groups = ofType(synthesized.domain, "aws:cognito/userGroup:UserGroup").map(
      (group) => group.inputs.name,
    );
    expect(groups.sort()).toEqual(["spacegate-admin", "spacegate-operator", "spacegate-viewer"]);
    expect(ofType(synthesized.domain, "aws:cognito/userPoolDomain:UserPoolDomain")).toHaveLength(1);
    for (const { links } of synthesized.domain.builds) {
      expect(links).toMatchObject({
        Settings: {
          passwordLogin: "off",
          oidcIssuer: expect.stringMatching(/^https:\/\/cognito-idp\.eu-west-1\.amazonaws\.com\//),
          oidcRoles: "admin:spacegate-admin,operator:spacegate-operator,viewer:spacegate-viewer",
          oidcRolesClaim: "cognito:groups",
        },
      });
    }
    expect(ofType(synthesized.default, "aws:cognito/userPool:UserPool")).toHaveLength(0);
    for (const { links } of synthesized.default.builds) {
      expect(links.Settings).toMatchObject({ passwordLogin: "on" });
      expect(links.Settings).not.toHaveProperty("oidcIssuer");
    }
  });

  it("the gateway's concurrency is reserved when configured, and only then", () => {
    expect(lambdaOf(synthesized.domain, "gateway")?.inputs.reservedConcurrentExecutions).toBe(200);
    expect(lambdaOf(synthesized.default, "gateway")?.inputs.reservedConcurrentExecutions).toBeUndefined();
  });

  it("in a VPC, the functions that reach Dify run in its subnets and reach AWS through endpoints", () => {
    const synthesis = synthesized.vpc;
    for (const name of ["api", "worker", "refresh"] as const) {
      expect(lambdaOf(synthesis, name)?.inputs.vpcConfig).toMatchObject({
        subnetIds: ["subnet-0a1b", "subnet-0c2d"],
        securityGroupIds: ["sg-0e3f"],
      });
    }
    expect(lambdaOf(synthesis, "gateway")?.inputs.vpcConfig).toBeUndefined();
    const endpoints = ofType(synthesis, "aws:ec2/vpcEndpoint:VpcEndpoint").map((endpoint) => [
      endpoint.inputs.serviceName,
      endpoint.inputs.vpcEndpointType,
    ]);
    expect(endpoints.sort()).toEqual([
      [`com.amazonaws.${REGION}.dynamodb`, "Gateway"],
      [`com.amazonaws.${REGION}.secretsmanager`, "Interface"],
      [`com.amazonaws.${REGION}.sqs`, "Interface"],
    ]);
  });

  it("a production stage is protected and keeps its table and secrets when removed; others do not", () => {
    const kept = (synthesis: Synthesis) =>
      [
        ...ofType(synthesis, "aws:dynamodb/table:Table"),
        ...ofType(synthesis, "aws:secretsmanager/secret:Secret"),
      ].map((resource) => resource.retainOnDelete);
    expect(synthesized.production.app.protect).toBe(true);
    expect(kept(synthesized.production)).toEqual([true, true, true, true]);
    expect(kept(synthesized.default)).toEqual([false, false, false, false]);
    expect(
      ofType(synthesized.production, "aws:secretsmanager/secret:Secret")[0]?.inputs.recoveryWindowInDays,
    ).toBe(30);
  });

  it("the alarm email is an email subscription to the alarms topic", () => {
    const email = synthesized.production.resources.find((resource) => resource.name === "AlarmEmail");
    expect(email?.type).toBe("aws:sns/topicSubscription:TopicSubscription");
    expect(email?.inputs).toMatchObject({ protocol: "email", endpoint: ALARM_EMAIL });
  });
});

describe("a deliberately broken stack fails the same checks", () => {
  it("an alarm email given to SnsTopic.subscribe, which takes it for a function handler", () => {
    expect(problems(synthesized.emailAsHandler)).toEqual([
      `deploy fails: handler not found: email:${ALARM_EMAIL}`,
    ]);
  });

  it("a function that is not given its grants", () => {
    expect(problems(synthesized.missingGrant)).toEqual([
      expect.stringMatching(/^gateway's role does not grant what stacks\/permissions.ts says/),
    ]);
  });

  it("a queue that hides a message only twice the worker's timeout", () => {
    expect(problems(synthesized.shortVisibility)).toEqual([
      "the sync queue hides a message 120 s, under 6 times the worker's 60 s",
    ]);
  });
});

describe("SST's plugin bridge", () => {
  /** Sends resolve requests to SST's own bridge (functions/nodejs-runtime/plugin.mjs) as its CLI does. */
  async function resolveThroughBridge(paths: string[]) {
    const child = spawn(
      process.execPath,
      [path.join(platform, "functions/nodejs-runtime/plugin.mjs"), path.resolve(lambdaNodejs.plugins)],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const replies = new Map<number, Record<string, unknown>>();
    let buffered = "";
    const done = new Promise<void>((resolve) => {
      child.stdout.on("data", (chunk) => {
        buffered += chunk;
        for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
          const reply = JSON.parse(buffered.slice(0, end)) as { id: number; value: Record<string, unknown> };
          buffered = buffered.slice(end + 1);
          replies.set(reply.id, reply.value);
          if (replies.size === paths.length) resolve();
        }
      });
    });
    paths.forEach((request, id) => {
      const value = {
        path: request,
        importer: "/x.js",
        namespace: "file",
        resolveDir: "/",
        kind: "import-statement",
      };
      child.stdin.write(`${JSON.stringify({ id, command: "resolve", value })}\n`);
    });
    await done;
    child.kill();
    return paths.map((_, id) => replies.get(id));
  }

  it("takes the credential alias from bundle.plugins.mjs to esbuild, and leaves other imports alone", async () => {
    const [credentials, other] = await resolveThroughBridge(["@aws-sdk/credential-provider-node", "pg"]);
    expect(credentials).toEqual({ path: path.resolve("functions/core/aws-credentials.ts") });
    expect(other).toEqual({});
  });
});
