import { useMemo, useSyncExternalStore } from "react";
import { type Session, session } from "./client";

export type Role = Session["person"]["role"];
type Person = Session["person"];
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

// A string snapshot, so React sees the same value until the session really changes.
const snapshot = () => JSON.stringify(session.get()?.person ?? null);

/**
 * The signed-in person and what their role allows: `can("operator")` is true for operators and
 * admins. The API refuses the rest anyway (403 `forbidden_role`); the UI only hides or disables it.
 */
export function useRole() {
  const raw = useSyncExternalStore(session.subscribe, snapshot);
  return useMemo(() => {
    const person = JSON.parse(raw) as Person | null;
    const role: Role = person?.role ?? "viewer";
    return { person, role, can: (needed: Role) => RANK[role] >= RANK[needed] };
  }, [raw]);
}
