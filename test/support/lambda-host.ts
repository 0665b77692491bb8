import { pathToFileURL } from "node:url";
import { installAwsLambdaGlobal, invokeStreaming, lambdaContext } from "./lambda-stream";

/**
 * Runs one Lambda bundle in its own process, as the Node.js runtime does: the bundle is loaded once
 * (its module initialisation is the cold start), then each message from the parent is an invocation.
 * A streaming handler's output is returned as the runtime would send it: the prelude, then the body.
 */
type Invocation = { id: number; event: unknown; streaming: boolean };

installAwsLambdaGlobal();
const bundle = (await import(pathToFileURL(process.argv[2] ?? "").href)) as {
  handler: (event: unknown, ...rest: unknown[]) => Promise<unknown>;
};

process.on("message", async ({ id, event, streaming }: Invocation) => {
  try {
    if (streaming) {
      const { stream, done } = invokeStreaming(bundle.handler as never, event as never);
      await done;
      const { prelude, body } = stream.received();
      process.send?.({ id, result: { prelude, body } });
    } else {
      process.send?.({ id, result: await bundle.handler(event, lambdaContext()) });
    }
  } catch (error) {
    process.send?.({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
process.send?.({ ready: true });
