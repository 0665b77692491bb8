import path from "node:path";
import { Actor } from "../core/actor";
import { type Config, readConfig } from "../core/config";
import { Envelope } from "../core/crypto/envelope";
import { DifyPools } from "../core/dify/connection";
import { MemoryQueue } from "../core/queue/memory";
import { Runtime } from "../core/runtime";
import { LocalSecretStore } from "../core/secrets/local";
import { Store } from "../core/store";
import { Sync } from "../core/sync";
import { securePrivateDir } from "./data-dir";
import { startDynalite } from "./dynalite";

export interface LocalRuntimeOptions {
  dataDir: string;
  /** Keep DynamoDB in memory instead of under dataDir (tests, benchmarks). */
  inMemory?: boolean;
  /** Settings over those read from `env`. */
  config?: Partial<Config>;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  queue?: ConstructorParameters<typeof MemoryQueue>[0];
  /** Run the sync worker on the in-process queue, as the SQS function does on AWS. */
  worker?: boolean;
}

/**
 * The runtime of one machine, set as this process's: DynamoDB served in-process by dynalite (under
 * the data directory, or in memory; reached over a private Unix socket), secrets in the encrypted file there, the in-process queue and,
 * when asked, its worker. The local product, the key rotation script and the tests each start theirs
 * here.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions) {
  securePrivateDir(options.dataDir);
  const config = { ...readConfig(options.env), tableName: "spacegate", ...options.config };
  const dynamo = await startDynalite({
    path: options.inMemory ? undefined : path.join(options.dataDir, "dynamodb"),
    socketDir: options.dataDir,
    tableName: config.tableName,
  });
  const secrets = new LocalSecretStore(options.dataDir);
  const queue = new MemoryQueue(options.queue);
  const runtime: Runtime = {
    config,
    store: new Store(dynamo.client, config.tableName),
    secrets,
    envelope: new Envelope(secrets),
    queue,
    pools: new DifyPools(),
    now: options.now ?? (() => new Date()),
  };
  Runtime.set(runtime);
  if (options.worker) {
    queue.consume((deliveries) =>
      Actor.run({ type: "system", id: "worker" }, () => Sync.handleBatch(deliveries)),
    );
  }
  return {
    runtime,
    queue,
    dynamo,
    async close() {
      await queue.close();
      await runtime.pools.closeAll();
      await dynamo.close();
    },
  };
}
