import type { BuildOptions } from "esbuild";

/**
 * How every Lambda entry is bundled: by SST on deploy (sst.config.ts), and by `npm run build:lambda`,
 * the smoke test and the bundle benchmark. The AWS SDK v3 is left out: the nodejs22.x runtime
 * provides it, which keeps the packages small and their cold starts short.
 */
export const lambdaEntries = {
  api: "functions/api/lambda.ts",
  gateway: "functions/gateway/lambda.ts",
  worker: "functions/worker/sqs.ts",
  refresh: "functions/worker/refresh.ts",
} as const;

export type LambdaName = keyof typeof lambdaEntries;

export const lambdaExternal = ["@aws-sdk/*"];

export const lambdaBuildOptions = {
  bundle: true,
  platform: "node",
  target: "node22",
  format: "esm",
  minify: true,
  mainFields: ["module", "main"],
  external: lambdaExternal,
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
      outputs[name as LambdaName] = outfile;
    }),
  );
  return outputs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outputs = await buildLambdas(process.argv[2] ?? "dist/lambda");
  for (const file of Object.values(outputs)) console.log(file);
}
