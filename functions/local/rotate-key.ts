import path from "node:path";
import { Actor } from "../core/actor";
import { readConfig } from "../core/config";
import { Envelope } from "../core/crypto/envelope";
import { DifyPools } from "../core/dify/connection";
import { isAppError } from "../core/errors";
import { rotateEncryptionKey } from "../core/key-rotation";
import { MemoryQueue } from "../core/queue/memory";
import { Runtime } from "../core/runtime";
import { LocalSecretStore } from "../core/secrets/local";
import { Store } from "../core/store";
import { securePrivateDir } from "./data-dir";
import { startDynalite } from "./dynalite";

// The local data is opened by one process at a time: stop `npm start` first.
const dataDir = path.resolve(process.env.SPACEGATE_DATA_DIR ?? ".data");
securePrivateDir(dataDir);
const dynamo = await startDynalite({
  path: path.join(dataDir, "dynamodb"),
  socketDir: dataDir,
  tableName: "spacegate",
});
const secrets = new LocalSecretStore(dataDir);
Runtime.set({
  config: { ...readConfig(), tableName: "spacegate" },
  store: new Store(dynamo.client, "spacegate"),
  secrets,
  envelope: new Envelope(secrets),
  queue: new MemoryQueue(),
  pools: new DifyPools(),
  now: () => new Date(),
});
try {
  const result = await Actor.run({ type: "system", id: "rotate-key" }, () => rotateEncryptionKey());
  process.stdout.write(
    `New encryption key ${result.keyId}: re-encrypted ${result.instances} instance(s) and ${result.grants} space credential(s).\n`,
  );
} catch (error) {
  const detail = isAppError(error) && error.details ? `\n${JSON.stringify(error.details)}` : "";
  process.stderr.write(`${isAppError(error) ? `${error.code}: ${error.message}` : String(error)}${detail}\n`);
  process.exitCode = 1;
} finally {
  await dynamo.close();
}
