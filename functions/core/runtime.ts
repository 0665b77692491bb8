import type { Config } from "./config";
import type { Envelope } from "./crypto/envelope";
import type { DifyPools } from "./dify/connection";
import type { Queue } from "./queue";
import type { SecretStore } from "./secrets";
import type { Store } from "./store";

/**
 * The adapters a process runs with, set once by its entry (API Lambda, worker, local product, a
 * test) and read by the domain modules.
 */
export interface Runtime {
  config: Config;
  store: Store;
  secrets: SecretStore;
  envelope: Envelope;
  queue: Queue;
  pools: DifyPools;
  now: () => Date;
}

let current: Runtime | undefined;

export const Runtime = {
  set(runtime: Runtime) {
    current = runtime;
  },
  get(): Runtime {
    if (!current) throw new Error("Runtime.set() was not called by this process's entry point.");
    return current;
  },
};

export const getRuntime = () => Runtime.get();
