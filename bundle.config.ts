import { readFileSync } from "node:fs";
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { BuildOptions, Plugin } from "esbuild";

/**
 * How every Lambda entry is bundled: by SST on deploy (sst.config.ts gives each function
 * `lambdaNodejs`), and, with the options SST's builder derives from it (`sstBuildOptions`), by
 * `npm run build:lambda`, the smoke test, the bundle benchmark and the synthesis test. Everything is
 * bundled, the AWS SDK included (one file loads much faster than the runtime's SDK spread over many),
 * from the SDK's ES module builds, which shake better; its credential chain is replaced by the
 * environment's credentials (bundle.plugins.mjs).
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

export const lambdaRuntime = "nodejs22.x";
export const lambdaArchitecture = "arm64";

/** The part of SST's `nodejs` function option that its Node builder reads. */
export type LambdaNodejs = {
  format?: "esm" | "cjs";
  minify?: boolean;
  banner?: string;
  /** A module exporting esbuild plugins, relative to the project's root. */
  plugins?: string;
  install?: Record<string, string>;
  esbuild?: {
    target?: string;
    sourcemap?: boolean | "linked" | "inline" | "external" | "both";
    keepNames?: boolean;
    define?: Record<string, string>;
    external?: string[];
    nodePaths?: string[];
    mainFields?: string[];
    conditions?: string[];
  };
};

/**
 * Packages installed beside a bundle instead of bundled in it, at the version this checkout tested:
 * jose verifies identity tokens for the few instances that ask, and would otherwise add to every
 * gateway cold start.
 */
const installed = (name: string) =>
  (JSON.parse(readFileSync(path.join("node_modules", name, "package.json"), "utf8")) as { version: string })
    .version;

export const lambdaNodejs = {
  format: "esm",
  minify: true,
  plugins: "bundle.plugins.mjs",
  install: { jose: installed("jose") },
  // keepNames is SST's default; nothing here reads function names at run time.
  esbuild: { mainFields: ["module", "main"], keepNames: false },
} satisfies LambdaNodejs;

const targetOfRuntime: Record<string, string> = {
  "nodejs24.x": "es2024",
  "nodejs22.x": "es2023",
  "nodejs20.x": "es2023",
};

/**
 * The esbuild options SST 4.17's Node builder (pkg/runtime/node/build.go in the sst repository)
 * derives from a function's `nodejs` and runtime. Of `nodejs.esbuild` it reads only the fields of
 * `LambdaNodejs`; anything else there, `alias` included, never reaches esbuild. `nodejs.plugins` is
 * loaded as SST loads it, from the project's root.
 */
export async function sstBuildOptions(nodejs: LambdaNodejs, runtime: string): Promise<BuildOptions> {
  const options = nodejs.esbuild ?? {};
  const plugins: Plugin[] = nodejs.plugins
    ? (await import(pathToFileURL(path.resolve(nodejs.plugins)).href)).default
    : [];
  const sourcemap = options.sourcemap ?? "linked";
  return {
    platform: "node",
    bundle: true,
    format: nodejs.format === "cjs" ? "cjs" : "esm",
    target: options.target?.startsWith("es") ? options.target : targetOfRuntime[runtime],
    external: ["sharp", "pg-native", ...Object.keys(nodejs.install ?? {}), ...(options.external ?? [])],
    keepNames: options.keepNames ?? true,
    sourcemap: sourcemap === true ? "linked" : sourcemap,
    mainFields: options.mainFields?.length ? options.mainFields : ["module", "main"],
    conditions: options.conditions,
    define: options.define,
    nodePaths: options.nodePaths,
    banner: {
      js: [
        `import { createRequire as topLevelCreateRequire } from 'module';`,
        `const require = topLevelCreateRequire(import.meta.url);`,
        `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
        `const __filename = topLevelFileUrlToPath(import.meta.url)`,
        `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
        nodejs.banner ?? "",
      ].join("\n"),
    },
    minifyWhitespace: nodejs.minify ?? false,
    minifySyntax: nodejs.minify ?? false,
    minifyIdentifiers: nodejs.minify ?? false,
    plugins,
    logLevel: "warning",
  };
}

/** Bundles each entry as SST bundles it on deploy, to `<outdir>/<name>.mjs`, and returns the paths. */
export async function buildLambdas(outdir: string): Promise<Record<LambdaName, string>> {
  const { build } = await import("esbuild");
  const options = await sstBuildOptions(lambdaNodejs, lambdaRuntime);
  const outputs = {} as Record<LambdaName, string>;
  await Promise.all(
    Object.entries(lambdaEntries).map(async ([name, entry]) => {
      const outfile = `${outdir}/${name}.mjs`;
      await build({ ...options, entryPoints: [entry], outfile });
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
