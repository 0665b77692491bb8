import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type RawExchange = {
  method: string;
  path: string;
  search: string;
  /** Header names lowercased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  bodyBytes: number;
  bodySha256: string;
  res: ServerResponse;
  /** Resolves when the connection of this exchange closes before the response ended. */
  aborted: Promise<void>;
};

export type RawUpstream = {
  url: string;
  exchanges: RawExchange[];
  /** Resolves with the next exchange (one already received but not yet taken, or the next to come). */
  nextExchange(): Promise<RawExchange>;
  close(): Promise<void>;
};

const listen = async (server: Server) => {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

/**
 * A plain node:http server that records each request (with a hash of its body) and leaves the answer
 * to the test: `respond` answers at once, or the test takes the exchange and writes when it wants.
 */
export async function startRawUpstream(respond?: (exchange: RawExchange) => void): Promise<RawUpstream> {
  const exchanges: RawExchange[] = [];
  const untaken: RawExchange[] = [];
  const takers: Array<(exchange: RawExchange) => void> = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const aborted = new Promise<void>((resolve) => {
      res.once("close", () => {
        if (!res.writableFinished) resolve();
      });
    });
    const hash = createHash("sha256");
    let bodyBytes = 0;
    try {
      for await (const chunk of req) {
        hash.update(chunk as Buffer);
        bodyBytes += (chunk as Buffer).length;
      }
    } catch {
      return; // The sender gave up mid-body: nothing to answer.
    }
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const exchange: RawExchange = {
      method: req.method ?? "",
      path: url.pathname,
      search: url.search,
      headers: Object.fromEntries(
        Object.entries(req.headers).flatMap(([name, value]) =>
          value === undefined ? [] : [[name, Array.isArray(value) ? value.join(", ") : value]],
        ),
      ),
      bodyBytes,
      bodySha256: hash.digest("hex"),
      res,
      aborted,
    };
    exchanges.push(exchange);
    if (respond) respond(exchange);
    const taker = takers.shift();
    if (taker) taker(exchange);
    else if (!respond) untaken.push(exchange);
  });
  const url = await listen(server);
  return {
    url,
    exchanges,
    nextExchange: () => {
      const ready = untaken.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => takers.push(resolve));
    },
    close: () => closeServer(server),
  };
}
