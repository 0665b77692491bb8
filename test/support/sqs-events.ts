import { createHash, randomUUID } from "node:crypto";
import type { SQSEvent, SQSRecord } from "aws-lambda";

/** An SQS record as Lambda's event source mapping delivers it. */
export function sqsRecord(
  body: string,
  options: { receiveCount?: number; messageId?: string } = {},
): SQSRecord {
  return {
    messageId: options.messageId ?? randomUUID(),
    receiptHandle: `AQEB${randomUUID().replaceAll("-", "")}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: "1764072000000",
      SenderId: "AROAEXAMPLE:spacegate-api",
      ApproximateFirstReceiveTimestamp: "1764072000100",
    },
    messageAttributes: {},
    md5OfBody: createHash("md5").update(body).digest("hex"),
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:spacegate-production-SyncQueue",
    awsRegion: "eu-west-1",
  };
}

export const sqsEvent = (records: SQSRecord[]): SQSEvent => ({ Records: records });
