import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import type { BuildOptions } from "esbuild";

/**
 * How every Lambda entry is bundled: by SST on deploy (sst.config.ts), and by `npm run build:lambda`,
 * the smoke test and the bundle benchmark. Everything is bundled, the AWS SDK included (one file
 * loads much faster than the runtime's SDK spread over many), from the SDK's ES module builds,
 * which shake better; its credential chain is replaced by the environment's credentials.
 */
export const lambdaEntries = {
  api: "functions/api/lambda.ts",
  gateway: "functions/gateway/lambda.ts",
  worker: "functions/worker/sqs.ts",
  refresh: "functions/worker/refresh.ts",
} as const;

export type LambdaName = keyof typeof lambdaEntries;

/**
 * Files an entry reads at run time, shipped in its package at `to` (SST's copyFiles; beside the
 * bundle for buildLambdas): the API reference's script and styles from the installed swagger-ui-dist.
 */
export const lambdaFiles: Partial<Record<LambdaName, { from: string; to: string }[]>> = {
  api: ["swagger-ui-bundle.js", "swagger-ui.css"].map((name) => ({
    from: `node_modules/swagger-ui-dist/${name}`,
    to: `swagger-ui/${name}`,
  })),
};

export const lambdaEsbuild = {
  mainFields: ["module", "main"],
  alias: { "@aws-sdk/credential-provider-node": `${process.cwd()}/functions/core/aws-credentials.ts` },
} satisfies BuildOptions;

export const lambdaBuildOptions = {
  bundle: true,
  platform: "node",
  target: "node22",
  format: "esm",
  minify: true,
  ...lambdaEsbuild,
  // Bundled CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import{createRequire}from'module';const require=createRequire(import.meta.url);" },
  logLevel: "warning",
} satisfies BuildOptions;

/** Bundles each entry to `<outdir>/<name>.mjs` and returns the paths. */
export async function buildLambdas(outdir: string): Promise<Record<LambdaName, string>> {
  const { build } = await import("esbuild");
  const outputs = {} as Record<LambdaName, string>;
  await Promise.all(
    Object.entries(lambdaEntries).map(async ([name, entry]) => {
      const outfile = `${outdir}/${name}.mjs`;
      await build({ ...lambdaBuildOptions, entryPoints: [entry], outfile });
      for (const file of lambdaFiles[name as LambdaName] ?? []) {
        await mkdir(path.dirname(`${outdir}/${file.to}`), { recursive: true });
        await copyFile(file.from, `${outdir}/${file.to}`);
      }
      outputs[name as LambdaName] = outfile;
    }),
  );
  return outputs;
}

/**
 * How the local product and the benchmarks that run it are bundled: our code in one module, its
 * packages loaded from node_modules. It runs compiled, as the Lambda entries do.
 */
export const nodeBuildOptions = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
} satisfies BuildOptions;

/** Bundles one Node entry (the local product, a benchmark) to `outfile`. */
export async function buildNode(entry: string, outfile: string): Promise<string> {
  const { build } = await import("esbuild");
  await build({ ...nodeBuildOptions, entryPoints: [entry], outfile });
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === "--local") {
    console.log(await buildNode("functions/local/main.ts", process.argv[3] ?? "dist/local/main.mjs"));
  } else {
    const outputs = await buildLambdas(process.argv[2] ?? "dist/lambda");
    for (const file of Object.values(outputs)) console.log(file);
  }
}
