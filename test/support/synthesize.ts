/**
 * Runs sst.config.ts as `sst deploy` runs it, with SST's own component code from .sst/platform (what
 * `sst install` puts there) and the Pulumi it ships, but under Pulumi's mocks: every resource the
 * stack would register is recorded instead of created. Run in a process of its own per variant
 * (Pulumi's runtime is one per process):
 *
 *   node --import tsx test/support/synthesize.ts <variant.json> <result.json>
 *
 * It exits 0, or FAILED_DEPLOY when the deploy would fail (the errors are in the result).
 *
 * The CLI's part is stood in for as SST 4.17's CLI does it (pkg/project/run.go): the config is
 * bundled with esbuild with `$app`, `$cli` and `$dev` defined, the providers and `sst` imported
 * into every project file, and shim/run.js injected; the CLI's local RPC server answers the
 * components' calls (Runtime.Build bundles a function with the options SST's Node builder derives
 * from its `nodejs`; Provider.Aws.Bootstrap names the asset bucket).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";
import { sstBuildOptions } from "../../bundle.config";

export type Variant = {
  name: string;
  stage: string;
  /** Deploy-time settings (SPACEGATE_*). */
  env: Record<string, string>;
  /** Bundle each function for real (otherwise a placeholder handler is packaged). */
  bundle?: boolean;
  /** Text replaced in a project file before it is evaluated: a deliberately broken stack. */
  patch?: { file: string; from: string; to: string };
};

export type SynthesizedResource = {
  type: string;
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: resource inputs are whatever the provider takes.
  inputs: any;
  retainOnDelete: boolean;
};

export type FunctionBuild = {
  functionID: string;
  handler: string;
  runtime: string;
  properties: Record<string, unknown>;
  /** What the function's links resolve to, sealed into its package. */
  links: Record<string, unknown>;
  bundleBytes?: number;
  bundle?: string;
};

export type Synthesis = {
  app: { name: string; stage: string; removal: string; protect: boolean };
  resources: SynthesizedResource[];
  builds: FunctionBuild[];
  outputs: Record<string, unknown>;
  errors: string[];
};

/** The exit code of a synthesis whose deploy would fail; its result is written all the same. */
export const FAILED_DEPLOY = 3;

export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";

const root = process.cwd();
const platform = path.join(root, ".sst/platform");

/** What the AWS provider computes for a resource once created, as far as the stack reads it. */
// biome-ignore lint/suspicious/noExplicitAny: mocked provider state.
export function stateOf(type: string, name: string, inputs: any): Record<string, unknown> {
  const [, module = "", kind = ""] = type.split(":");
  const service = module.split("/")[0];
  const physical = inputs.name ?? `${name.toLowerCase()}-abc123`;
  const arn = `arn:aws:${service}:${REGION}:${ACCOUNT}:${kind.toLowerCase()}/${physical}`;
  const state: Record<string, unknown> = { ...inputs, id: `${name}-id`, arn, name: physical };
  if (type === "aws:lambda/function:Function") {
    state.arn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${physical}`;
    state.invokeArn = `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${state.arn}/invocations`;
    state.responseStreamingInvokeArn = `arn:aws:apigateway:${REGION}:lambda:path/2021-11-15/functions/${state.arn}/response-streaming-invocations`;
    state.qualifiedArn = `${state.arn}:$LATEST`;
    state.version = "$LATEST";
  }
  if (type === "aws:sqs/queue:Queue") {
    state.arn = `arn:aws:sqs:${REGION}:${ACCOUNT}:${physical}`;
    state.url = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${physical}`;
  }
  if (type === "aws:dynamodb/table:Table")
    state.arn = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${physical}`;
  if (type === "aws:apigateway/restApi:RestApi") {
    state.id = "a1b2c3d4e5";
    state.rootResourceId = "root0";
    state.executionArn = `arn:aws:execute-api:${REGION}:${ACCOUNT}:a1b2c3d4e5`;
  }
  if (type === "aws:apigateway/resource:Resource") state.id = `res-${inputs.pathPart}`;
  if (type === "aws:apigateway/stage:Stage") {
    state.invokeUrl = `https://a1b2c3d4e5.execute-api.${REGION}.amazonaws.com/${inputs.stageName}`;
  }
  if (type === "aws:cloudfront/distribution:Distribution") state.domainName = "d111111abcdef8.cloudfront.net";
  if (type === "aws:acm/certificate:Certificate") {
    state.domainValidationOptions = [
      {
        domainName: inputs.domainName,
        resourceRecordName: `_0example.${inputs.domainName}.`,
        resourceRecordType: "CNAME",
        resourceRecordValue: "_0example.acm-validations.aws.",
      },
    ];
  }
  // SST's Route 53 zone lookup, a dynamic resource its CLI answers.
  if (name.endsWith(".sst.aws.HostedZoneLookup")) state.zoneId = "Z0EXAMPLE";
  if (type === "aws:apigateway/domainName:DomainName") {
    state.regionalDomainName = `d-0example.execute-api.${REGION}.amazonaws.com`;
    state.regionalZoneId = "Z0REGIONAL";
  }
  return state;
}

