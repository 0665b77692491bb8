import { z } from "zod";
import { AppError } from "./errors";

export namespace Roles {
  /**
   * `admin` does everything; `operator` runs the day to day (syncs, retries, rotation, disabling,
   * headers) but not platform credentials, keys or who may sign in; `viewer` reads, never a secret.
   */
  export const Role = z.enum(["viewer", "operator", "admin"]);
  export type Role = z.infer<typeof Role>;

  const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

  export const allows = (held: Role, needed: Role) => RANK[held] >= RANK[needed];

  /** One rule: people in `group`, or with an e-mail address at `domain`, get `role`. */
  export type Rule = { role: Role } & ({ group: string } | { domain: string });

  /**
   * Reads the mapping setting: comma-separated `role:group` or `role:@domain` entries, for example
   * `admin:spacegate-admins,operator:spacegate-operators,viewer:@example.com`.
   */
  export function parseMapping(setting: string): Rule[] {
    return setting
      .split(",")
      .map((entry) => entry.trim())
      .filter(Boolean)
      .map((entry) => {
        const colon = entry.indexOf(":");
        const role = Role.safeParse(entry.slice(0, colon).trim());
        const match = entry.slice(colon + 1).trim();
        if (colon < 0 || !role.success || !match || match === "@") {
          throw new AppError(
            "sso_roles_invalid",
            `The role mapping entry "${entry}" is not valid: write role:group or role:@domain, with role one of admin, operator, viewer.`,
          );
        }
        return match.startsWith("@")
          ? { role: role.data, domain: match.slice(1).toLowerCase() }
          : { role: role.data, group: match };
      });
  }

  /**
   * The highest role the rules give a person, from the groups (or roles) claim and a verified e-mail
   * address; undefined when none does.
   */
  export function fromClaims(
    rules: Rule[],
    person: { groups: string[]; email?: string; emailVerified?: boolean },
  ): Role | undefined {
    const domain = person.email && person.emailVerified !== false ? person.email.split("@").pop() : undefined;
    let best: Role | undefined;
    for (const rule of rules) {
      const matches =
        "group" in rule ? person.groups.includes(rule.group) : domain?.toLowerCase() === rule.domain;
      if (matches && (best === undefined || allows(rule.role, best))) best = rule.role;
    }
    return best;
  }
}
