/**
 * Each Lambda bundle's size and its module initialisation time: the bundles are built as SST builds
 * them (bundle.config.ts), then each is loaded RUNS times in a fresh Node process with the
 * environment a deployed function has, timing the import of the bundle (what the function's cold
 * start spends on our code and the AWS SDK bundled with it) and the whole process.
 *
 *   npm run bench:bundles            RUNS=20 to change the count
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { buildLambdas, type LambdaName } from "../../bundle.config";
import { lambdaEnvironment, sstEnvironment } from "../support/lambda-bundles";

const RUNS = Number(process.env.RUNS ?? 20);
const AIM = { gateway: { kilobytes: 300, initMs: 150 } };
const run = promisify(execFile);

// The Lambda runtime's `awslambda` global, which the gateway's entry uses when it loads.
const runtimeGlobal = `data:text/javascript,${encodeURIComponent(
  "globalThis.awslambda={streamifyResponse:(h)=>h,HttpResponseStream:{from:(s)=>s}};",
)}`;

/** Loads the bundle once in a fresh process; returns the import's duration and the process's. */
async function initialise(bundle: string, env: Record<string, string>) {
  const script = [
    "const started = performance.now();",
    `await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
    "console.log(JSON.stringify({ importMs: performance.now() - started, uptimeMs: performance.now() }));",
  ].join("\n");
  const { stdout } = await run(
    process.execPath,
    ["--import", runtimeGlobal, "--input-type=module", "-e", script],
    { env: { PATH: process.env.PATH ?? "", ...env } },
  );
  const line = stdout.trim().split("\n").at(-1) ?? "{}";
  return JSON.parse(line) as { importMs: number; uptimeMs: number };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), "spacegate-bench-bundles-"));
  // Inside the project, so the bundles find the AWS SDK as they find the runtime's on Lambda.
  const outdir = path.resolve("dist/bench", path.basename(dir));
  mkdirSync(outdir, { recursive: true });
  try {
    const bundles = await buildLambdas(outdir);
    const env = {
      ...lambdaEnvironment("spacegate-bench"),
      ...sstEnvironment(dir, {
        Settings: {
          tableName: "spacegate-bench-Table",
          secretPrefix: "spacegate-bench",
          queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/spacegate-bench-SyncQueue",
          publicUrl: "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/bench",
          corsOrigin: "*",
        },
      }),
    };

    console.log(
      `Lambda bundles as SST builds them: minified ESM, AWS SDK v3 bundled; ${RUNS} fresh Node ${process.version} processes each`,
    );
    console.log(`${cpus().length} cores, load ${loadavg()[0]?.toFixed(2)}\n`);
    console.log(
      `${"bundle".padEnd(10)}| ${"KB".padStart(7)} | ${"gzip KB".padStart(7)} | ${"import p50 ms".padStart(13)} | ${"p90 ms".padStart(7)} | ${"process p50 ms".padStart(14)}`,
    );
    const results: Partial<Record<LambdaName, { kilobytes: number; importMs: number }>> = {};
    for (const [name, bundle] of Object.entries(bundles) as [LambdaName, string][]) {
      const kilobytes = statSync(bundle).size / 1024;
      const gzipKilobytes = gzipSync(readFileSync(bundle)).length / 1024;
      await initialise(bundle, env); // the first load warms the file system cache
      const samples: { importMs: number; uptimeMs: number }[] = [];
      for (let i = 0; i < RUNS; i++) samples.push(await initialise(bundle, env));
      const imports = samples.map((sample) => sample.importMs);
      const processes = samples.map((sample) => sample.uptimeMs);
      results[name] = { kilobytes, importMs: percentile(imports, 50) };
      console.log(
        `${name.padEnd(10)}| ${kilobytes.toFixed(1).padStart(7)} | ${gzipKilobytes.toFixed(1).padStart(7)} | ${percentile(imports, 50).toFixed(1).padStart(13)} | ${percentile(imports, 90).toFixed(1).padStart(7)} | ${percentile(processes, 50).toFixed(1).padStart(14)}`,
      );
    }

    const gateway = results.gateway;
    if (gateway) {
      const size = gateway.kilobytes <= AIM.gateway.kilobytes ? "met" : "MISSED";
      const init = gateway.importMs < AIM.gateway.initMs ? "met" : "MISSED";
      console.log(
        `\ngateway bundle ${gateway.kilobytes.toFixed(1)} KB (aim <= ${AIM.gateway.kilobytes} KB): ${size}; initialises in ${gateway.importMs.toFixed(1)} ms at p50 (aim < ${AIM.gateway.initMs} ms): ${init}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outdir, { recursive: true, force: true });
  }
}

await main();
