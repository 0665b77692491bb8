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
import { Link } from "../router";
import { instancesQuery } from "./instances";
import { platformsQuery } from "./platforms";

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
  "auth.logout": "Signed out",
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

/** What a target is called, when Spacegate still knows it; the id otherwise. */
function useTargetName() {
  const instances = useQuery(instancesQuery);
  const platforms = useQuery(platformsQuery);
  const instance = (id: string) => instances.data?.find((i) => i.id === id)?.name;
  const platform = (id: string) => platforms.data?.find((p) => p.id === id)?.name;
  return ({ type, id }: AuditEvent["target"]): string => {
    if (type === "instance") return instance(id) ?? id;
    if (type === "platform") return platform(id) ?? id;
    if (type === "access") {
      const [instanceId = "", platformId = "", spaceId = ""] = id.split("/");
      return `${instance(instanceId) ?? instanceId} in space ${spaceId.slice(0, 8)}… of ${platform(platformId) ?? platformId}`;
    }
    return id;
  };
}

function Details({ details }: { details: AuditEvent["details"] }) {
  const entries = Object.entries(details ?? {}).filter(([, value]) => value !== undefined);
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <ul className="kv">
      {entries.map(([key, value]) => (
        <li key={key}>
          <span className="muted">{key}</span> {typeof value === "string" ? value : JSON.stringify(value)}
        </li>
      ))}
    </ul>
  );
}

export function AuditPage() {
  const [action, setAction] = useState("");
  const [targetType, setTargetType] = useState<TargetType | "">("");
  const [targetId, setTargetId] = useState("");
  const debouncedTarget = useDebounced(targetId.trim());
  const query: AuditQuery = {
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
  const targetName = useTargetName();

  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every change made by an admin or by Spacegate itself, newest first. No secret is ever recorded."
      />
      <form
        className="toolbar filters-bar"
        aria-label="Filter the audit log"
        onSubmit={(event) => event.preventDefault()}
      >
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
            action || targetType || debouncedTarget
              ? "No event matches these filters"
              : "Nothing recorded yet"
          }
        />
      ) : (
        <div className="table-wrap">
          <table className="table">
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
                    <td>
                      <Time iso={event.at} />
                    </td>
                    <td>
                      <div className="stack-xs">
                        <span>
                          {event.actor.type === "admin" ? "Admin" : `Spacegate (${event.actor.id})`}
                        </span>
                        {event.actor.ip && <span className="small muted mono">{event.actor.ip}</span>}
                      </div>
                    </td>
                    <td>
                      <div className="stack-xs">
                        <span>{ACTIONS[event.action] ?? event.action}</span>
                        <span className="small muted mono">{event.action}</span>
                      </div>
                    </td>
                    <td className="small">
                      <div className="stack-xs">
                        {link ? (
                          <Link to={link} title={event.target.id}>
                            {targetName(event.target)}
                          </Link>
                        ) : (
                          <span className="mono break">{event.target.id}</span>
                        )}
                        <span className="muted">{event.target.type}</span>
                      </div>
                    </td>
                    <td className="small">
                      <Details details={event.details} />
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
