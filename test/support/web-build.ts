import { spawn } from "node:child_process";
import path from "node:path";

/** Builds the web UI as `npm run build:web` does, into `outDir`, so a test drives the current source. */
export function buildWeb(outDir: string, env: Record<string, string> = {}) {
  return new Promise<void>((resolve, reject) => {
    const { NODE_ENV: _, ...inherited } = process.env;
    const child = spawn(
      path.resolve("node_modules/.bin/vite"),
      ["build", "web", "--outDir", outDir, "--emptyOutDir", "--logLevel", "error"],
      { env: { ...inherited, ...env }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`vite build failed: ${stderr}`)),
    );
  });
}
