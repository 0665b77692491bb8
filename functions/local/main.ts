import path from "node:path";
import { logger } from "../core/log";
import { startLocal } from "./server";

const port = Number(process.env.PORT ?? 8787);
const dataDir = path.resolve(process.env.SPACEGATE_DATA_DIR ?? ".data");

const local = await startLocal({
  dataDir,
  port,
  host: process.env.HOST ?? "127.0.0.1",
  publicUrl: process.env.SPACEGATE_PUBLIC_URL,
  adminPassword: process.env.SPACEGATE_ADMIN_PASSWORD,
});

const lines = [
  "",
  `  Spacegate is running at ${local.url}`,
  `  Admin UI      ${local.url}/`,
  `  API reference ${local.url}/api/docs`,
  `  Gateway       ${local.runtime.config.publicUrl}/gateway`,
  `  Data          ${dataDir}`,
];
if (local.generatedPassword) {
  lines.push(
    "",
    `  Admin password (shown once, stored hashed): ${local.generatedPassword}`,
    "  Set SPACEGATE_ADMIN_PASSWORD to choose your own.",
  );
}
process.stdout.write(`${lines.join("\n")}\n\n`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info("shutting down", { signal });
  await local.close();
  process.exit(0);
};
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
