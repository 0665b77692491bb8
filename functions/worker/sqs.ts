import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { Actor } from "../core/actor";
import { logger } from "../core/log";
import { type Delivery, SyncMessage } from "../core/queue";
import { getAwsRuntime } from "../core/runtime-aws";
import { Sync } from "../core/sync";

const processor = new BatchProcessor(EventType.SQS);

function deliveryOf(record: SQSRecord): Delivery {
  return {
    message: SyncMessage.parse(JSON.parse(record.body)),
    attempt: Number(record.attributes.ApproximateReceiveCount ?? "1"),
  };
}

/**
 * A batch of sync messages, handled together (Sync.handleBatch). A malformed body or a transient
 * failure is reported in batchItemFailures, so SQS delivers that record again (after the
 * visibility timeout, the backoff); after MAX_RECEIVES it goes to the dead-letter queue.
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  getAwsRuntime();
  logger.addContext(context);
  const outcomes = new Map<string, PromiseSettledResult<unknown>>();
  const deliveries: Array<{ record: SQSRecord; delivery: Delivery }> = [];
  for (const record of event.Records) {
    try {
      deliveries.push({ record, delivery: deliveryOf(record) });
    } catch (error) {
      outcomes.set(record.messageId, { status: "rejected", reason: error });
    }
  }
  const results = await Actor.run({ type: "system", id: "worker" }, () =>
    Sync.handleBatch(deliveries.map(({ delivery }) => delivery)),
  );
  deliveries.forEach(({ record }, index) => {
    outcomes.set(record.messageId, results[index] ?? { status: "fulfilled", value: undefined });
  });
  // Powertools reports each record the way its outcome says; a batch whose every record failed too.
  return processPartialResponse(
    event,
    async (record: SQSRecord) => {
      const outcome = outcomes.get(record.messageId);
      if (outcome?.status === "rejected") throw outcome.reason;
    },
    processor,
    { context, throwOnFullBatchFailure: false },
  );
};
