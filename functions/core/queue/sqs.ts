import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { AppError } from "../errors";
import type { Queue, SyncMessage } from "./index";

export type SqsSender = Pick<SQSClient, "send">;

/** The sync queue on AWS. Messages go in batches of ten; a message SQS refuses is an error. */
export class SqsQueue implements Queue {
  constructor(
    private readonly queueUrl: string,
    private readonly client: SqsSender = new SQSClient({}),
  ) {}

  async send(messages: SyncMessage[]) {
    for (let start = 0; start < messages.length; start += 10) {
      const batch = messages.slice(start, start + 10);
      const result = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((message, index) => ({
            Id: String(index),
            MessageBody: JSON.stringify(message),
          })),
        }),
      );
      if (result.Failed?.length) {
        throw new AppError(
          "queue_unavailable",
          `The sync queue refused ${result.Failed.length} message(s). Retry the job.`,
        );
      }
    }
  }
}
