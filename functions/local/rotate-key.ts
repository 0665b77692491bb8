import path from "node:path";
import { Actor } from "../core/actor";
import { isAppError } from "../core/errors";
import { rotateEncryptionKey } from "../core/key-rotation";
import { startLocalRuntime } from "./runtime";

// The local data is opened by one process at a time: stop `npm start` first.
const local = await startLocalRuntime({ dataDir: path.resolve(process.env.SPACEGATE_DATA_DIR ?? ".data") });
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
  await local.close();
}
