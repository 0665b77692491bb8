import { InternalServerError } from "@aws-sdk/client-dynamodb";
import type { Store } from "../../functions/core/store";

let intercepts = 0;

/**
 * Runs `intercept` before each DynamoDB command the store sends, with the command's name and its
 * input as JSON; what it throws is what the call answers. Returns the function that stops it.
 */
export function interceptDynamo(
  store: Store,
  intercept: (command: string, input: string) => Promise<void> | void,
): () => void {
  const name = `intercept${++intercepts}`;
  store.doc.middlewareStack.add(
    (next, context) => async (args) => {
      await intercept(String(context.commandName), JSON.stringify(args.input));
      return next(args);
    },
    { step: "initialize", name },
  );
  return () => void store.doc.middlewareStack.remove(name);
}

/** DynamoDB's answer when an internal error outlasts the SDK's retries. */
export const internalError = () =>
  new InternalServerError({ message: "Internal server error", $metadata: {} });
