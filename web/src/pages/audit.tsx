import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { type AuditEvent, type AuditQuery, api, unwrap } from "../api/client";
import {
  Button,
  EmptyState,
  ErrorState,
  Field,
  Loading,
  PageHeader,
  Time,
  useDebounced,
} from "../components/ui";
import { instancesQuery, platformsQuery } from "../queries";
import { Link } from "../router";
import { SessionsSection } from "./sessions";

const ACTIONS: Record<string, string> = {
  "platform.create": "Platform added",
  "platform.update": "Platform edited",
  "platform.check": "Platform checked",
  "platform.delete": "Platform removed",
  "instance.create": "Instance added",
  "instance.update": "Instance edited",
  "instance.discover": "Tools discovered",
  "instance.delete": "Instance removed",
  "access.create": "Access given",
  "access.update": "Access changed",
  "access.rotate": "Credential rotated",
  "access.reveal": "Credential revealed",
  "access.delete": "Access removed",
  "sync.start": "Sync started",
  "sync.retry": "Sync retried",
  "sync.cancel": "Sync cancelled",
  "keys.rotate": "Encryption key rotated",
  "auth.login": "Signed in",
  "auth.logout": "Signed out",
  "auth.session.revoke": "Session ended by an admin",
};

type TargetType = NonNullable<AuditQuery["targetType"]>;

/** The API's target types, each with its label: the compiler refuses one missing or unknown. */
const TARGET_TYPES: Record<TargetType, string> = {
  platform: "platform",
  instance: "instance",
  access: "access",
  sync: "sync",
  key: "encryption key",
  session: "session",
};

function targetLink(event: AuditEvent) {
  const { type, id } = event.target;
  if (type === "platform") return `/platforms/${id}`;
  if (type === "instance") return `/instances/${id}`;
  if (type === "sync") return `/syncs/${id}`;
  if (type === "access") return `/instances/${id.split("/")[0]}/access`;
  return null;
}

/** Names for what events refer to: the name recorded with the event, else the current one. */
function useNames() {
  const instances = useQuery(instancesQuery);
  const platforms = useQuery(platformsQuery);
  return {
    instance: (id: string, recorded?: unknown) =>
      instances.data?.find((i) => i.id === id)?.name ??
      (typeof recorded === "string" ? recorded : "a removed instance"),
    platform: (id: string, recorded?: unknown) =>
      platforms.data?.find((p) => p.id === id)?.name ??
      (typeof recorded === "string" ? recorded : "a removed platform"),
  };
}

type Names = ReturnType<typeof useNames>;

/** What an event is about, in words: "Echo tools in Marketing of Dify production". */
function targetName({ target, details }: AuditEvent, names: Names): string {
  const { type, id } = target;
  if (type === "instance") return names.instance(id, details?.name);
  if (type === "platform") return names.platform(id, details?.name);
  if (type === "access") {
    const [instanceId = "", platformId = ""] = id.split("/");
    const space = target.name ?? (typeof details?.spaceName === "string" ? details.spaceName : "a space");
    return `${names.instance(instanceId)} in ${space} of ${names.platform(platformId)}`;
  }
  if (type === "sync")
    return typeof details?.platformId === "string"
      ? `Sync to ${names.platform(details.platformId)}`
      : "A sync";
  if (type === "key") return "Encryption key";
  if (type === "session") return target.name ? `Session of ${target.name}` : "Admin session";
  return id;
}

/** An event's details in words: ids become names, lists are joined. */
function actorName(actor: AuditEvent["actor"]) {
  if (actor.type === "system") return `Spacegate (${actor.id})`;
  if (actor.id === "admin" && !actor.email) return "Admin (password)";
  return actor.name ?? actor.email ?? actor.id;
}

function Details({ details, names }: { details: AuditEvent["details"]; names: Names }) {
  const entries = Object.entries(details ?? {}).flatMap(([key, value]): Array<[string, string]> => {
    if (value === undefined) return [];
    if (key === "platformId" && typeof value === "string") return [["platform", names.platform(value)]];
    if (key === "instanceIds" && Array.isArray(value))
      return [["instances", value.map((id) => names.instance(String(id))).join(", ")]];
    if (key === "spaceName") return [["space", String(value)]];
    if (key === "name") return [];
    if (Array.isArray(value)) return [[key, value.join(", ")]];
    return [[key, typeof value === "string" ? value : JSON.stringify(value)]];
  });
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <ul className="kv">
      {entries.map(([key, value]) => (
        <li key={key}>
          <span className="muted">{DETAIL_LABELS[key] ?? key}</span> {value}
        </li>
      ))}
    </ul>
  );
}

