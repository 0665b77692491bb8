import { chmodSync, existsSync, mkdtempSync, rmSync, unlinkSync } from "node:fs";
import { Agent } from "node:http";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import { ensureTable } from "../core/store/table";

/** The longest socket path every Unix accepts (sun_path is 104 bytes on macOS, 108 on Linux). */
const MAX_SOCKET_PATH = 103;

/**
 * DynamoDB served in-process by dynalite, persisted under `path` when given (in memory otherwise),
 * with Spacegate's table created. It listens on no TCP port, only on a Unix socket of mode 0600 in
 * `socketDir` (a private directory of its own when not given, or when that path would be too long),
 * so no other user's process can reach it; the client reaches it through an agent that dials the
 * socket.
 */
export async function startDynalite(options: { path?: string; socketDir?: string; tableName: string }) {
  const preferred = options.socketDir && path.join(options.socketDir, "dynamodb.sock");
  const ownDir =
    preferred && Buffer.byteLength(preferred) <= MAX_SOCKET_PATH
      ? null
      : mkdtempSync(path.join(tmpdir(), "spacegate-dynamodb-"));
  const socketPath = ownDir ? path.join(ownDir, "dynamodb.sock") : (preferred as string);
  if (!ownDir) await removeStaleSocket(socketPath);

  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  });
  chmodSync(socketPath, 0o600);

  // The local product runs on the Node of the machine; the SDK's notice about Node 22 is for AWS.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const client = new DynamoDBClient({
    endpoint: "http://dynamodb.local",
    region: "local",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    requestHandler: { httpAgent: new SocketAgent(socketPath) },
  });
  await ensureTable(client, options.tableName);
  return {
    socketPath,
    client,
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

/** An HTTP agent whose every connection goes to one Unix socket, whatever host the URL names. */
class SocketAgent extends Agent {
  constructor(private readonly socketPath: string) {
    super({ keepAlive: true });
  }

  override createConnection() {
    return createConnection(this.socketPath);
  }
}

/**
 * A socket left by a process that ended without closing it is removed; one that answers belongs to
 * a running process, which keeps the data to itself.
 */
async function removeStaleSocket(socketPath: string) {
  if (!existsSync(socketPath)) return;
  const live = await new Promise<boolean>((resolve) => {
    const probe = createConnection(socketPath);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (live) {
    throw new Error(
      `Another Spacegate process is using ${path.dirname(socketPath)}. Stop it first (the data is opened by one process at a time).`,
    );
  }
  unlinkSync(socketPath);
}
