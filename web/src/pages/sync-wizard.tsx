import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useRef, useState } from "react";
import { api, type Instance, type Space, type SyncStart, unwrap } from "../api/client";
import { InstanceIcon } from "../components/icons";
import {
  Button,
  EmptyState,
  ErrorState,
  Field,
  type HeaderRow,
  HeadersEditor,
  headerRow,
  headerValues,
  InlineError,
  Loading,
  Modal,
  PageHeader,
  SearchField,
  useDebounced,
  useToast,
} from "../components/ui";
import { explainCheck, KIND_LABELS, SPACE_REASONS } from "../components/words";
import {
  errorsUnder,
  type FieldErrors,
  hasErrors,
  serverFieldErrors,
  unnamedHeaderErrors,
  validate,
} from "../forms";
import { instancesQuery, platformsQuery } from "../queries";
import { Link, navigate } from "../router";
import { loadSchemas, mask } from "../schemas";
import { syncBlocker } from "./instances";
import { OwnerCell, SpaceStatus } from "./platforms";
import { toolList } from "./policy-fields";

/** The instances' default headers, merged: name → masked value (the first instance's wins). */
const defaultHeaders = (instances: Instance[]) => {
  const merged = new Map<string, string>();
  for (const instance of instances)
    for (const [name, masked] of Object.entries(instance.headers))
      if (![...merged.keys()].some((known) => known.toLowerCase() === name.toLowerCase()))
        merged.set(name, masked);
  return merged;
};