/** The AWS provider's data sources the stack and SST's components call. */
// biome-ignore lint/suspicious/noExplicitAny: mocked provider answers.
function callOf(token: string, inputs: any): Record<string, unknown> {
  switch (token) {
    case "aws:index/getRegion:getRegion":
      return { name: REGION, region: REGION, id: REGION };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return {
        accountId: ACCOUNT,
        arn: `arn:aws:iam::${ACCOUNT}:user/ci`,
        userId: "AIDAEXAMPLE",
        id: ACCOUNT,
      };
    case "aws:ec2/getSubnet:getSubnet":
      return { ...inputs, vpcId: "vpc-0example", availabilityZone: `${REGION}a` };
    case "aws:ec2/getRouteTable:getRouteTable":
      return { ...inputs, routeTableId: `rtb-${inputs.subnetId}` };
    case "aws:route53/getZone:getZone":
      return { ...inputs, zoneId: "Z0EXAMPLE", id: "Z0EXAMPLE", name: inputs.name ?? "example.com" };
    case "aws:iam/getPolicyDocument:getPolicyDocument": {
      // biome-ignore lint/suspicious/noExplicitAny: IAM statements as SST passes them.
      const statements = (inputs.statements ?? []).map((statement: any) => ({
        Effect: statement.effect ?? "Allow",
        Action: statement.actions,
        Resource: statement.resources,
      }));
      return { json: JSON.stringify({ Version: "2012-10-17", Statement: statements }), statements };
    }
    default:
      return inputs;
  }
}

/** How the CLI finds a handler's file (pkg/runtime/node: the handler's path with a Node extension). */
function handlerFile(handler: string) {
  const dir = path.dirname(handler);
  const base = path.basename(handler).split(".").slice(0, -1).join(".");
  for (const ext of [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"]) {
    const file = path.join(root, dir, base + ext);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** The CLI's local RPC server, as far as the components call it while deploying. */
let building = 0;

function startRpc(variant: Variant, work: string, builds: FunctionBuild[]) {
  // biome-ignore lint/suspicious/noExplicitAny: RPC arguments as the components send them.
  const methods: Record<string, (args: any) => Promise<unknown>> = {
    "Provider.Aws.Bootstrap": async () => ({
      asset: `sst-asset-${ACCOUNT}`,
      assetEcrRegistryId: ACCOUNT,
      assetEcrUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/sst-asset`,
      state: `sst-state-${ACCOUNT}`,
      appsyncHttp: "",
      appsyncRealtime: "",
    }),
    "Runtime.Build": async (input) => {
      const file = handlerFile(input.handler);
      if (!file) throw new Error(`handler not found: ${input.handler}`);
      const out = path.join(work, "artifacts", `${input.functionID}-src`);
      mkdirSync(out, { recursive: true });
      const outfile = path.join(out, "bundle.mjs");
      const record: FunctionBuild = {
        functionID: input.functionID,
        handler: input.handler,
        runtime: input.runtime,
        properties: input.properties,
        links: input.links,
      };
      const sourcemaps: string[] = [];
      if (variant.bundle) {
        const options = await sstBuildOptions(input.properties, input.runtime);
        building++;
        await build({ ...options, entryPoints: [file], outfile }).finally(() => building--);
        record.bundle = outfile;
        record.bundleBytes = statSync(outfile).size;
        if (existsSync(`${outfile}.map`)) sourcemaps.push(`${outfile}.map`);
      } else {
        writeFileSync(outfile, "export const handler = async () => {};\n");
      }
      builds.push(record);
      return { handler: `bundle${path.extname(input.handler)}`, out, errors: [], sourcemaps };
    },
  };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", async () => {
      const { method, params } = JSON.parse(body) as { method: string; params: unknown[] };
      const call = methods[method];
      const reply = call
        ? await call(params[0]).then(
            (result) => ({ result }),
            (error: Error) => ({ error: error.message }),
          )
        : { error: `rpc: can't find method ${method}` };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply));
    });
  });
  return new Promise<{ url: string; close(): void }>((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, close: () => server.close() });
    }),
  );
}

