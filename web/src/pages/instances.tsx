import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import {
  api,
  type Instance,
  type InstanceCreate,
  type InstanceUpdate,
  type Tool,
  unwrap,
} from "../api/client";
import { useRole } from "../api/role";
import { InstanceIcon } from "../components/icons";
import {
  Button,
  EmptyState,
  ErrorState,
  Field,
  type HeaderRow,
  HeadersEditor,
  headerUpdate,
  headerValues,
  InlineError,
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
import {
  errorsUnder,
  type FieldErrors,
  hasErrors,
  serverFieldErrors,
  unnamedHeaderErrors,
  validate,
} from "../forms";
import { instancesQuery } from "../queries";
import { Link, navigate } from "../router";
import { loadSchemas } from "../schemas";
import { AccessPanel } from "./access";
import { PolicyFields, type PolicyState, policyBody, policyInitial } from "./policy-fields";
import { UsagePanel } from "./usage";

const instanceQuery = (id: string) => ({
  queryKey: ["instance", id],
  queryFn: () => unwrap(api.GET("/api/instances/{id}", { params: { path: { id } } })),
});

/** Why syncing this instance would fail now, or null when its tools are known. */
export function syncBlocker(instance: Instance): string | null {
  if (instance.discovery && !instance.discovery.ok)
    return `Its tools could not be listed (${instance.discovery.message}), so a sync fails until they are. Fix the instance and choose Discover tools.`;
  if (instance.toolCount === 0)
    return instance.discovery
      ? "Its MCP server lists no tools, so a sync fails: Dify would get an empty provider."
      : "Its tools have not been listed yet, so a sync fails until they are. Choose Discover tools.";
  return null;
}

export function InstanceHealth({ instance }: { instance: Instance }) {
  if (!instance.enabled) return <StatusBadge status="disabled" />;
  const discovery = instance.discovery;
  if (!discovery) return <StatusBadge status="unknown" />;
  if (!discovery.ok)
    return (
      <div className="stack-xs">
        <StatusBadge status="failed" label="Tools not listed" />
        <span className="small muted" title={discovery.message}>
          <code>{discovery.code}</code>
        </span>
      </div>
    );
  if (instance.toolCount === 0) return <StatusBadge status="warning" label="No tools" />;
  return <StatusBadge status="ok" />;
}

export function InstancesPage() {
  const { can } = useRole();
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
              hidden={!can("operator")}
              disabled={chosen.length === 0}
              onClick={() => navigate(`/sync/new?instances=${chosen.map((i) => i.id).join(",")}`)}
            >
              Sync to Dify{chosen.length > 0 ? ` (${chosen.length})` : ""}
            </Button>
            {can("admin") && (
              <Link className="btn btn-primary" to="/instances/new">
                Add instance
              </Link>
            )}
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
            can("admin") && (
              <Link className="btn btn-primary" to="/instances/new">
                Add your first instance
              </Link>
            )
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
            <table className="table table-stacked">
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
                    <td className="cell-title">
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
                    <td data-label="Upstream" className="mono small break">
                      {instance.upstream.url}
                    </td>
                    <td data-label="Transport">{TRANSPORT_LABELS[instance.upstream.transport]}</td>
                    <td data-label="Tools" className="num">
                      {instance.toolCount}
                    </td>
                    <td data-label="Spaces" className="num">
                      {instance.spaceCount}
                    </td>
                    <td data-label="Health">
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
  { id: "usage", label: "Usage" },
  { id: "settings", label: "Settings" },
];

export function InstanceDetailPage({ id, tab }: { id: string; tab: string }) {
  const { can } = useRole();
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
      if (info.discovery?.ok) toast(`Found ${info.discovery.toolCount} tools on ${info.name}.`);
    },
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/instances/{id}", { params: { path: { id } } })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["instances"] });
      navigate("/instances");
      toast("Instance removed.");
    },
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
            <span className="mono break">{info.upstream.url}</span> ·{" "}
            {TRANSPORT_LABELS[info.upstream.transport]} · {info.spaceCount}{" "}
            {info.spaceCount === 1 ? "space" : "spaces"}
          </>
        }
        actions={
          <>
            <Button hidden={!can("operator")} onClick={() => discover.mutate()} busy={discover.isPending}>
              Discover tools
            </Button>
            <Button
              variant="primary"
              hidden={!can("operator")}
              onClick={() => navigate(`/sync/new?instances=${info.id}`)}
            >
              Sync to Dify
            </Button>
            <Button
              variant="ghost"
              className="danger-text"
              hidden={!can("admin")}
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
      <InlineError error={discover.error ?? remove.error} />
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
      ) : tab === "usage" ? (
        <UsagePanel instance={info} />
      ) : tab === "settings" ? (
        <InstanceForm instance={info} />
      ) : (
        <ToolsPanel instance={info} />
      )}
    </>
  );
}

