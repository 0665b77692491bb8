import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import {
  ApiError,
  api,
  collect,
  errorMessage,
  type Instance,
  type InstanceCreate,
  type InstanceUpdate,
  unwrap,
} from "../api/client";
import {
  Button,
  EmptyState,
  ErrorState,
  Field,
  type HeaderRow,
  HeadersEditor,
  headerUpdate,
  headerValues,
  Loading,
  PageHeader,
  rowsFromMasked,
  Segmented,
  StatusBadge,
  Switch,
  Time,
  useConfirm,
  useToast,
} from "../components/ui";
import { TRANSPORT_LABELS } from "../components/words";
import { Link, navigate } from "../router";
import { AccessPanel } from "./access";

export const instancesQuery = {
  queryKey: ["instances"],
  queryFn: () =>
    collect((cursor) => unwrap(api.GET("/api/instances", { params: { query: { cursor, limit: 200 } } }))),
};

const instanceQuery = (id: string) => ({
  queryKey: ["instance", id],
  queryFn: () => unwrap(api.GET("/api/instances/{id}", { params: { path: { id } } })),
});

export function InstanceHealth({ instance }: { instance: Instance }) {
  if (!instance.enabled) return <StatusBadge status="disabled" />;
  const discovery = instance.discovery;
  if (!discovery) return <StatusBadge status="unknown" />;
  if (discovery.ok) return <StatusBadge status="ok" />;
  return (
    <div className="stack-xs">
      <StatusBadge status="failed" label="Unreachable" />
      <span className="small muted" title={discovery.message}>
        <code>{discovery.code}</code>
      </span>
    </div>
  );
}

export function InstanceIcon({ instance }: { instance: Pick<Instance, "icon"> }) {
  return (
    <span className="instance-icon" style={{ background: instance.icon.background }} aria-hidden="true">
      {instance.icon.emoji}
    </span>
  );
}

