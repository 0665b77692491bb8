import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, type SyncDetail, type SyncJob, unwrap } from "../api/client";
import { useRole } from "../api/role";
import {
  Button,
  EmptyState,
  ErrorState,
  InlineError,
  Loading,
  PageHeader,
  StatusBadge,
  Time,
  useConfirm,
  useToast,
} from "../components/ui";
import { ERROR_WORDS } from "../components/words";
import { instancesQuery, platformsQuery } from "../queries";
import { Link, navigate } from "../router";

const active = (job: SyncJob | undefined) => job?.status === "queued" || job?.status === "running";

const REASONS: Record<string, string> = {
  admin: "Started by an admin",
  instance_changed: "Instance changed",
  credential_rotated: "Credential rotated",
  tools_changed: "Tools changed upstream",
};

/** Names for the ids a job holds; what was removed since is called so, never shown as an id. */
function useNames(items: Array<{ instanceId: string; instanceName: string }> = []) {
  const platforms = useQuery(platformsQuery);
  const instances = useQuery(instancesQuery);
  return {
    platform: (id: string) => platforms.data?.find((p) => p.id === id)?.name ?? "a removed platform",
    instance: (id: string) =>
      instances.data?.find((i) => i.id === id)?.name ??
      items.find((item) => item.instanceId === id)?.instanceName ??
      "a removed instance",
  };
}

function Progress({ job }: { job: SyncJob }) {
  const finished = job.counts.synced + job.counts.failed + job.counts.cancelled;
  return (
    <div className="progress-wrap">
      <div
        className="bar"
        role="progressbar"
        aria-label="Items finished"
        aria-valuemin={0}
        aria-valuemax={job.total}
        aria-valuenow={finished}
        aria-valuetext={`${finished} of ${job.total} finished`}
      >
        {(["synced", "failed", "cancelled"] as const).map((status) => (
          <span
            key={status}
            className={`bar-${status}`}
            style={{ width: `${(100 * job.counts[status]) / Math.max(job.total, 1)}%` }}
          />
        ))}
      </div>
      <span className="small">
        {job.counts.synced}/{job.total} synced
        {job.counts.failed > 0 && <span className="error-text"> · {job.counts.failed} failed</span>}
      </span>
    </div>
  );
}

