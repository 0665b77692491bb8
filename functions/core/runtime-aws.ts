import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { readConfig } from "./config";
import { Envelope } from "./crypto/envelope";
import { DifyPools } from "./dify/connection";
import { SqsQueue } from "./queue/sqs";
import { Runtime } from "./runtime";
import { AwsSecretStore } from "./secrets/aws";
import { Store } from "./store";

/** The runtime of a Lambda function: the table, Secrets Manager and SQS named by its environment. */
export function getAwsRuntime(): Runtime {
  try {
    return Runtime.get();
  } catch {
    const config = readConfig();
    const secrets = new AwsSecretStore(config.secretPrefix);
    const runtime: Runtime = {
      config,
      store: new Store(new DynamoDBClient({}), config.tableName),
      secrets,
      envelope: new Envelope(secrets),
      queue: new SqsQueue(config.queueUrl ?? ""),
      pools: new DifyPools(),
      now: () => new Date(),
    };
    Runtime.set(runtime);
    return runtime;
  }
}