export function SyncWizardPage({ instanceIds }: { instanceIds: string[] }) {
  const instances = useQuery(instancesQuery);
  const platforms = useQuery(platformsQuery);
  const [chosenInstances, setChosenInstances] = useState<Set<string>>(() => new Set(instanceIds));
  const [platformId, setPlatformId] = useState<string | null>(null);
  const [spaces, setSpaces] = useState<Map<string, Space>>(new Map());
  const [headers, setHeaders] = useState<Map<string, HeaderRow[]>>(new Map());
  const [tools, setTools] = useState<Map<string, string>>(new Map());
  const [reviewing, setReviewing] = useState(false);
  const queryClient = useQueryClient();
  const toast = useToast();

  const selectedInstances = (instances.data ?? []).filter((instance) => chosenInstances.has(instance.id));
  const defaults = defaultHeaders(selectedInstances);
  const initialRows = useRef(new Map<string, HeaderRow[]>());
  const usablePlatforms = platforms.data ?? [];
  const effectivePlatformId = platformId ?? (usablePlatforms.length === 1 ? usablePlatforms[0]!.id : null);
  const platform = usablePlatforms.find((p) => p.id === effectivePlatformId);

  // Rows keep their keys across renders, so an input being typed into keeps its focus.
  const rowsFor = (spaceId: string): HeaderRow[] => {
    const edited = headers.get(spaceId);
    if (edited) return edited;
    const key = `${spaceId}|${[...defaults.keys()].join(",")}`;
    let rows = initialRows.current.get(key);
    if (!rows) {
      rows = [...defaults].map(([name, masked]) => headerRow(name, "", masked));
      initialRows.current.set(key, rows);
    }
    return rows;
  };

  const [errors, setErrors] = useState<FieldErrors>({});
  const chosenSpaces = [...spaces.values()];

  /** The request, or what is wrong with it: header errors keyed "<spaceId>.<header name>". */
  const request = async (): Promise<{ body?: SyncStart; errors?: FieldErrors }> => {
    const { SyncInput } = await loadSchemas();
    const body: SyncStart = {
      platformId: effectivePlatformId ?? "",
      instanceIds: selectedInstances.map((instance) => instance.id),
      spaces: chosenSpaces.map((space) => {
        const values = headerValues(rowsFor(space.id));
        const allowed = toolList(tools.get(space.id) ?? "");
        return {
          spaceId: space.id,
          ...(Object.keys(values).length > 0 ? { headers: values } : {}),
          ...(allowed ? { tools: allowed } : {}),
        };
      }),
    };
    const unnamed = Object.assign(
      {},
      ...chosenSpaces.map((space) => unnamedHeaderErrors(rowsFor(space.id), `${space.id}.headers`)),
    ) as FieldErrors;
    const checked = validate(SyncInput.Start, body);
    const found = { ...unnamed, ...bySpace(checked.errors ?? {}, body) };
    return hasErrors(found) ? { errors: found } : { body };
  };

  const start = useMutation({
    mutationFn: (body: SyncStart) => unwrap(api.POST("/api/syncs", { body })),
    onSuccess: (job) => {
      void queryClient.invalidateQueries({ queryKey: ["syncs"] });
      void queryClient.invalidateQueries({ queryKey: ["instances"] });
      void queryClient.invalidateQueries({ queryKey: ["instance"] });
      void queryClient.invalidateQueries({ queryKey: ["access"] });
      navigate(`/syncs/${job.id}`);
      toast(`Sync started: ${job.total} ${job.total === 1 ? "item" : "items"} queued.`);
    },
    onError: (error, body) => {
      const fields = bySpace(serverFieldErrors(error), body);
      if (hasErrors(fields)) {
        setErrors(fields);
        setReviewing(false);
      }
    },
  });

  const review = async () => {
    const next = await request();
    setErrors(next.errors ?? {});
    if (next.body) setReviewing(true);
  };

  if (instances.isPending || platforms.isPending) return <Loading label="Loading instances and platforms…" />;
  if (instances.isError) return <ErrorState error={instances.error} retry={() => void instances.refetch()} />;
  if (platforms.isError) return <ErrorState error={platforms.error} retry={() => void platforms.refetch()} />;

  const itemCount = selectedInstances.length * spaces.size;
  const ready = selectedInstances.length > 0 && platform !== undefined && spaces.size > 0;
  const blocked = selectedInstances
    .map((instance) => ({ instance, reason: syncBlocker(instance) }))
    .filter((entry): entry is { instance: Instance; reason: string } => entry.reason !== null);
  const spaceErrors = (spaceId: string) => errorsUnder(errors, spaceId);
  const errorList = Object.entries(errors).map(([path, message]) => {
    const [spaceId = "", ...rest] = path.split(".");
    const header = rest.join(".").replace(/^headers\.?/, "");
    const space = spaces.get(spaceId);
    return space
      ? `${space.name}: ${header && !header.startsWith("#") ? `header ${header}: ` : ""}${message}`
      : message;
  });

  return (
    <>
      <PageHeader
        back={<Link to="/instances">← Instances</Link>}
        title="Sync to Dify"
        description="Publish MCP instances into Dify spaces. Each space gets its own gateway credential and headers."
      />
      <ol className="wizard">
        <WizardStep number={1} title="Instances">
          {instances.data.length === 0 ? (
            <EmptyState title="No instances yet" action={<Link to="/instances/new">Add an instance</Link>} />
          ) : (
            <fieldset className="choice-grid">
              <legend className="sr-only">Instances to sync</legend>
              {instances.data.map((instance) => {
                const blocker = syncBlocker(instance);
                return (
                  <label
                    key={instance.id}
                    className={`choice${chosenInstances.has(instance.id) ? " selected" : ""}${blocker ? " choice-warning" : ""}`}
                  >
                    <input
                      type="checkbox"
                      checked={chosenInstances.has(instance.id)}
                      onChange={(event) =>
                        setChosenInstances((current) => {
                          const next = new Set(current);
                          if (event.target.checked) next.add(instance.id);
                          else next.delete(instance.id);
                          return next;
                        })
                      }
                    />
                    <InstanceIcon instance={instance} />
                    <span className="stack-xs">
                      <span className="strong">{instance.name}</span>
                      <span className="small muted">
                        {instance.toolCount} tools · in {instance.spaceCount} spaces
                      </span>
                      {blocker && <span className="small warning-text">{blocker}</span>}
                    </span>
                  </label>
                );
              })}
            </fieldset>
          )}
        </WizardStep>

        <WizardStep number={2} title="Agent platform">
          {platforms.data.length === 0 ? (
            <EmptyState
              title="No agent platforms yet"
              action={<Link to="/platforms/new">Add a platform</Link>}
            />
          ) : (
            <fieldset className="choice-grid">
              <legend className="sr-only">Agent platform</legend>
              {platforms.data.map((p) => (
                <label key={p.id} className={`choice${effectivePlatformId === p.id ? " selected" : ""}`}>
                  <input
                    type="radio"
                    name="platform"
                    checked={effectivePlatformId === p.id}
                    onChange={() => {
                      setPlatformId(p.id);
                      setSpaces(new Map());
                      setHeaders(new Map());
                      setErrors({});
                    }}
                  />
                  <span className="stack-xs">
                    <span className="strong">{p.name}</span>
                    <span className="small muted">
                      {KIND_LABELS[p.kind]}
                      {p.check && !p.check.ok && ` · ${explainCheck(p.check.code).title}`}
                    </span>
                  </span>
                </label>
              ))}
            </fieldset>
          )}
        </WizardStep>

        <WizardStep number={3} title="Spaces">
          {platform ? (
            <SpacePicker key={platform.id} platformId={platform.id} selected={spaces} onChange={setSpaces} />
          ) : (
            <p className="muted">Choose a platform first.</p>
          )}
        </WizardStep>

        <WizardStep number={4} title="Headers and tools per space">
          {spaces.size === 0 ? (
            <p className="muted">Choose spaces first.</p>
          ) : (
            <>
              <p className="small muted">
                Prefilled from the instances' default headers: leave a value empty to use the default, or type
                one for this space (a team's own API key, say).
              </p>
              <div className="stack-sm">
                {chosenSpaces.map((space) => {
                  const own = spaceErrors(space.id);
                  return (
                    <details key={space.id} className="space-headers" open={hasErrors(own) || undefined}>
                      <summary>
                        {space.name}{" "}
                        <span className="muted small">
                          ({Object.keys(headerValues(rowsFor(space.id))).length} set for this space)
                        </span>
                      </summary>
                      <HeadersEditor
                        label={`Headers for ${space.name}`}
                        storedHint="Default"
                        rows={rowsFor(space.id)}
                        onChange={(rows) => {
                          setHeaders((current) => new Map(current).set(space.id, rows));
                          setErrors((current) => withoutSpace(current, space.id));
                        }}
                        errors={errorsUnder(own, "headers")}
                        error={own.headers}
                      />
                      <Field
                        label={`Tools for ${space.name}`}
                        hint="Names separated by commas; empty gives the space every tool the instance allows."
                        error={own.tools}
                      >
                        {(props) => (
                          <input
                            {...props}
                            value={tools.get(space.id) ?? ""}
                            onChange={(event) =>
                              setTools((current) => new Map(current).set(space.id, event.target.value))
                            }
                          />
                        )}
                      </Field>
                    </details>
                  );
                })}
              </div>
            </>
          )}
        </WizardStep>
      </ol>

      <div className="sticky-actions">
        <Button variant="primary" disabled={!ready} onClick={() => void review()}>
          Review and sync
        </Button>
        <span aria-live="polite" className="small">
          {ready
            ? `${selectedInstances.length} ${selectedInstances.length === 1 ? "instance" : "instances"} × ${spaces.size} ${spaces.size === 1 ? "space" : "spaces"} = ${itemCount} to sync`
            : "Choose instances, a platform and spaces."}
        </span>
        {errorList.length > 0 && (
          <div className="field-error sticky-errors" role="alert">
            Nothing was sent. Correct these first:
            <ul>
              {errorList.map((message) => (
                <li key={message}>{message}</li>
              ))}
            </ul>
          </div>
        )}
      </div>

      <Modal
        open={reviewing}
        wide
        title="Start the sync?"
        onClose={() => setReviewing(false)}
        footer={
          <>
            <Button onClick={() => setReviewing(false)} disabled={start.isPending}>
              Back
            </Button>
            <Button
              variant="primary"
              busy={start.isPending}
              onClick={async () => {
                const next = await request();
                if (next.body) start.mutate(next.body);
              }}
            >
              {blocked.length > 0 ? "Start sync anyway" : "Start sync"}
            </Button>
          </>
        }
      >
        <p>
          Spacegate will write {selectedInstances.map((i) => i.name).join(", ")} into {spaces.size}{" "}
          {spaces.size === 1 ? "space" : "spaces"} of {platform?.name}, each with its own credential and these
          pass-through headers:
        </p>
        {blocked.length > 0 && (
          <div className="callout callout-warning" role="alert">
            <strong>
              {blocked.length === 1 ? "This instance is" : "These instances are"} not ready: their sync will
              fail
            </strong>
            {blocked.map(({ instance, reason }) => (
              <p key={instance.id}>
                <strong>{instance.name}</strong>: {reason}
              </p>
            ))}
          </div>
        )}
        <ul className="review-list">
          {chosenSpaces.slice(0, 20).map((space) => (
            <li key={space.id}>
              <span className="strong">{space.name}</span>
              <ReviewHeaders rows={rowsFor(space.id)} />
            </li>
          ))}
          {spaces.size > 20 && <li className="muted">and {spaces.size - 20} more</li>}
        </ul>
        <InlineError error={start.error} />
      </Modal>
    </>
  );
}

/** The headers a space will get, masked as saved headers are everywhere else. */
function ReviewHeaders({ rows }: { rows: HeaderRow[] }) {
  const shown = rows.filter((row) => row.name.trim() && (row.value !== "" || row.stored !== undefined));
  if (shown.length === 0) return <span className="small muted"> · no headers</span>;
  return (
    <ul className="kv small">
      {shown.map((row) => (
        <li key={row.key}>
          <span className="mono">{row.name.trim()}</span>:{" "}
          <span className="mono">{row.value !== "" ? mask(row.value) : row.stored}</span>{" "}
          <span className="muted">{row.value !== "" ? "(for this space)" : "(instance default)"}</span>
        </li>
      ))}
    </ul>
  );
}

/**
 * Field errors of a sync request with each `spaces.<index>.…` path renamed to `<spaceId>.…`, so a
 * problem is shown on the space it concerns and named by it, never by its place in the list.
 */
function bySpace(errors: FieldErrors, body: SyncStart): FieldErrors {
  const renamed: FieldErrors = {};
  for (const [path, message] of Object.entries(errors)) {
    const match = /^spaces\.(\d+)\.(.*)$/.exec(path);
    const spaceId = match ? body.spaces[Number(match[1])]?.spaceId : undefined;
    renamed[spaceId ? `${spaceId}.${match![2]}` : path] = message;
  }
  return renamed;
}

const withoutSpace = (errors: FieldErrors, spaceId: string) =>
  Object.fromEntries(Object.entries(errors).filter(([path]) => !path.startsWith(`${spaceId}.`)));

function SpacePicker({
  platformId,
  selected,
  onChange,
}: {
  platformId: string;
  selected: Map<string, Space>;
  onChange: (next: Map<string, Space>) => void;
}) {
  const [search, setSearch] = useState("");
  const term = useDebounced(search.trim());
  const spaces = useInfiniteQuery({
    queryKey: ["spaces", platformId, term],
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/platforms/{id}/spaces", {
          params: {
            path: { id: platformId },
            query: { search: term || undefined, cursor: pageParam, limit: 50 },
          },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    placeholderData: (previous) => previous,
  });
  const shown = spaces.data?.pages.flatMap((page) => page.items) ?? [];
  const selectable = shown.filter((space) => space.canEncrypt);
  const allShownSelected = selectable.length > 0 && selectable.every((space) => selected.has(space.id));
  const set = (space: Space, on: boolean) => {
    const next = new Map(selected);
    if (on) next.set(space.id, space);
    else next.delete(space.id);
    onChange(next);
  };

  return (
    <div className="stack-sm">
      <div className="toolbar">
        <SearchField label="Search spaces" placeholder="Name" value={search} onChange={setSearch} />
        <span className="small muted" aria-live="polite">
          {selected.size} selected
        </span>
      </div>
      {spaces.isPending ? (
        <Loading label="Reading spaces from Dify…" />
      ) : spaces.isError ? (
        <ErrorState
          error={spaces.error}
          title="Could not read the spaces"
          retry={() => void spaces.refetch()}
        />
      ) : shown.length === 0 ? (
        <EmptyState title={term ? `No space matches “${term}”` : "This Dify has no spaces"} />
      ) : (
        <div className="table-wrap">
          <table className="table table-stacked table-pick">
            <caption className="sr-only">Spaces to sync into</caption>
            <thead>
              <tr>
                <th scope="col" className="col-check">
                  <input
                    type="checkbox"
                    aria-label="Select all spaces shown"
                    checked={allShownSelected}
                    disabled={selectable.length === 0}
                    onChange={(event) => {
                      const next = new Map(selected);
                      for (const space of selectable) {
                        if (event.target.checked) next.set(space.id, space);
                        else next.delete(space.id);
                      }
                      onChange(next);
                    }}
                  />
                </th>
                <th scope="col">Space</th>
                <th scope="col">Owner</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((space) => (
                <tr
                  key={space.id}
                  className={`${space.canEncrypt ? "" : "disabled"}${selected.has(space.id) ? " selected" : ""}`}
                >
                  <td className="col-check">
                    <input
                      type="checkbox"
                      aria-label={`Select ${space.name}`}
                      aria-describedby={space.canEncrypt ? undefined : `reason-${space.id}`}
                      disabled={!space.canEncrypt}
                      checked={selected.has(space.id)}
                      onChange={(event) => set(space, event.target.checked)}
                    />
                  </td>
                  <td className="cell-title">
                    <div className="stack-xs">
                      <span className="strong">{space.name}</span>
                      {!space.canEncrypt && (
                        <span className="small muted" id={`reason-${space.id}`}>
                          {SPACE_REASONS[space.reason ?? ""] ?? "Spacegate cannot write to this space"}
                        </span>
                      )}
                    </div>
                  </td>
                  <td data-label="Owner">
                    <OwnerCell owner={space.owner} />
                  </td>
                  <td data-label="Status">
                    <SpaceStatus status={space.status} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {spaces.hasNextPage && (
        <Button onClick={() => void spaces.fetchNextPage()} busy={spaces.isFetchingNextPage}>
          Load more spaces
        </Button>
      )}
    </div>
  );
}

/** One numbered step of the wizard. */
function WizardStep({ number, title, children }: { number: number; title: string; children: ReactNode }) {
  return (
    <li className="card wizard-step">
      <h2>
        <span className="step-number" aria-hidden="true">
          {number}
        </span>
        {title}
      </h2>
      {children}
    </li>
  );
}