/** The step after registering a server: publishing it, once its tools are known. */
function InstanceNextStep({ instance }: { instance: Instance }) {
  const blocker = syncBlocker(instance);
  if (blocker) {
    return (
      <div className="callout callout-warning" role="status">
        <strong>Not ready to sync</strong>
        <p>{blocker}</p>
        <div className="button-row">
          <Link className="btn" to={`/instances/${instance.id}/settings`}>
            Check its URL and headers
          </Link>
        </div>
      </div>
    );
  }
  if (instance.spaceCount > 0) return null;
  return (
    <section className="callout callout-next" aria-labelledby="next-title">
      <h2 id="next-title">Next: sync {instance.name} to Dify</h2>
      <p>
        Choose a platform and the spaces that should have these {instance.toolCount} tools. Each space gets
        its own credential, and the tools appear in Dify under Tools → MCP.
      </p>
      <div className="button-row">
        <Link className="btn btn-primary" to={`/sync/new?instances=${instance.id}`}>
          Sync to Dify
        </Link>
      </div>
    </section>
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
      <InstanceNextStep instance={instance} />
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
          <ul className="tool-list" aria-label="Tools">
            {tools.data.tools.map((tool) => (
              <ToolItem key={tool.name} tool={tool} />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

type ParameterSchema = {
  type?: unknown;
  description?: unknown;
  anyOf?: unknown;
  enum?: unknown;
  items?: unknown;
};

/** A JSON Schema type in a word or two: "string", "number | null", "array of string". */
function typeOf(schema: ParameterSchema): string {
  const { type } = schema;
  if (Array.isArray(type)) return type.join(" | ");
  if (type === "array" && schema.items && typeof schema.items === "object")
    return `array of ${typeOf(schema.items as ParameterSchema)}`;
  if (typeof type === "string") return type;
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as ParameterSchema[]).map(typeOf).join(" | ");
  if (Array.isArray(schema.enum)) return "one of a list";
  return "any";
}

/** One tool as Dify lists it: its name, two lines of description, and its parameters. */
function ToolItem({ tool }: { tool: Tool }) {
  const schema = tool.inputSchema as { properties?: Record<string, ParameterSchema>; required?: unknown };
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  const parameters = Object.entries(schema.properties ?? {});
  return (
    <li className="tool" aria-labelledby={`tool-${tool.name}`}>
      <div className="tool-head">
        <h3 id={`tool-${tool.name}`} className="mono">
          {tool.name}
        </h3>
        {tool.title && <span className="muted small">{tool.title}</span>}
      </div>
      <p className="tool-description" title={tool.description || undefined}>
        {tool.description || <span className="muted">No description.</span>}
      </p>
      {parameters.length > 0 ? (
        <details className="tool-parameters">
          <summary>Parameters ({parameters.length})</summary>
          <ul>
            {parameters.map(([name, parameter]) => (
              <li key={name}>
                <span className="mono strong">{name}</span>{" "}
                <span className="muted">
                  ({typeOf(parameter)}
                  {required.has(name) ? ", required" : ""})
                </span>
                {typeof parameter.description === "string" && parameter.description
                  ? `: ${parameter.description}`
                  : ""}
              </li>
            ))}
          </ul>
        </details>
      ) : (
        <p className="small muted">No parameters.</p>
      )}
    </li>
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
  policy: PolicyState;
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
  policy: policyInitial(instance),
});

/** Where a form field's errors are reported; headers are matched by name instead. */
const INSTANCE_FIELD_PATHS: Partial<Record<keyof FormState, string>> = {
  name: "name",
  identifier: "identifier",
  description: "description",
  url: "upstream.url",
  emoji: "icon.emoji",
  background: "icon.background",
  timeout: "timeouts.timeout",
  sseReadTimeout: "timeouts.sseReadTimeout",
};

const seconds = (value: string) => (value.trim() === "" ? Number.NaN : Number(value));

function InstanceForm({ instance }: { instance?: Instance }) {
  const { can } = useRole();
  const [form, setForm] = useState<FormState>(() => initial(instance));
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const queryClient = useQueryClient();
  const toast = useToast();
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => {
    setForm((current) => ({ ...current, [key]: value }));
    const path = INSTANCE_FIELD_PATHS[key];
    if (path) setFieldErrors(({ [path]: _, ...rest }) => rest);
  };

  const body = async (): Promise<{ body?: InstanceCreate | InstanceUpdate; errors?: FieldErrors }> => {
    const { InstanceInput } = await loadSchemas();
    const common = {
      name: form.name.trim(),
      description: form.description.trim(),
      upstream: { url: form.url.trim(), transport: form.transport },
      icon: { emoji: form.emoji.trim() || "🔗", background: form.background },
      timeouts: { timeout: seconds(form.timeout), sseReadTimeout: seconds(form.sseReadTimeout) },
      enabled: form.enabled,
      ...policyBody(form.policy),
      // The duration and per-space limits are kept as they are; the API sets their defaults.
      ...(instance
        ? { streams: { ...instance.streams, onLambda: form.streamsOnLambda } }
        : form.streamsOnLambda
          ? { streams: { onLambda: true } }
          : {}),
    };
    const identifier = form.identifier.trim();
    const candidate: InstanceCreate | InstanceUpdate = instance
      ? {
          ...common,
          ...(identifier && identifier !== instance.identifier ? { identifier } : {}),
          headers: headerUpdate(form.headers),
          version: instance.version,
        }
      : { ...common, ...(identifier ? { identifier } : {}), headers: headerValues(form.headers) };
    const checked = validate(instance ? InstanceInput.Update : InstanceInput.Create, candidate);
    const errors = { ...unnamedHeaderErrors(form.headers), ...checked.errors };
    return hasErrors(errors) ? { errors } : { body: candidate };
  };

  const save = useMutation({
    mutationFn: (next: InstanceCreate | InstanceUpdate) =>
      instance
        ? unwrap(
            api.PATCH("/api/instances/{id}", {
              params: { path: { id: instance.id } },
              body: next as InstanceUpdate,
            }),
          )
        : unwrap(api.POST("/api/instances", { body: next as InstanceCreate })),
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: ["instances"] });
      queryClient.setQueryData(["instance", saved.id], saved);
      void queryClient.invalidateQueries({ queryKey: ["tools", saved.id] });
      if (!instance) {
        navigate(`/instances/${saved.id}/tools`);
        toast(
          saved.discovery?.ok
            ? `Instance ${saved.name} added: ${saved.discovery.toolCount} tools found.`
            : `Instance ${saved.name} added.`,
        );
      } else {
        setForm(initial(saved));
        toast(
          saved.spaceCount > 0
            ? `Saved ${saved.name}. Spaces it is in are being updated.`
            : `Saved ${saved.name}.`,
        );
      }
    },
    onError: (error) => setFieldErrors(serverFieldErrors(error)),
  });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const next = await body();
    setFieldErrors(next.errors ?? {});
    if (next.body) save.mutate(next.body);
  };
  const actionError = save.isError && !hasErrors(serverFieldErrors(save.error)) ? save.error : null;

  return (
    <form
      className="card form"
      onSubmit={(event) => void submit(event)}
      aria-labelledby="page-title"
      noValidate
    >
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
          errors={errorsUnder(fieldErrors, "headers")}
          error={fieldErrors.headers}
        />
      </div>
      <details className="advanced" open={hasAdvancedErrors(fieldErrors) || undefined}>
        <summary>Icon, timeouts and more</summary>
        <div className="grid-4">
          <Field label="Icon emoji" error={fieldErrors["icon.emoji"]}>
            {(props) => (
              <div className="icon-input">
                <InstanceIcon
                  instance={{ icon: { emoji: form.emoji || "🔗", background: form.background } }}
                />
                <input
                  {...props}
                  maxLength={16}
                  value={form.emoji}
                  onChange={(event) => set("emoji", event.target.value)}
                />
              </div>
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
      <details className="advanced" open={hasPolicyErrors(fieldErrors) || undefined}>
        <summary>Tools, limits and identity</summary>
        <PolicyFields state={form.policy} onChange={(policy) => set("policy", policy)} errors={fieldErrors} />
      </details>
      {hasErrors(fieldErrors) && (
        <p className="field-error" role="alert">
          Nothing was sent: correct the fields marked above.
        </p>
      )}
      <InlineError error={actionError} />
      <div className="form-actions">
        {instance && (
          <Button
            onClick={() => {
              setForm(initial(instance));
              setFieldErrors({});
            }}
            disabled={save.isPending}
          >
            Reset
          </Button>
        )}
        <Button
          type="submit"
          variant="primary"
          busy={save.isPending}
          hidden={!can(instance ? "operator" : "admin")}
        >
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

const hasPolicyErrors = (errors: FieldErrors) =>
  Object.keys(errors).some((path) => /^(tools|limits|identity)\b/.test(path));

const hasAdvancedErrors = (errors: FieldErrors) =>
  Object.keys(errors).some((path) => path.startsWith("icon.") || path.startsWith("timeouts."));
