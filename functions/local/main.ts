import path from "node:path";
import { isAppError } from "../core/errors";
import { logger } from "../core/log";
import { startLocal } from "./server";

const port = Number(process.env.PORT ?? 8787);
const dataDir = path.resolve(process.env.SPACEGATE_DATA_DIR ?? ".data");

// Listening before anything is printed: a Ctrl-C right after the banner must reach the handler.
let local: Awaited<ReturnType<typeof startLocal>> | undefined;
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info("shutting down", { signal });
  await local?.close();
  process.exit(0);
};
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));

try {
  local = await startLocal({
    dataDir,
    port,
    host: process.env.HOST ?? "127.0.0.1",
    publicUrl: process.env.SPACEGATE_PUBLIC_URL,
    adminPassword: process.env.SPACEGATE_ADMIN_PASSWORD,
  });
} catch (error) {
  if (!isAppError(error)) throw error;
  process.stderr.write(`\n  Spacegate could not start: ${error.message}\n\n`);
  process.exit(1);
}

const lines = [
  "",
  `  Spacegate is running at ${local.url}`,
  `  Admin UI      ${local.url}/`,
  `  API reference ${local.url}/api/docs`,
  `  Gateway       ${local.runtime.config.publicUrl}/gateway`,
  `  Data          ${dataDir}`,
  "",
];
if (local.generatedPassword) {
  lines.push(
    `  Admin password (shown once, stored hashed): ${local.generatedPassword}`,
    "  Set SPACEGATE_ADMIN_PASSWORD to choose your own.",
  );
} else if (process.env.SPACEGATE_ADMIN_PASSWORD) {
  lines.push("  Admin password: the one in SPACEGATE_ADMIN_PASSWORD.");
} else {
  lines.push(
    "  Admin password: the one printed when Spacegate first started (only its hash is kept).",
    "  Forgot it? Set SPACEGATE_ADMIN_PASSWORD to reset it, e.g.",
    "    SPACEGATE_ADMIN_PASSWORD='a long password' npm start",
  );
}
process.stdout.write(`${lines.join("\n")}\n\n`);
