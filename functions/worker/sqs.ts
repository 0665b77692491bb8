import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { Actor } from "../core/actor";
import { logger } from "../core/log";
import { SyncMessage } from "../core/queue";
import { getAwsRuntime } from "../core/runtime-aws";
import { Sync } from "../core/sync";

const processor = new BatchProcessor(EventType.SQS);

/**
 * One SQS record: a sync message. A malformed body or a transient failure throws, so the record is
 * reported in batchItemFailures and SQS delivers it again (after the visibility timeout, the
 * backoff); after five receives it goes to the dead-letter queue.
 */
export async function recordHandler(record: SQSRecord): Promise<void> {
  const message = SyncMessage.parse(JSON.parse(record.body));
  const attempt = Number(record.attributes.ApproximateReceiveCount ?? "1");
  await Actor.run({ type: "system", id: "worker" }, () => Sync.handle(message, attempt));
}

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  getAwsRuntime();
  logger.addContext(context);
  // A batch whose every record failed is reported record by record too, like any other.
  return processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false });
};
