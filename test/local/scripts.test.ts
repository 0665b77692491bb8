import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(".");
const TSX = path.join(ROOT, "node_modules/tsx/dist/loader.mjs");
const directories: string[] = [];
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.pid) process.kill(-child.pid, "SIGKILL");
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

const temporary = () => {
  const directory = mkdtempSync(path.join(tmpdir(), "spacegate-scripts-"));
  directories.push(directory);
  return directory;
};

/**
 * Runs a local script as `npm start` and `npm run demo` do, in a process group of its own (as a
 * terminal runs it), from a scratch directory so the demo's data directory is its own.
 */
function run(script: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", TSX, path.join(ROOT, script)], {
    cwd: temporary(),
    env: { ...process.env, LOG_LEVEL: "WARN", ...env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    output: () => stdout,
    errors: () => stderr,
    exited,
    /** Resolves once stdout holds `text`; rejects if the script ends first. */
    printed: (text: string) =>
      new Promise<string>((resolve, reject) => {
        const look = () => {
          if (stdout.includes(text)) {
            child.stdout?.off("data", look);
            resolve(stdout);
          }
        };
        child.stdout?.on("data", look);
        look();
        void exited.then((code) => reject(new Error(`exited ${code} before printing ${text}: ${stderr}`)));
      }),
    /** Ctrl-C in a terminal: SIGINT to the whole process group. */
    interrupt: () => process.kill(-child.pid!, "SIGINT"),
  };
}

const field = (output: string, label: string) =>
  new RegExp(`^\\s+${label}\\s+(\\S+)`, "m").exec(output)?.[1] ?? "";

describe("the local scripts", () => {
  it("stops the demo cleanly on Ctrl-C after it was used, and prints one host name and its database's SSL mode", async () => {
    const demo = run("dev/demo.ts", { PORT: "0" });
    const output = await demo.printed("Ctrl-C stops everything");
    expect(output).not.toContain("127.0.0.1");
    expect(output).toMatch(/SSL mode\s+Disable/);
    const url = /Open\s+(http:\/\/localhost:\d+)\//.exec(output)?.[1];
    const formLink = /(http:\/\/localhost:\d+\/#\/platforms\/new\?\S+)/.exec(output)?.[1];
    expect(new URL(formLink!).hash).toContain("ssl=disable");

    const login = await fetch(`${url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: field(output, "Password") }),
    });
    const { token } = (await login.json()) as { token: string };
    const [, databasePassword] = [...output.matchAll(/^\s+Password\s+(\S+)/gm)].map((match) => match[1]);
    const platform = await fetch(`${url}/api/platforms`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({
        name: "Demo Dify",
        kind: "dify-community",
        database: {
          host: field(output, "Host"),
          port: Number(field(output, "Port")),
          database: field(output, "Database"),
          user: field(output, "User"),
          password: databasePassword,
          ssl: "disable",
        },
      }),
    });
    const saved = (await platform.json()) as { id: string; check: { ok: boolean } };
    expect(saved.check.ok).toBe(true);
    const spaces = await fetch(`${url}/api/platforms/${saved.id}/spaces`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(spaces.status).toBe(200);

    demo.interrupt();
    expect(await demo.exited).toBe(0);
    expect(demo.errors()).not.toMatch(/Unhandled|error/i);
  }, 120_000);

  it("names a busy port in words instead of a stack", async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const start = run("functions/local/main.ts", { PORT: String(port), SPACEGATE_DATA_DIR: temporary() });
      expect(await start.exited).toBe(1);
      expect(start.errors()).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(start.errors()).not.toMatch(/EADDRINUSE|\n\s+at /);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  }, 60_000);

  it("tells on a restart how to reset the admin password it no longer shows", async () => {
    const dataDir = temporary();
    const first = run("functions/local/main.ts", { PORT: "0", SPACEGATE_DATA_DIR: dataDir });
    const shown = await first.printed("Admin password");
    expect(shown).toContain("Admin password (shown once, stored hashed)");
    expect(shown).not.toContain("127.0.0.1");
    first.interrupt();
    expect(await first.exited).toBe(0);

    const second = run("functions/local/main.ts", { PORT: "0", SPACEGATE_DATA_DIR: dataDir });
    const hint = await second.printed("SPACEGATE_ADMIN_PASSWORD");
    expect(hint).not.toContain("shown once");
    expect(hint).toContain("Set SPACEGATE_ADMIN_PASSWORD to reset it");
    second.interrupt();
    expect(await second.exited).toBe(0);
  }, 120_000);
});
