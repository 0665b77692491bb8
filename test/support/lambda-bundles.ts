import { type ChildProcess, fork } from "node:child_process";
import { createCipheriv, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const hostPath = fileURLToPath(new URL("./lambda-host.ts", import.meta.url));

/**
 * The environment SST gives a deployed function: the app's name and stage, and the function's links
 * sealed in `resource.enc` with AES-256-GCM under SST_KEY (a zero nonce, the tag at the end), which
 * the `sst` SDK opens on first use.
 */
export function sstEnvironment(
  dir: string,
  links: Record<string, unknown>,
  app = { name: "spacegate", stage: "ci" },
) {
  const key = randomBytes(32);
  const cipher = createCipheriv("aes-256-gcm", key, Buffer.alloc(12, 0));
  const sealed = Buffer.concat([cipher.update(JSON.stringify(links)), cipher.final(), cipher.getAuthTag()]);
  const file = path.join(dir, "resource.enc");
  writeFileSync(file, sealed);
  return { SST_RESOURCE_App: JSON.stringify(app), SST_KEY: key.toString("base64"), SST_KEY_FILE: file };
}

/**
 * What the Lambda service sets in every function's environment; the role's credentials included (an
 * access key id of its own lets a stand-in service tell the functions apart).
 */
export function lambdaEnvironment(
  functionName: string,
  options: { region?: string; accessKeyId?: string } = {},
) {
  const region = options.region ?? "eu-west-1";
  return {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: options.accessKeyId ?? "ASIAEXAMPLEEXAMPLE00",
    AWS_SECRET_ACCESS_KEY: "example-secret-access-key",
    AWS_SESSION_TOKEN: "example-session-token",
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "1024",
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
    TZ: ":UTC",
  };
}

export type LambdaHost = {
  invoke<T = unknown>(event: unknown, options?: { streaming?: boolean }): Promise<T>;
  /** Everything the function printed (its logs). */
  output(): string;
  close(): Promise<void>;
};

/** Loads a bundle in a fresh Node process with exactly the given environment (see lambda-host.ts). */
export async function startLambdaHost(bundle: string, env: Record<string, string>): Promise<LambdaHost> {
  const child: ChildProcess = fork(hostPath, [bundle], {
    env: { PATH: process.env.PATH ?? "", ...env },
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) =>
      reject(new Error(`${bundle} exited with ${code} while loading:\n${output}`)),
    );
    child.on("message", (message: { ready?: boolean; id?: number; result?: unknown; error?: string }) => {
      if (message.ready) resolve();
      const waiter = message.id === undefined ? undefined : pending.get(message.id);
      if (!waiter || message.id === undefined) return;
      pending.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error));
      else waiter.resolve(message.result);
    });
  });

  let nextId = 0;
  return {
    invoke<T>(event: unknown, options: { streaming?: boolean } = {}) {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, event, streaming: options.streaming ?? false });
      });
    },
    output: () => output,
    async close() {
      child.kill();
      await exited;
    },
  };
}
