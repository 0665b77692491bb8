import { z } from "zod";

/** A sync message: ids only, never a secret. One per (job, instance, space). */
export const SyncMessage = z.object({
  jobId: z.string(),
  instanceId: z.string(),
  platformId: z.string(),
  spaceId: z.string(),
});
export type SyncMessage = z.infer<typeof SyncMessage>;

/** The sync queue: SQS on AWS, an in-process queue with the same retry rules locally. */
export interface Queue {
  send(messages: SyncMessage[]): Promise<void>;
}

/**
 * Receives of one message before it is given up: the worker then marks its item failed, and the
 * queue moves it to the dead-letter queue (the SQS queue's maxReceiveCount, the in-process queue's
 * limit).
 */
export const MAX_RECEIVES = 5;

/** One receive of a message; `attempt` counts from 1. */
export interface Delivery {
  message: SyncMessage;
  attempt: number;
}

/**
 * Handles a batch of deliveries together, answering one settled result per delivery, in order: a
 * rejected one is delivered again (until MAX_RECEIVES).
 */
export type BatchHandler = (deliveries: Delivery[]) => Promise<PromiseSettledResult<unknown>[]>;
