import { AsyncLocalStorage } from "node:async_hooks";

/** Who is acting: the signed-in admin, or the system itself (worker, scheduler, local CLI). */
export interface Actor {
  type: "admin" | "system";
  id: string;
  ip?: string;
}

const storage = new AsyncLocalStorage<Actor>();

export const Actor = {
  run<T>(actor: Actor, fn: () => T): T {
    return storage.run(actor, fn);
  },
  current(): Actor {
    return storage.getStore() ?? { type: "system", id: "system" };
  },
};
