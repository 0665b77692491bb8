import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { getRequestListener } from "@hono/node-server";
import { serveStatic } from "@hono/node-server/serve-static";
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { uiContentSecurityPolicy } from "../../web/csp";
import { createApi } from "../api/app";
import { Actor } from "../core/actor";
import { Auth } from "../core/auth";
import type { Config } from "../core/config";
import { AppError } from "../core/errors";
import { logger } from "../core/log";
import { Sync } from "../core/sync";
import { createGateway } from "../gateway/core";
import { nodeGateway } from "../gateway/node";
import { createStoreResolver, usageWriter } from "../gateway/resolver";
import { createPooledUpstream } from "../gateway/upstream-pooled";
import { createUsageRecorder } from "../gateway/usage";
import { startLocalRuntime } from "./runtime";

export interface LocalOptions {
  dataDir: string;
  port: number;
  host?: string;
  publicUrl?: string;
  adminPassword?: string;
  /** Keep DynamoDB in memory instead of under dataDir (tests). */
  inMemory?: boolean;
  webDir?: string;
  refreshIntervalMs?: number;
  /** Settings over those read from the environment (single sign-on, in tests). */
  config?: Partial<Config>;
}

const PLACEHOLDER = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Spacegate</title></head>
<body style="font-family:system-ui;margin:3rem"><h1>Spacegate</h1>
<p>The admin UI has not been built. Run <code>npm run build:web</code>, or use the API reference at <a href="/api/docs">/api/docs</a>.</p></body></html>`;

/**
 * The whole product in one process: the admin API at /api, the gateway at /gateway and the web UI
 * at /, over DynamoDB served by dynalite, secrets in an encrypted file and the in-process queue.
 */
export async function startLocal(options: LocalOptions) {
  const {
    runtime,
    dynamo,
    close: closeRuntime,
  } = await startLocalRuntime({
    dataDir: options.dataDir,
    inMemory: options.inMemory,
    config: {
      ...options.config,
      publicUrl: (options.publicUrl ?? `http://${displayHost(options.host)}:${options.port}`).replace(
        /\/+$/,
        "",
      ),
    },
    worker: true,
  });
  const { generatedPassword } = await Auth.ensureAdmin(options.adminPassword);
  const refresh = setInterval(
    () =>
      void Actor.run({ type: "system", id: "refresh" }, () => Sync.refresh()).catch((error) =>
        logger.warn("refresh failed", { error: String(error) }),
      ),
    options.refreshIntervalMs ?? 30 * 60_000,
  );
  refresh.unref();

  const app = new Hono();
  app.route("/", createApi());
  const usage = createUsageRecorder({
    flush: usageWriter(runtime.store),
    onError: (error) => logger.warn("usage flush failed", { error: String(error) }),
  });
  const logWriters: Record<string, typeof logger.info> = {
    error: logger.error,
    warn: logger.warn,
    debug: logger.debug,
  };
  const upstream = createPooledUpstream();
  const gateway = createGateway({
    resolver: createStoreResolver(runtime),
    mode: "local",
    usage,
    upstream,
    logCompleted: ["DEBUG", "TRACE"].includes(logger.getLevelName()),
    log: ({ level, msg, ...entry }) => {
      const write = logWriters[String(level)] ?? logger.info;
      write.call(logger, String(msg ?? "gateway request"), entry);
    },
  });
  const webDir = options.webDir ?? path.resolve("web/dist");
  // The UI never answers under /api: the API's own routes end every path there.
  const ui = new Hono();
  ui.use(
    "*",
    secureHeaders({
      xFrameOptions: "DENY",
      contentSecurityPolicy: { ...uiContentSecurityPolicy(), frameAncestors: ["'none'"] },
    }),
  );
  if (existsSync(path.join(webDir, "index.html"))) {
    const root = path.relative(process.cwd(), webDir);
    ui.use("/*", serveStatic({ root }));
    ui.get("*", serveStatic({ path: path.join(root, "index.html") }));
  } else {
    ui.get("*", (c) => c.html(PLACEHOLDER));
  }
  app.use("*", async (c, next) => (isApiPath(c.req.path) ? next() : ui.fetch(c.req.raw, c.env)));

  // The gateway is served straight from the listener, ahead of the API's and the UI's routes.
  const serveGateway = nodeGateway(gateway, {
    onError: (error) => logger.error("gateway failed", { error: String(error) }),
  });
  const serveApp = getRequestListener(app.fetch);
  const server = createServer((req, res) => {
    if (isGatewayPath(req.url)) serveGateway(req, res);
    else void serveApp(req, res);
  });
  const close = async () => {
    clearInterval(refresh);
    await upstream.close();
    usage.stop();
    await usage.flushNow().catch(() => {});
    await closeRuntime();
  };
  try {
    await listen(server, options.port, options.host ?? "127.0.0.1");
  } catch (error) {
    await close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${displayHost(options.host)}:${port}`;
  // Known only now when the port was chosen by the system (port 0).
  if (!options.publicUrl) runtime.config.publicUrl = url;

  return {
    url,
    port,
    runtime,
    storeSocket: dynamo.socketPath,
    gateway,
    usage,
    generatedPassword,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await close();
    },
  };
}

const isApiPath = (pathname: string) => pathname === "/api" || pathname.startsWith("/api/");

/** `/gateway` and everything under it, whatever the query. */
const isGatewayPath = (url = "") =>
  url.startsWith("/gateway") && (url.length === 8 || "/?".includes(url[8]!));

/** One name for this machine in every URL printed or written: localhost for a loopback or any address. */
const displayHost = (host = "127.0.0.1") =>
  ["127.0.0.1", "0.0.0.0", "::", "::1", "localhost"].includes(host) ? "localhost" : host;

/** Listens, or says in words that the port is taken (another Spacegate, or the demo, say). */
function listen(server: Server, port: number, host: string) {
  return new Promise<void>((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new AppError(
              "port_in_use",
              `Port ${port} on ${host} is already in use: is Spacegate or its demo already running? Stop it, or choose another port with PORT=${port + 1}.`,
              { cause: error },
            )
          : error,
      );
    server.once("error", fail);
    server.listen(port, host, () => {
      server.off("error", fail);
      resolve();
    });
  });
}
