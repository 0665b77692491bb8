import { AsyncLocalStorage } from "node:async_hooks";
import type { Roles } from "./roles";

/**
 * Who is acting: a signed-in person, or the system itself (worker, scheduler, local CLI). A person
 * signed in with the password is `admin`; one signed in through the identity provider is named by
 * the issuer's subject and e-mail address.
 */
export interface Actor {
  type: "admin" | "system";
  id: string;
  email?: string;
  name?: string;
  role?: Roles.Role;
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
