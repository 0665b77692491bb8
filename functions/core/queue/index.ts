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