/** The config's app(), evaluated as the CLI evaluates it, with the defaults the CLI fills in. */
async function appOf(stage: string) {
  (globalThis as Record<string, unknown>).$config = (config: unknown) => config;
  const config = (await import(pathToFileURL(path.join(root, "sst.config.ts")).href)).default as {
    app(input: { stage: string }): { name: string; removal?: string; protect?: boolean; home: string };
  };
  const app = config.app({ stage });
  return {
    name: app.name,
    stage,
    removal: app.removal ?? "retain",
    protect: app.protect ?? false,
    home: app.home,
    providers: { aws: { region: REGION } },
  };
}

/** Bundles the config as the CLI does (pkg/js.Build), into .sst/platform so its packages resolve. */
async function bundleConfig(variant: Variant, app: Awaited<ReturnType<typeof appOf>>, work: string) {
  const outfile = path.join(platform, `sst.config.synth-${variant.name}-${process.pid}.mjs`);
  const cli = {
    command: "deploy",
    dev: false,
    paths: { home: work, root, work, platform },
    state: { version: {} },
  };
  const globals = [
    `import * as aws from "@pulumi/aws";`,
    `import * as sst from "${platform}/src/components";`,
  ];
  let patched = false;
  const injectGlobals: Plugin = {
    name: "inject-globals",
    setup(b) {
      b.onLoad({ filter: /\.(js|ts|jsx|tsx)$/ }, (args) => {
        let contents = readFileSync(args.path, "utf8");
        if (variant.patch && args.path === path.join(root, variant.patch.file)) {
          if (!contents.includes(variant.patch.from)) {
            throw new Error(`${variant.patch.file} no longer holds ${JSON.stringify(variant.patch.from)}`);
          }
          contents = contents.replace(variant.patch.from, variant.patch.to);
          patched = true;
        }
        if (!args.path.includes(".sst")) contents = `${globals.join("\n")}\n${contents}`;
        return { contents, loader: "default" };
      });
    },
  };
  await build({
    stdin: {
      contents: [
        `import { run } from "${platform}/src/auto/run.ts";`,
        `import mod from "${path.join(root, "sst.config.ts")}";`,
        "const result = await run(mod.run);",
        "export default result;",
      ].join("\n"),
      resolveDir: root,
      sourcefile: "eval.ts",
      loader: "ts",
    },
    banner: {
      js: [
        `import { createRequire as topLevelCreateRequire } from 'module';`,
        "const require = topLevelCreateRequire(import.meta.url);",
        `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
        "const __filename = topLevelFileUrlToPath(import.meta.url)",
        `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
      ].join("\n"),
    },
    mainFields: ["module", "main"],
    format: "esm",
    platform: "node",
    nodePaths: [path.join(platform, "node_modules")],
    plugins: [injectGlobals],
    external: [
      "@pulumi/*",
      "undici",
      "@pulumiverse/*",
      "@sst-provider/*",
      "@aws-sdk/*",
      "esbuild",
      "archiver",
      "glob",
      "vite",
    ],
    define: { $app: JSON.stringify(app), $cli: JSON.stringify(cli), $dev: "false" },
    inject: [path.join(platform, "src/shim/run.js")],
    outfile,
    bundle: true,
    write: true,
    logLevel: "silent",
  });
  if (variant.patch && !patched) throw new Error(`${variant.patch.file} was not part of the config`);
  return outfile;
}