export function InstancesPage() {
  const instances = useQuery(instancesQuery);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const all = instances.data ?? [];
  const allSelected = all.length > 0 && all.every((instance) => selected.has(instance.id));
  const toggle = (id: string, on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const chosen = all.filter((instance) => selected.has(instance.id));

  return (
    <>
      <PageHeader
        title="Instances"
        description="The MCP servers Spacegate publishes into Dify and stands in front of as a gateway."
        actions={
          <>
            <Button
              variant={chosen.length > 0 ? "primary" : "default"}
              disabled={chosen.length === 0}
              onClick={() => navigate(`/sync/new?instances=${chosen.map((i) => i.id).join(",")}`)}
            >
              Sync to Dify{chosen.length > 0 ? ` (${chosen.length})` : ""}
            </Button>
            <Link className="btn btn-primary" to="/instances/new">
              Add instance
            </Link>
          </>
        }
      />
      {instances.isPending ? (
        <Loading label="Loading instances…" />
      ) : instances.isError ? (
        <ErrorState error={instances.error} retry={() => void instances.refetch()} />
      ) : all.length === 0 ? (
        <EmptyState
          title="No instances yet"
          action={
            <Link className="btn btn-primary" to="/instances/new">
              Add your first instance
            </Link>
          }
        >
          Register an MCP server by its URL. Spacegate lists its tools, then publishes it into the Dify spaces
          you choose.
        </EmptyState>
      ) : (
        <>
          <p className="small muted" aria-live="polite">
            {chosen.length === 0
              ? "Select instances to sync them to Dify."
              : `${chosen.length} selected for sync.`}
          </p>
          <div className="table-wrap">
            <table className="table">
              <caption className="sr-only">Instances</caption>
              <thead>
                <tr>
                  <th scope="col" className="col-check">
                    <input
                      type="checkbox"
                      aria-label="Select all instances"
                      checked={allSelected}
                      onChange={(event) =>
                        setSelected(event.target.checked ? new Set(all.map((i) => i.id)) : new Set())
                      }
                    />
                  </th>
                  <th scope="col">Name</th>
                  <th scope="col">Upstream</th>
                  <th scope="col">Transport</th>
                  <th scope="col" className="num">
                    Tools
                  </th>
                  <th scope="col" className="num">
                    Spaces
                  </th>
                  <th scope="col">Health</th>
                </tr>
              </thead>
              <tbody>
                {all.map((instance) => (
                  <tr key={instance.id} className={selected.has(instance.id) ? "selected" : undefined}>
                    <td className="col-check">
                      <input
                        type="checkbox"
                        aria-label={`Select ${instance.name}`}
                        checked={selected.has(instance.id)}
                        onChange={(event) => toggle(instance.id, event.target.checked)}
                      />
                    </td>
                    <td>
                      <div className="name-cell">
                        <InstanceIcon instance={instance} />
                        <div className="stack-xs">
                          <Link to={`/instances/${instance.id}`} className="strong">
                            {instance.name}
                          </Link>
                          <span className="small muted mono">{instance.identifier}</span>
                        </div>
                      </div>
                    </td>
                    <td className="mono small break">{instance.upstream.url}</td>
                    <td>{TRANSPORT_LABELS[instance.upstream.transport]}</td>
                    <td className="num">{instance.toolCount}</td>
                    <td className="num">{instance.spaceCount}</td>
                    <td>
                      <InstanceHealth instance={instance} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}

export function InstanceCreatePage() {
  return (
    <>
      <PageHeader
        back={<Link to="/instances">← Instances</Link>}
        title="Add an instance"
        description="An MCP server Spacegate will publish into Dify. Its tools are listed when you save."
      />
      <InstanceForm />
    </>
  );
}

const TABS = [
  { id: "tools", label: "Tools" },
  { id: "access", label: "Access configuration" },
  { id: "settings", label: "Settings" },
];

export function InstanceDetailPage({ id, tab }: { id: string; tab: string }) {
  const instance = useQuery(instanceQuery(id));
  const queryClient = useQueryClient();
  const toast = useToast();
  const confirm = useConfirm();
  const discover = useMutation({
    mutationFn: () => unwrap(api.POST("/api/instances/{id}/discover", { params: { path: { id } } })),
    onSuccess: (info) => {
      queryClient.setQueryData(["instance", id], info);
      void queryClient.invalidateQueries({ queryKey: ["tools", id] });
      void queryClient.invalidateQueries({ queryKey: ["instances"] });
      if (info.discovery?.ok) toast("success", `Found ${info.discovery.toolCount} tools on ${info.name}.`);
      else toast("error", `Discovery failed: ${info.discovery?.message ?? "no answer"}`);
    },
    onError: (error) => toast("error", errorMessage(error)),
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/instances/{id}", { params: { path: { id } } })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["instances"] });
      toast("success", "Instance removed.");
      navigate("/instances");
    },
    onError: (error) => toast("error", errorMessage(error)),
  });

  if (instance.isPending) return <Loading label="Loading the instance…" />;
  if (instance.isError) return <ErrorState error={instance.error} retry={() => void instance.refetch()} />;
  const info = instance.data;
  return (
    <>
      <PageHeader
        back={<Link to="/instances">← Instances</Link>}
        title={
          <span className="name-cell">
            <InstanceIcon instance={info} />
            {info.name}
          </span>
        }
        description={
          <>
            <span className="mono">{info.upstream.url}</span> · {TRANSPORT_LABELS[info.upstream.transport]} ·{" "}
            {info.spaceCount} {info.spaceCount === 1 ? "space" : "spaces"}
          </>
        }
        actions={
          <>
            <Button onClick={() => discover.mutate()} busy={discover.isPending}>
              Discover tools
            </Button>
            <Button variant="primary" onClick={() => navigate(`/sync/new?instances=${info.id}`)}>
              Sync to Dify
            </Button>
            <Button
              variant="ghost"
              className="danger-text"
              busy={remove.isPending}
              onClick={async () => {
                const ok = await confirm({
                  title: `Remove ${info.name}?`,
                  message:
                    info.spaceCount > 0
                      ? `${info.name} is in ${info.spaceCount} spaces. Remove their access first (Access configuration), then remove the instance.`
                      : "Spacegate forgets this instance, its headers and its tools.",
                  confirmLabel: "Remove instance",
                  danger: true,
                });
                if (ok) remove.mutate();
              }}
            >
              Remove
            </Button>
          </>
        }
      />
      <nav className="tabs" aria-label="Instance sections">
        {TABS.map((item) => (
          <Link
            key={item.id}
            to={`/instances/${id}/${item.id}`}
            aria-current={tab === item.id ? "page" : undefined}
          >
            {item.label}
          </Link>
        ))}
      </nav>
      {tab === "access" ? (
        <AccessPanel instance={info} />
      ) : tab === "settings" ? (
        <InstanceForm instance={info} />
      ) : (
        <ToolsPanel instance={info} />
      )}
    </>
  );
}

function ToolsPanel({ instance }: { instance: Instance }) {
  const tools = useQuery({
    queryKey: ["tools", instance.id],
    queryFn: () => unwrap(api.GET("/api/instances/{id}/tools", { params: { path: { id: instance.id } } })),
  });
  const discovery = instance.discovery;
  return (
    <section aria-labelledby="tools-title" className="stack">
      <h2 id="tools-title" className="sr-only">
        Tools
      </h2>
      {discovery && !discovery.ok && (
        <div className="callout callout-error" role="alert">
          <strong>The last discovery failed</strong>
          <p>{discovery.message}</p>
          <p className="small">
            <code className="code-tag">{discovery.code}</code> <Time iso={discovery.at} />
          </p>
        </div>
      )}
      {tools.isPending ? (
        <Loading label="Loading tools…" />
      ) : tools.isError ? (
        <ErrorState error={tools.error} retry={() => void tools.refetch()} />
      ) : !tools.data ? (
        <EmptyState title="No tools listed yet">
          Spacegate has not reached this server yet. Check its URL and headers, then choose Discover tools.
        </EmptyState>
      ) : tools.data.tools.length === 0 ? (
        <EmptyState title="This server offers no tools" />
      ) : (
        <>
          <p className="small muted">
            {tools.data.tools.length} tools from {tools.data.serverName} {tools.data.serverVersion} (MCP{" "}
            {tools.data.protocolVersion}), listed <Time iso={tools.data.fetchedAt} />.
          </p>
          <ul className="tool-list">
            {tools.data.tools.map((tool) => (
              <li key={tool.name} className="card tool">
                <div className="tool-head">
                  <h3 className="mono">{tool.name}</h3>
                  {tool.title && <span className="muted">{tool.title}</span>}
                </div>
                <p>{tool.description || <span className="muted">No description.</span>}</p>
                <details>
                  <summary>Input schema</summary>
                  <pre className="code-block">{JSON.stringify(tool.inputSchema, null, 2)}</pre>
                </details>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

type FormState = {
  name: string;
  identifier: string;
  description: string;
  url: string;
  transport: Instance["upstream"]["transport"];
  headers: HeaderRow[];
  emoji: string;
  background: string;
  timeout: string;
  sseReadTimeout: string;
  enabled: boolean;
  streamsOnLambda: boolean;
};

const initial = (instance?: Instance): FormState => ({
  name: instance?.name ?? "",
  identifier: instance?.identifier ?? "",
  description: instance?.description ?? "",
  url: instance?.upstream.url ?? "",
  transport: instance?.upstream.transport ?? "streamable-http",
  headers: instance ? rowsFromMasked(instance.headers) : [],
  emoji: instance?.icon.emoji ?? "🔗",
  background: instance?.icon.background ?? "#6366F1",
  timeout: String(instance?.timeouts.timeout ?? 30),
  sseReadTimeout: String(instance?.timeouts.sseReadTimeout ?? 300),
  enabled: instance?.enabled ?? true,
  streamsOnLambda: instance?.streams.onLambda ?? false,
});

function InstanceForm({ instance }: { instance?: Instance }) {
  const [form, setForm] = useState<FormState>(() => initial(instance));
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const queryClient = useQueryClient();
  const toast = useToast();
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) =>
    setForm((current) => ({ ...current, [key]: value }));

  const save = useMutation({
    mutationFn: async () => {
      const common = {
        name: form.name.trim(),
        description: form.description.trim(),
        upstream: { url: form.url.trim(), transport: form.transport },
        icon: { emoji: form.emoji.trim() || "🔗", background: form.background },
        timeouts: { timeout: Number(form.timeout), sseReadTimeout: Number(form.sseReadTimeout) },
        enabled: form.enabled,
        // The duration and per-space limits are kept as they are; the API sets their defaults.
        ...(instance
          ? { streams: { ...instance.streams, onLambda: form.streamsOnLambda } }
          : form.streamsOnLambda
            ? { streams: { onLambda: true } }
            : {}),
      };
      const identifier = form.identifier.trim();
      if (!instance) {
        const body: InstanceCreate = {
          ...common,
          ...(identifier ? { identifier } : {}),
          headers: headerValues(form.headers),
        };
        return unwrap(api.POST("/api/instances", { body }));
      }
      const body: InstanceUpdate = {
        ...common,
        ...(identifier && identifier !== instance.identifier ? { identifier } : {}),
        headers: headerUpdate(form.headers),
        version: instance.version,
      };
      return unwrap(api.PATCH("/api/instances/{id}", { params: { path: { id: instance.id } }, body }));
    },
    onMutate: () => setFieldErrors({}),
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: ["instances"] });
      queryClient.setQueryData(["instance", saved.id], saved);
      void queryClient.invalidateQueries({ queryKey: ["tools", saved.id] });
      if (!instance) {
        if (saved.discovery?.ok)
          toast("success", `Instance ${saved.name} added: ${saved.discovery.toolCount} tools found.`);
        else toast("error", `Instance ${saved.name} added, but its tools could not be listed.`);
        navigate(`/instances/${saved.id}/tools`);
      } else {
        setForm(initial(saved));
        toast(
          "success",
          saved.spaceCount > 0
            ? `Saved ${saved.name}. Spaces it is in are being updated.`
            : `Saved ${saved.name}.`,
        );
      }
    },
    onError: (error) => {
      if (error instanceof ApiError) setFieldErrors(error.fieldErrors());
      toast("error", errorMessage(error));
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };

  return (
    <form className="card form" onSubmit={submit} aria-labelledby="page-title" noValidate>
      <div className="grid-2">
        <Field
          label="Name"
          error={fieldErrors.name}
          hint="Shown in Dify as the tool's name; at most 40 characters."
        >
          {(props) => (
            <input
              {...props}
              required
              maxLength={40}
              value={form.name}
              onChange={(event) => set("name", event.target.value)}
            />
          )}
        </Field>
        <Field
          label="Identifier"
          error={fieldErrors.identifier}
          hint={
            instance?.identifierLocked
              ? "Fixed: Dify apps refer to this instance's tools by it."
              : "Lowercase letters, digits, - and _ (up to 24). Derived from the name when left empty."
          }
        >
          {(props) => (
            <input
              {...props}
              className="mono"
              spellCheck={false}
              maxLength={24}
              readOnly={instance?.identifierLocked}
              value={form.identifier}
              onChange={(event) => set("identifier", event.target.value)}
            />
          )}
        </Field>
      </div>
      <Field label="Description" error={fieldErrors.description}>
        {(props) => (
          <textarea
            {...props}
            rows={2}
            value={form.description}
            onChange={(event) => set("description", event.target.value)}
          />
        )}
      </Field>
      <h2 className="section-title">Upstream</h2>
      <div className="grid-url">
        <Field
          label="MCP server URL"
          error={fieldErrors["upstream.url"]}
          hint="The server's own endpoint, e.g. https://mcp.example.com/mcp."
        >
          {(props) => (
            <input
              {...props}
              type="url"
              required
              className="mono"
              spellCheck={false}
              value={form.url}
              onChange={(event) => set("url", event.target.value)}
            />
          )}
        </Field>
        <Segmented
          legend="Transport"
          name="transport"
          choices={["streamable-http", "sse"] as const}
          labels={TRANSPORT_LABELS}
          value={form.transport}
          onChange={(value) => set("transport", value)}
        />
      </div>
      <div className="field">
        <span className="label">Default pass-through headers</span>
        <p className="hint">
          Sent to the MCP server on every call, often its own API key. Each space starts with these and can
          override them. Values are stored encrypted and shown masked.
        </p>
        <HeadersEditor
          label="Default headers"
          rows={form.headers}
          onChange={(rows) => set("headers", rows)}
        />
        {fieldErrors.headers && <p className="field-error">{fieldErrors.headers}</p>}
      </div>
      <details className="advanced">
        <summary>Icon, timeouts and more</summary>
        <div className="grid-4">
          <Field label="Icon emoji" error={fieldErrors["icon.emoji"]}>
            {(props) => (
              <input
                {...props}
                maxLength={16}
                value={form.emoji}
                onChange={(event) => set("emoji", event.target.value)}
              />
            )}
          </Field>
          <Field label="Icon background" error={fieldErrors["icon.background"]}>
            {(props) => (
              <input
                {...props}
                type="color"
                value={form.background}
                onChange={(event) => set("background", event.target.value.toUpperCase())}
              />
            )}
          </Field>
          <Field label="Timeout (seconds)" error={fieldErrors["timeouts.timeout"]}>
            {(props) => (
              <input
                {...props}
                inputMode="numeric"
                value={form.timeout}
                onChange={(event) => set("timeout", event.target.value.replace(/[^\d.]/g, ""))}
              />
            )}
          </Field>
          <Field label="SSE read timeout (seconds)" error={fieldErrors["timeouts.sseReadTimeout"]}>
            {(props) => (
              <input
                {...props}
                inputMode="numeric"
                value={form.sseReadTimeout}
                onChange={(event) => set("sseReadTimeout", event.target.value.replace(/[^\d.]/g, ""))}
              />
            )}
          </Field>
        </div>
        <div className="switch-row">
          <Switch checked={form.enabled} onChange={(value) => set("enabled", value)} label="Enabled" />
          <span>
            Enabled <span className="muted small">— a disabled instance is refused by the gateway</span>
          </span>
        </div>
        <div className="switch-row">
          <Switch
            checked={form.streamsOnLambda}
            onChange={(value) => set("streamsOnLambda", value)}
            label="Allow long-lived streams"
          />
          <span>
            Allow long-lived streams{" "}
            <span className="muted small">
              — lets GET …/mcp and subscriptions/listen through the gateway on AWS Lambda
            </span>
          </span>
        </div>
      </details>
      <div className="form-actions">
        {instance && (
          <Button onClick={() => setForm(initial(instance))} disabled={save.isPending}>
            Reset
          </Button>
        )}
        <Button type="submit" variant="primary" busy={save.isPending}>
          {instance ? "Save changes" : "Save and list tools"}
        </Button>
      </div>
      {instance && (
        <p className="small muted">
          Created <Time iso={instance.createdAt} />, last changed <Time iso={instance.updatedAt} />.
        </p>
      )}
    </form>
  );
}