const DETAIL_LABELS: Record<string, string> = {
  checkOk: "check passed",
  spaceCount: "spaces",
  fields: "changed",
  items: "items",
};

export function AuditPage() {
  const [action, setAction] = useState("");
  const [targetType, setTargetType] = useState<TargetType | "">("");
  const [targetId, setTargetId] = useState("");
  const [person, setPerson] = useState("");
  const debouncedTarget = useDebounced(targetId.trim());
  const debouncedPerson = useDebounced(person.trim());
  const query: AuditQuery = {
    actor: debouncedPerson || undefined,
    action: action || undefined,
    targetType: targetType || undefined,
    targetId: debouncedTarget || undefined,
    limit: 50,
  };
  const events = useInfiniteQuery({
    queryKey: ["audit", query],
    queryFn: ({ pageParam }) =>
      unwrap(api.GET("/api/audit", { params: { query: { ...query, cursor: pageParam } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    placeholderData: (previous) => previous,
  });
  const all = events.data?.pages.flatMap((page) => page.items) ?? [];
  const names = useNames();

  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every change made by an admin or by Spacegate itself, newest first. No secret is ever recorded."
      />
      <SessionsSection />
      <form
        className="toolbar filters-bar"
        aria-label="Filter the audit log"
        onSubmit={(event) => event.preventDefault()}
      >
        <Field label="Person" className="field-inline">
          {(props) => (
            <input
              {...props}
              type="search"
              placeholder="E-mail or subject"
              value={person}
              onChange={(event) => setPerson(event.target.value)}
            />
          )}
        </Field>
        <Field label="Action" className="field-inline">
          {(props) => (
            <select {...props} value={action} onChange={(event) => setAction(event.target.value)}>
              <option value="">All actions</option>
              {Object.entries(ACTIONS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Target type" className="field-inline">
          {(props) => (
            <select
              {...props}
              value={targetType}
              onChange={(event) => setTargetType(event.target.value as TargetType | "")}
            >
              <option value="">Any</option>
              {Object.entries(TARGET_TYPES).map(([type, label]) => (
                <option key={type} value={type}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Target id" className="field-inline">
          {(props) => (
            <input
              {...props}
              className="mono"
              placeholder="ins_…"
              value={targetId}
              onChange={(event) => setTargetId(event.target.value)}
            />
          )}
        </Field>
      </form>
      {events.isPending ? (
        <Loading label="Loading the audit log…" />
      ) : events.isError ? (
        <ErrorState error={events.error} retry={() => void events.refetch()} />
      ) : all.length === 0 ? (
        <EmptyState
          title={
            action || targetType || debouncedTarget || debouncedPerson
              ? "No event matches these filters"
              : "Nothing recorded yet"
          }
        />
      ) : (
        <div className="table-wrap">
          <table className="table table-stacked">
            <caption className="sr-only">Audit events</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">What</th>
                <th scope="col">Target</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {all.map((event) => {
                const link = targetLink(event);
                return (
                  <tr key={event.id}>
                    <td data-label="When">
                      <Time iso={event.at} />
                    </td>
                    <td data-label="Who">
                      <div className="stack-xs">
                        <span>{actorName(event.actor)}</span>
                        {event.actor.email && event.actor.name && (
                          <span className="small muted">{event.actor.email}</span>
                        )}
                        {event.actor.role && <span className="small muted">{event.actor.role}</span>}
                        {event.actor.ip && <span className="small muted mono">{event.actor.ip}</span>}
                      </div>
                    </td>
                    <td data-label="What">
                      <div className="stack-xs">
                        <span>{ACTIONS[event.action] ?? event.action}</span>
                        <span className="small muted mono">{event.action}</span>
                      </div>
                    </td>
                    <td data-label="Target" className="small">
                      <div className="stack-xs">
                        {link ? (
                          <Link to={link}>{targetName(event, names)}</Link>
                        ) : (
                          <span>{targetName(event, names)}</span>
                        )}
                        <span className="muted">{TARGET_TYPES[event.target.type]}</span>
                      </div>
                    </td>
                    <td data-label="Details" className="small">
                      <Details details={event.details} names={names} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {events.hasNextPage && (
            <Button onClick={() => void events.fetchNextPage()} busy={events.isFetchingNextPage}>
              Load older events
            </Button>
          )}
        </div>
      )}
    </>
  );
}