export async function synthesize(variant: Variant): Promise<Synthesis> {
  const work = path.join(root, ".sst/synth", `${variant.name}-${process.pid}`);
  mkdirSync(work, { recursive: true });
  for (const [key, value] of Object.entries(variant.env)) process.env[key] = value;
  process.env.SST_SECRETS = "{}";

  const errors: string[] = [];
  const record = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    if (!errors.includes(message)) errors.push(message);
  };
  process.on("unhandledRejection", record);
  process.on("uncaughtException", record);

  const builds: FunctionBuild[] = [];
  const rpc = await startRpc(variant, work, builds);
  process.env.SST_SERVER = rpc.url;

  const app = await appOf(variant.stage);
  const evalFile = await bundleConfig(variant, app, work);

  const require = createRequire(path.join(platform, "package.json"));
  // Pulumi as SST ships it (its types live in .sst/platform, outside this project's).
  const pulumi = require("@pulumi/pulumi") as {
    runtime: {
      setMocks(
        mocks: {
          // biome-ignore lint/suspicious/noExplicitAny: resource inputs are whatever the provider takes.
          newResource(args: { type: string; name: string; inputs: any }): { id: string; state: unknown };
          // biome-ignore lint/suspicious/noExplicitAny: data source arguments likewise.
          call(args: { token: string; inputs: any }): unknown;
        },
        project: string,
        stack: string,
        preview: boolean,
      ): Promise<void>;
    };
  };
  const { runInPulumiStack } = require("@pulumi/pulumi/runtime/stack") as {
    runInPulumiStack(init: () => Promise<Record<string, unknown>>): Promise<unknown>;
  };
  const settings = require("@pulumi/pulumi/runtime/settings") as {
    getMonitor(): { registerResource(req: unknown, callback: unknown): unknown };
    disconnect(): Promise<void>;
  };
  const resources: SynthesizedResource[] = [];
  const retained = new Map<string, boolean>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          retainOnDelete: retained.get(`${args.type}::${args.name}`) ?? false,
        });
        const state = stateOf(args.type, args.name, args.inputs);
        return { id: String(state.id), state };
      },
      call: (args) => callOf(args.token, args.inputs),
    },
    app.name,
    app.stage,
    false,
  );
  // The options the engine is given with each resource, which the mocks' arguments leave out.
  const monitor = settings.getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (
    req: { getType(): string; getName(): string; getRetainondelete(): boolean },
    callback: unknown,
  ) => {
    retained.set(`${req.getType()}::${req.getName()}`, req.getRetainondelete());
    return register(req, callback);
  };

  let outputs: Record<string, unknown> = {};
  // As the language host runs a program: inside the stack, the root of every resource.
  let resolved = false;
  const finished = runInPulumiStack(async () => (await import(pathToFileURL(evalFile).href)).default);
  finished.then(
    (value) => {
      outputs = value as Record<string, unknown>;
      resolved = true;
    },
    (error) => record(error),
  );
  // Resources created from other resources' outputs register later: wait until every call to the
  // engine has been answered and nothing new came of it. A failed resource leaves the stack's
  // outputs unresolved for good; then what was recorded up to there is the result.
  for (;;) {
    const before = resources.length;
    await settings.disconnect().catch(record);
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    if (resources.length === before && building === 0 && (resolved || errors.length > 0)) break;
  }
  rpc.close();
  rmSync(evalFile, { force: true });
  return {
    app: { name: app.name, stage: app.stage, removal: app.removal, protect: app.protect },
    resources,
    builds,
    outputs,
    errors,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [variantFile, resultFile] = process.argv.slice(2);
  const variant = JSON.parse(readFileSync(variantFile!, "utf8")) as Variant;
  // A resource whose outputs the mocks leave unknown would keep the stack waiting for ever.
  setTimeout(() => {
    console.error(`${variant.name}: the stack did not settle within 2 minutes`);
    process.exit(1);
  }, 120_000).unref();
  const result = await synthesize(variant);
  writeFileSync(resultFile!, JSON.stringify(result));
  // A failed deploy leaves its resources' promises pending, which Pulumi reports on a clean exit.
  process.exit(result.errors.length > 0 ? FAILED_DEPLOY : 0);
}