export function SyncsPage() {
  const names = useNames();
  const jobs = useInfiniteQuery({
    queryKey: ["syncs"],
    queryFn: ({ pageParam }) =>
      unwrap(api.GET("/api/syncs", { params: { query: { cursor: pageParam, limit: 25 } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    refetchInterval: (query) =>
      query.state.data?.pages.some((page) => page.items.some((job) => active(job))) ? 2000 : false,
  });
  const all = jobs.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <>
      <PageHeader
        title="Syncs"
        description="Every sync into Dify, newest first: started by you, by an instance change, a rotation or the scheduled tool refresh."
        actions={
          <Link className="btn btn-primary" to="/instances">
            New sync
          </Link>
        }
      />
      {jobs.isPending ? (
        <Loading label="Loading syncs…" />
      ) : jobs.isError ? (
        <ErrorState error={jobs.error} retry={() => void jobs.refetch()} />
      ) : all.length === 0 ? (
        <EmptyState
          title="No syncs yet"
          action={
            <Link className="btn btn-primary" to="/instances">
              Choose instances to sync
            </Link>
          }
        >
          Select instances on the Instances page and choose Sync to Dify.
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table table-stacked">
            <caption className="sr-only">Sync jobs</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Platform</th>
                <th scope="col">Instances</th>
                <th scope="col">Why</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
              </tr>
            </thead>
            <tbody>
              {all.map((job) => (
                <tr key={job.id}>
                  <td data-label="Started">
                    <Link to={`/syncs/${job.id}`}>
                      <Time iso={job.createdAt} />
                      <span className="sr-only"> — open this sync</span>
                    </Link>
                  </td>
                  <td data-label="Platform">{names.platform(job.platformId)}</td>
                  <td data-label="Instances">{job.instanceIds.map(names.instance).join(", ")}</td>
                  <td data-label="Why" className="small">
                    {REASONS[job.reason] ?? job.reason}
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={job.status} />
                  </td>
                  <td data-label="Progress">
                    <Progress job={job} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {jobs.hasNextPage && (
            <Button onClick={() => void jobs.fetchNextPage()} busy={jobs.isFetchingNextPage}>
              Load older syncs
            </Button>
          )}
        </div>
      )}
    </>
  );
}

const FILTERS = ["all", "failed", "queued", "running", "synced", "cancelled"] as const;

export function SyncJobPage({ id }: { id: string }) {
  const { can } = useRole();
  const queryClient = useQueryClient();
  const toast = useToast();
  const confirm = useConfirm();
  const [filter, setFilter] = useState<(typeof FILTERS)[number]>("all");
  const detail = useQuery({
    queryKey: ["sync", id],
    queryFn: () => unwrap(api.GET("/api/syncs/{id}", { params: { path: { id } } })),
    // Cancelling leaves started items running: follow them too.
    refetchInterval: (query) => {
      const data = query.state.data;
      const moving =
        active(data?.job) ||
        data?.items.some((item) => item.status === "queued" || item.status === "running");
      return moving ? 1000 : false;
    },
  });
  // When the job finishes, what the instances show (spaces, sync state) has changed.
  const finished =
    detail.data !== undefined &&
    !active(detail.data.job) &&
    !detail.data.items.some((item) => item.status === "queued" || item.status === "running");
  useEffect(() => {
    if (!finished) return;
    for (const queryKey of [["instances"], ["instance"], ["access"]])
      void queryClient.invalidateQueries({ queryKey });
  }, [finished, queryClient]);
  const afterAction = (job: SyncJob) => {
    queryClient.setQueryData<SyncDetail>(["sync", id], (current) =>
      current ? { ...current, job } : current,
    );
    void queryClient.invalidateQueries({ queryKey: ["sync", id] });
    void queryClient.invalidateQueries({ queryKey: ["syncs"] });
  };
  const retry = useMutation({
    mutationFn: () => unwrap(api.POST("/api/syncs/{id}/retry", { params: { path: { id } } })),
    onSuccess: (job) => {
      afterAction(job);
      toast("The failed items are queued again.");
    },
  });
  const cancel = useMutation({
    mutationFn: () => unwrap(api.POST("/api/syncs/{id}/cancel", { params: { path: { id } } })),
    onSuccess: (job) => {
      afterAction(job);
      toast("Items not yet started were cancelled.");
    },
  });
  const names = useNames(detail.data?.items);

  if (detail.isPending) return <Loading label="Loading the sync…" />;
  if (detail.isError) return <ErrorState error={detail.error} retry={() => void detail.refetch()} />;
  const { job, items } = detail.data;
  const shown = items.filter((item) => filter === "all" || item.status === filter);
  const running = active(job);

  return (
    <>
      <PageHeader
        back={<Link to="/syncs">← Syncs</Link>}
        title={
          <>
            Sync to {names.platform(job.platformId)} <StatusBadge status={job.status} />
          </>
        }
        description={
          <>
            {REASONS[job.reason] ?? job.reason} · <Time iso={job.createdAt} /> ·{" "}
            {job.instanceIds.map(names.instance).join(", ")}
          </>
        }
        actions={
          <>
            <Button
              hidden={!can("operator")}
              onClick={() => retry.mutate()}
              busy={retry.isPending}
              disabled={job.counts.failed === 0}
            >
              Retry failed{job.counts.failed > 0 ? ` (${job.counts.failed})` : ""}
            </Button>
            <Button
              variant="ghost"
              className="danger-text"
              hidden={!can("operator")}
              busy={cancel.isPending}
              disabled={!running}
              onClick={async () => {
                const ok = await confirm({
                  title: "Cancel this sync?",
                  message: "Items not yet started are cancelled. Items already written to Dify stay there.",
                  confirmLabel: "Cancel sync",
                  danger: true,
                });
                if (ok) cancel.mutate();
              }}
            >
              Cancel sync
            </Button>
          </>
        }
      />
      <InlineError error={retry.error ?? cancel.error} />
      <section className="card stack-sm" aria-label="Progress">
        <Progress job={job} />
        <p className="small" aria-live="polite" role="status">
          {running
            ? `Running: ${job.counts.synced} of ${job.total} synced, ${job.counts.queued} queued.`
            : job.status === "done"
              ? `Done: all ${job.counts.synced} synced.`
              : `Finished: ${job.counts.synced} synced, ${job.counts.failed} failed, ${job.counts.cancelled} cancelled.`}
        </p>
      </section>
      <fieldset className="filters">
        <legend className="sr-only">Show items</legend>
        {FILTERS.map((value) => {
          const count = value === "all" ? items.length : items.filter((item) => item.status === value).length;
          if (value !== "all" && count === 0) return null;
          return (
            <button
              key={value}
              type="button"
              className="chip"
              aria-pressed={filter === value}
              onClick={() => setFilter(value)}
            >
              {value === "all" ? "All" : value[0]!.toUpperCase() + value.slice(1)} ({count})
            </button>
          );
        })}
      </fieldset>
      {shown.length === 0 ? (
        <EmptyState title="No items to show" />
      ) : (
        <div className="table-wrap">
          <table className="table table-stacked">
            <caption className="sr-only">Items of this sync</caption>
            <thead>
              <tr>
                <th scope="col">Instance</th>
                <th scope="col">Space</th>
                <th scope="col">Status</th>
                <th scope="col">Error</th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((item) => (
                <tr key={`${item.instanceId}/${item.spaceId}`} data-space={item.spaceName}>
                  <td data-label="Instance">
                    <Link to={`/instances/${item.instanceId}/access`}>{item.instanceName}</Link>
                  </td>
                  <td data-label="Space">{item.spaceName}</td>
                  <td data-label="Status">
                    <div className="stack-xs">
                      <StatusBadge status={item.status} />
                      {item.repairedDrift && (
                        <span className="small muted">Repaired a row changed in Dify</span>
                      )}
                    </div>
                  </td>
                  <td data-label="Error" className={item.error ? undefined : "cell-empty"}>
                    {item.error ? (
                      <div className="stack-xs">
                        <span>{ERROR_WORDS[item.error.code] ?? item.error.message}</span>
                        <span className="small muted">
                          <code>{item.error.code}</code>
                          {ERROR_WORDS[item.error.code] ? ` · ${item.error.message}` : ""}
                        </span>
                      </div>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                  <td data-label="Attempts" className="num">
                    {item.attempts}
                  </td>
                  <td data-label="Updated">
                    <Time iso={item.finishedAt ?? item.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {job.counts.synced > 0 && !running && <WhereInDify items={items} />}
    </>
  );
}

/** After a sync: where its tools now are in Dify, and where their credentials are managed. */
function WhereInDify({ items }: { items: SyncDetail["items"] }) {
  const synced = items.filter((item) => item.status === "synced");
  const instances = [...new Map(synced.map((item) => [item.instanceId, item.instanceName]))];
  const spaces = [...new Set(synced.map((item) => item.spaceName))].sort((a, b) => a.localeCompare(b));
  return (
    <section className="callout callout-next" aria-labelledby="in-dify-title">
      <h2 id="in-dify-title">Where to find it in Dify</h2>
      <p>
        In Dify, switch to {spaces.length === 1 ? "the space" : "each of the spaces"}{" "}
        <strong>{spaces.join(", ")}</strong> and open <strong>Tools → MCP</strong>:{" "}
        {instances.map(([, name]) => name).join(", ")} {instances.length === 1 ? "is" : "are"} listed there,
        authorized, with {instances.length === 1 ? "its" : "their"} tools. Apps and agents in the space can
        add them at once.
      </p>
      <div className="button-row">
        {instances.map(([instanceId, name]) => (
          <Button key={instanceId} onClick={() => navigate(`/instances/${instanceId}/access`)}>
            Open the access configuration{instances.length > 1 ? ` of ${name}` : ""}
          </Button>
        ))}
      </div>
    </section>
  );
}
