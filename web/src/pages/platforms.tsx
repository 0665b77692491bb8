import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import {
  api,
  type CheckResult,
  type DatabaseInput,
  type Platform,
  type PlatformCreate,
  type PlatformUpdate,
  unwrap,
} from "../api/client";
import { useRole } from "../api/role";
import {
  Button,
  EmptyState,
  ErrorState,
  Field,
  InlineError,
  Loading,
  PageHeader,
  SearchField,
  Segmented,
  StatusBadge,
  Time,
  useConfirm,
  useDebounced,
  useToast,
} from "../components/ui";
import { explainCheck, KIND_LABELS, SPACE_REASONS, SSL_HINTS, SSL_LABELS } from "../components/words";
import { type FieldErrors, hasErrors, serverFieldErrors, validate } from "../forms";
import { instancesQuery, platformsQuery } from "../queries";
import { Link, navigate } from "../router";
import { loadSchemas } from "../schemas";

export function CheckSummary({ check }: { check: Platform["check"] }) {
  if (!check) return <StatusBadge status="unknown" />;
  if (check.ok)
    return (
      <div className="stack-xs">
        <StatusBadge status="ok" label="Connected" />
        <span className="small muted">
          {check.spaceCount} {check.spaceCount === 1 ? "space" : "spaces"} · checked{" "}
          <Time iso={check.checkedAt} />
        </span>
      </div>
    );
  return (
    <div className="stack-xs">
      <StatusBadge status="failed" label={explainCheck(check.code).title} />
      <span className="small muted">
        <code>{check.code}</code> · checked <Time iso={check.checkedAt} />
      </span>
    </div>
  );
}

export function PlatformsPage() {
  const { can } = useRole();
  const platforms = useQuery(platformsQuery);
  const queryClient = useQueryClient();
  const toast = useToast();
  const confirm = useConfirm();
  const recheck = useMutation({
    mutationFn: (id: string) => unwrap(api.POST("/api/platforms/{id}/check", { params: { path: { id } } })),
    onSuccess: (platform) => {
      void queryClient.invalidateQueries({ queryKey: ["platforms"] });
      if (platform.check?.ok) toast(`${platform.name}: the check passed.`);
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/platforms/{id}", { params: { path: { id } } })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["platforms"] });
      toast("Platform removed.");
    },
  });
  const failed = (id: string) =>
    recheck.variables === id && recheck.isError
      ? recheck.error
      : remove.variables === id && remove.isError
        ? remove.error
        : null;

  return (
    <>
      <PageHeader
        title="Agent Platforms"
        description="The Dify installations Spacegate publishes MCP tools into, reached through their PostgreSQL database."
        actions={
          can("admin") && (
            <Link className="btn btn-primary" to="/platforms/new">
              Add platform
            </Link>
          )
        }
      />
      {platforms.isPending ? (
        <Loading label="Loading platforms…" />
      ) : platforms.isError ? (
        <ErrorState error={platforms.error} retry={() => void platforms.refetch()} />
      ) : platforms.data.length === 0 ? (
        <EmptyState
          title="No agent platforms yet"
          action={
            can("admin") && (
              <Link className="btn btn-primary" to="/platforms/new">
                Add your first platform
              </Link>
            )
          }
        >
          Add a Dify installation by the credentials of its PostgreSQL database. Spacegate checks that it can
          write MCP tools there before saving.
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table table-stacked">
            <caption className="sr-only">Agent platforms</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Database</th>
                <th scope="col">Last check</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {platforms.data.map((platform) => (
                <tr key={platform.id}>
                  <td data-label="Name">
                    <Link to={`/platforms/${platform.id}`} className="strong">
                      {platform.name}
                    </Link>
                  </td>
                  <td data-label="Kind">{KIND_LABELS[platform.kind]}</td>
                  <td data-label="Database" className="mono small break">
                    {platform.database.user}@{platform.database.host}:{platform.database.port}/
                    {platform.database.database}
                    {platform.database.ssl === "require" && (
                      <span className="muted"> · certificate not verified</span>
                    )}
                  </td>
                  <td data-label="Last check">
                    <CheckSummary check={platform.check} />
                  </td>
                  <td className="row-actions">
                    <Link className="btn btn-ghost" to={`/platforms/${platform.id}`}>
                      {can("admin") ? "Edit" : "View"}
                      <span className="sr-only"> {platform.name}</span>
                    </Link>
                    <Button
                      variant="ghost"
                      hidden={!can("operator")}
                      busy={recheck.isPending && recheck.variables === platform.id}
                      onClick={() => recheck.mutate(platform.id)}
                    >
                      Check<span className="sr-only"> {platform.name}</span> again
                    </Button>
                    <Button
                      variant="ghost"
                      className="danger-text"
                      hidden={!can("admin")}
                      busy={remove.isPending && remove.variables === platform.id}
                      onClick={async () => {
                        const ok = await confirm({
                          title: `Remove ${platform.name}?`,
                          message:
                            "Spacegate forgets this platform and its stored password. It is refused while spaces of this platform still have access to an instance.",
                          confirmLabel: "Remove platform",
                          danger: true,
                        });
                        if (ok) remove.mutate(platform.id);
                      }}
                    >
                      Remove<span className="sr-only"> {platform.name}</span>
                    </Button>
                    <InlineError error={failed(platform.id)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export function PlatformFormPage({ id, prefill }: { id?: string; prefill?: URLSearchParams }) {
  const platform = useQuery({
    queryKey: ["platform", id],
    queryFn: () => unwrap(api.GET("/api/platforms/{id}", { params: { path: { id: id! } } })),
    enabled: id !== undefined,
  });
  const back = <Link to="/platforms">← Agent Platforms</Link>;
  if (id === undefined) {
    return (
      <>
        <PageHeader
          back={back}
          title="Add an agent platform"
          description="Give the connection details of the Dify installation's PostgreSQL database. Spacegate checks them before saving."
        />
        <PlatformForm prefill={prefill} />
      </>
    );
  }
  if (platform.isPending) return <Loading label="Loading the platform…" />;
  if (platform.isError) return <ErrorState error={platform.error} retry={() => void platform.refetch()} />;
  const connected = platform.data.check?.ok === true;
  return (
    <>
      <PageHeader back={back} title={platform.data.name} description={KIND_LABELS[platform.data.kind]} />
      {connected && <PlatformNextSteps platform={platform.data} />}
      {connected && <SpacesPreview platform={platform.data} />}
      <details className="card settings" open={!connected}>
        <summary className="settings-summary">
          <h2 className="settings-title">Connection settings</h2>
        </summary>
        <PlatformForm platform={platform.data} />
      </details>
    </>
  );
}

/** Where to go once a platform is connected: an MCP server to publish, then the sync. */
function PlatformNextSteps({ platform }: { platform: Platform }) {
  const instances = useQuery(instancesQuery);
  const count = instances.data?.length ?? 0;
  return (
    <section className="callout callout-next" aria-labelledby="next-title">
      <h2 id="next-title">Next: publish an MCP server into its spaces</h2>
      <p>
        {count === 0
          ? `Spacegate reaches ${platform.name}. Add the MCP server you want its spaces to use; then sync it to the spaces you choose.`
          : `Spacegate reaches ${platform.name}. Sync an instance to the spaces you choose, or add another MCP server.`}
      </p>
      <div className="button-row">
        {count > 0 && (
          <Link className="btn btn-primary" to="/sync/new">
            Sync to Dify
          </Link>
        )}
        <Link className={`btn ${count > 0 ? "btn-default" : "btn-primary"}`} to="/instances/new">
          Add an MCP server
        </Link>
      </div>
    </section>
  );
}

type FormState = {
  name: string;
  kind: Platform["kind"];
  host: string;
  port: string;
  database: string;
  user: string;
  password: string;
  ssl: Platform["database"]["ssl"];
  caPem: string;
};

/** Where each form field's errors are reported. */
const FIELD_PATHS: Record<keyof FormState, string> = {
  name: "name",
  kind: "kind",
  host: "database.host",
  port: "database.port",
  database: "database.database",
  user: "database.user",
  password: "database.password",
  ssl: "database.ssl",
  caPem: "database.caPem",
};

const choice = <T extends string>(value: string | null | undefined, choices: readonly T[]) =>
  choices.find((known) => known === value);

const initialState = (platform?: Platform, prefill?: URLSearchParams): FormState => ({
  name: platform?.name ?? prefill?.get("name") ?? "",
  kind:
    platform?.kind ?? choice(prefill?.get("kind"), ["dify-community", "dify-enterprise"]) ?? "dify-community",
  host: platform?.database.host ?? prefill?.get("host") ?? "",
  port: String(platform?.database.port ?? prefill?.get("port") ?? 5432),
  database: platform?.database.database ?? prefill?.get("database") ?? "dify",
  user: platform?.database.user ?? prefill?.get("user") ?? "",
  password: "",
  ssl:
    platform?.database.ssl ??
    choice(prefill?.get("ssl"), ["disable", "require", "verify-full"]) ??
    "verify-full",
  caPem: "",
});

function PlatformForm({ platform, prefill }: { platform?: Platform; prefill?: URLSearchParams }) {
  const { can } = useRole();
  const [form, setForm] = useState<FormState>(() => initialState(platform, prefill));
  const [result, setResult] = useState<CheckResult | null>(platform?.check ?? null);
  const [resultSource, setResultSource] = useState<"stored" | "test" | "save">("stored");
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [failedSave, setFailedSave] = useState(false);
  const queryClient = useQueryClient();
  const toast = useToast();
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => {
    setForm((current) => ({ ...current, [key]: value }));
    setFieldErrors(({ [FIELD_PATHS[key]]: _, ...rest }) => rest);
    setFailedSave(false);
  };

  const database = () => ({
    host: form.host.trim(),
    port: form.port === "" ? Number.NaN : Number(form.port),
    database: form.database.trim(),
    user: form.user.trim(),
    password: form.password,
    ssl: form.ssl,
    ...(form.ssl === "verify-full" && form.caPem.trim() ? { caPem: form.caPem } : {}),
  });
  const databaseChanged =
    platform !== undefined &&
    (form.host.trim() !== platform.database.host ||
      Number(form.port) !== platform.database.port ||
      form.database.trim() !== platform.database.database ||
      form.user.trim() !== platform.database.user ||
      form.ssl !== platform.database.ssl ||
      form.caPem.trim() !== "");
  const passwordAgain: FieldErrors =
    platform && databaseChanged && !form.password
      ? {
          "database.password":
            "Enter the password again: the stored one only goes to the server it was saved for",
        }
      : {};

  /** The connection details to test, once valid: on an existing platform without a new password, none. */
  const testable = async (): Promise<{ database?: DatabaseInput; errors?: FieldErrors }> => {
    const { PlatformInput } = await loadSchemas();
    if (platform && !form.password) {
      if (hasErrors(passwordAgain)) return { errors: passwordAgain };
      const { password: _, ...fields } = database();
      const checked = validate(PlatformInput.Database.omit({ password: true }), fields);
      return checked.errors ? { errors: prefixed(checked.errors) } : {};
    }
    const checked = validate(PlatformInput.Database, database());
    return checked.errors ? { errors: prefixed(checked.errors) } : { database: database() };
  };

  const test = useMutation({
    mutationFn: async (input: DatabaseInput | undefined): Promise<CheckResult> => {
      if (input) return unwrap(api.POST("/api/platforms/check", { body: input }));
      const rechecked = await unwrap(
        api.POST("/api/platforms/{id}/check", { params: { path: { id: platform!.id } } }),
      );
      void queryClient.invalidateQueries({ queryKey: ["platforms"] });
      void queryClient.invalidateQueries({ queryKey: ["platform", platform!.id] });
      return rechecked.check!;
    },
    onSuccess: (check) => {
      setResult(check);
      setResultSource("test");
    },
    onError: (error) => setFieldErrors(serverFieldErrors(error, (path) => `database.${path}`)),
  });

  const save = useMutation({
    mutationFn: async ({ body, force }: { body: PlatformCreate | PlatformUpdate; force: boolean }) => {
      if (!platform) {
        const create = body as PlatformCreate;
        if (!force) {
          const check = await unwrap(api.POST("/api/platforms/check", { body: create.database })).catch(
            (error: unknown) => {
              throw Object.assign(error as Error, { prefix: "database." });
            },
          );
          if (!check.ok) return { saved: null, check };
        }
        const saved = await unwrap(api.POST("/api/platforms", { body: create }));
        return { saved, check: saved.check };
      }
      const saved = await unwrap(
        api.PATCH("/api/platforms/{id}", {
          params: { path: { id: platform.id } },
          body: body as PlatformUpdate,
        }),
      );
      return { saved, check: saved.check };
    },
    onSuccess: ({ saved, check }) => {
      setResult(check);
      setResultSource("save");
      if (!saved) {
        setFailedSave(true);
        return;
      }
      setFailedSave(false);
      void queryClient.invalidateQueries({ queryKey: ["platforms"] });
      queryClient.setQueryData(["platform", saved.id], saved);
      setForm((current) => ({ ...current, password: "", caPem: "" }));
      if (!platform) {
        navigate(`/platforms/${saved.id}`);
        toast(
          saved.check?.ok
            ? `Platform ${saved.name} added: ${saved.check.spaceCount} ${saved.check.spaceCount === 1 ? "space" : "spaces"} found.`
            : `Platform ${saved.name} added. Its check failed: fix the connection settings.`,
        );
      } else if (saved.check?.ok) toast(`Saved ${saved.name}.`);
    },
    onError: (error) => {
      const prefix = (error as { prefix?: string }).prefix ?? "";
      setFieldErrors(serverFieldErrors(error, (path) => prefix + path));
    },
  });

  const body = async (): Promise<{ body?: PlatformCreate | PlatformUpdate; errors?: FieldErrors }> => {
    const { PlatformInput } = await loadSchemas();
    if (!platform) {
      const candidate = { name: form.name.trim(), kind: form.kind, database: database() };
      const checked = validate(PlatformInput.Create, candidate);
      return checked.errors ? { errors: checked.errors } : { body: candidate };
    }
    const { password: _, ...fields } = database();
    const candidate: PlatformUpdate = {
      name: form.name.trim(),
      kind: form.kind,
      database: { ...fields, ...(form.password ? { password: form.password } : {}) },
      version: platform.version,
    };
    const checked = validate(PlatformInput.Update, candidate);
    const errors = { ...passwordAgain, ...checked.errors };
    return hasErrors(errors) ? { errors } : { body: candidate };
  };

  const submit = async (event: FormEvent, force = false) => {
    event.preventDefault();
    const next = await body();
    setFieldErrors(next.errors ?? {});
    if (next.body) save.mutate({ body: next.body, force });
  };
  const runTest = async () => {
    const next = await testable();
    setFieldErrors(next.errors ?? {});
    if (!next.errors) test.mutate(next.database);
  };
  const busy = test.isPending || save.isPending;
  const actionError = [save, test].find((m) => m.isError && !hasErrors(serverFieldErrors(m.error)))?.error;
  const shownErrors = hasErrors(fieldErrors);

  return (
    <form
      className="card form"
      onSubmit={(event) => void submit(event)}
      aria-labelledby="page-title"
      noValidate
    >
      <div className="grid-2">
        <Field label="Name" error={fieldErrors.name} hint="How this Dify is called in Spacegate.">
          {(props) => (
            <input
              {...props}
              required
              maxLength={80}
              value={form.name}
              onChange={(event) => set("name", event.target.value)}
            />
          )}
        </Field>
        <Segmented
          legend="Kind"
          name="kind"
          choices={["dify-community", "dify-enterprise"] as const}
          labels={KIND_LABELS}
          value={form.kind}
          onChange={(value) => set("kind", value)}
        />
      </div>

      <h2 className="section-title">Database</h2>
      <div className="grid-db">
        <Field label="Host" error={fieldErrors["database.host"]} hint="Host name or IP address, no scheme.">
          {(props) => (
            <input
              {...props}
              required
              spellCheck={false}
              autoComplete="off"
              value={form.host}
              onChange={(event) => set("host", event.target.value)}
            />
          )}
        </Field>
        <Field label="Port" error={fieldErrors["database.port"]}>
          {(props) => (
            <input
              {...props}
              inputMode="numeric"
              required
              value={form.port}
              onChange={(event) => set("port", event.target.value.replace(/\D/g, ""))}
            />
          )}
        </Field>
        <Field label="Database name" error={fieldErrors["database.database"]}>
          {(props) => (
            <input
              {...props}
              required
              spellCheck={false}
              value={form.database}
              onChange={(event) => set("database", event.target.value)}
            />
          )}
        </Field>
        <Field label="User" error={fieldErrors["database.user"]}>
          {(props) => (
            <input
              {...props}
              required
              spellCheck={false}
              autoComplete="off"
              value={form.user}
              onChange={(event) => set("user", event.target.value)}
            />
          )}
        </Field>
        <Field
          label="Password"
          error={fieldErrors["database.password"]}
          hint={
            platform
              ? "Stored encrypted and never shown. Leave empty to keep it; a new host, port, database or user, a weaker SSL mode or another CA needs it again, since the stored password only goes to the server it was saved for."
              : "Stored encrypted in the secret store and never shown again."
          }
        >
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="new-password"
              required={!platform}
              placeholder={platform ? "••••••••" : undefined}
              value={form.password}
              onChange={(event) => set("password", event.target.value)}
            />
          )}
        </Field>
        <Field label="SSL mode" error={fieldErrors["database.ssl"]} hint={SSL_HINTS[form.ssl]}>
          {(props) => (
            <select
              {...props}
              value={form.ssl}
              onChange={(event) => set("ssl", event.target.value as FormState["ssl"])}
            >
              {Object.entries(SSL_LABELS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      {form.ssl === "verify-full" && (
        <Field
          label="CA certificate (PEM)"
          error={fieldErrors["database.caPem"]}
          hint={
            platform?.database.hasCaPem
              ? "A certificate is stored. Paste a new one to replace it."
              : "The certificate authority that signed the server's certificate. Leave empty to trust the system's CAs and Amazon RDS's."
          }
        >
          {(props) => (
            <textarea
              {...props}
              rows={4}
              className="mono"
              spellCheck={false}
              placeholder="-----BEGIN CERTIFICATE-----"
              value={form.caPem}
              onChange={(event) => set("caPem", event.target.value)}
            />
          )}
        </Field>
      )}

      <div aria-live="polite" className="check-region">
        {test.isPending && <Loading label="Testing the connection…" />}
        {save.isPending && <Loading label={platform ? "Saving and checking…" : "Checking and saving…"} />}
        {!busy && result && (
          <CheckResultView
            result={result}
            heading={
              resultSource === "stored"
                ? "Last check"
                : resultSource === "test"
                  ? "Connection test"
                  : "Check on save"
            }
          />
        )}
        {!busy && failedSave && (
          <p className="small">
            Not saved. Correct the details and save again, or{" "}
            <button type="button" className="link-button" onClick={(event) => void submit(event, true)}>
              save anyway
            </button>{" "}
            and fix it later.
          </p>
        )}
      </div>

      {shownErrors && (
        <p className="field-error" role="alert">
          Nothing was sent: correct the fields marked above.
        </p>
      )}
      <InlineError error={actionError} />
      {can("admin") ? (
        <div className="form-actions">
          <Button onClick={() => void runTest()} busy={test.isPending} disabled={busy}>
            Test connection
          </Button>
          <Button type="submit" variant="primary" busy={save.isPending} disabled={busy}>
            {platform ? "Save changes" : "Save platform"}
          </Button>
        </div>
      ) : (
        <p className="small muted">Only an admin can add or change a platform.</p>
      )}
    </form>
  );
}

const prefixed = (errors: FieldErrors) =>
  Object.fromEntries(Object.entries(errors).map(([path, message]) => [`database.${path}`, message]));

export function CheckResultView({ result, heading }: { result: CheckResult; heading: string }) {
  if (result.ok) {
    return (
      <section className="callout callout-success" aria-label={heading}>
        <strong>
          {heading}: connected to Dify
          {result.alembicHead ? ` (schema ${result.alembicHead})` : ""}.
        </strong>
        <ul className="facts">
          <li>
            {result.spaceCount} {result.spaceCount === 1 ? "space" : "spaces"}
            {result.spacesWithoutKey > 0 &&
              `, ${result.spacesWithoutKey} without a key Spacegate can encrypt for`}
          </li>
          <li>
            Headers {result.capabilities.headers ? "supported" : "not supported (credential goes in the URL)"}
            ; identifiers up to {result.capabilities.serverIdentifierMaxLength} characters
          </li>
          {result.optionalColumns.length > 0 && (
            <li>Optional columns: {result.optionalColumns.join(", ")}</li>
          )}
          {result.defaultedColumns.length > 0 && (
            <li>Left to Dify's defaults: {result.defaultedColumns.join(", ")}</li>
          )}
          {result.unknownRequiredColumns.length > 0 && (
            <li>
              Writing will be refused: unknown required columns {result.unknownRequiredColumns.join(", ")}
            </li>
          )}
          <li>Answered in {Math.round(result.latencyMs)} ms</li>
        </ul>
      </section>
    );
  }
  const explanation = explainCheck(result.code);
  return (
    <section className="callout callout-error" role="alert" aria-label={heading}>
      <strong>
        {heading}: {explanation.title}
      </strong>
      <p>{explanation.help}</p>
      <p className="small">
        <code className="code-tag">{result.code}</code> {result.message}
      </p>
    </section>
  );
}

function SpacesPreview({ platform }: { platform: Platform }) {
  const [search, setSearch] = useState("");
  const term = useDebounced(search.trim());
  const spaces = useQuery({
    queryKey: ["spaces", platform.id, term, "preview"],
    queryFn: () =>
      unwrap(
        api.GET("/api/platforms/{id}/spaces", {
          params: { path: { id: platform.id }, query: { search: term || undefined, limit: 10 } },
        }),
      ),
    placeholderData: (previous) => previous,
  });
  return (
    <section className="card" aria-labelledby="spaces-title">
      <div className="card-header">
        <h2 id="spaces-title">Spaces found</h2>
        <SearchField label="Search spaces" value={search} onChange={setSearch} />
      </div>
      {spaces.isPending ? (
        <Loading label="Reading spaces from Dify…" />
      ) : spaces.isError ? (
        <ErrorState
          error={spaces.error}
          title="Could not read the spaces"
          retry={() => void spaces.refetch()}
        />
      ) : spaces.data.items.length === 0 ? (
        <EmptyState title={term ? `No space matches “${term}”` : "This Dify has no spaces"} />
      ) : (
        <div className="table-wrap">
          <table className="table table-stacked">
            <caption className="sr-only">Spaces of {platform.name}</caption>
            <thead>
              <tr>
                <th scope="col">Space</th>
                <th scope="col">Owner</th>
                <th scope="col">Status</th>
                <th scope="col">Spacegate can write</th>
              </tr>
            </thead>
            <tbody>
              {spaces.data.items.map((space) => (
                <tr key={space.id}>
                  <td className="strong cell-title">{space.name}</td>
                  <td data-label="Owner">
                    <OwnerCell owner={space.owner} />
                  </td>
                  <td data-label="Status">
                    <SpaceStatus status={space.status} />
                  </td>
                  <td data-label="Spacegate can write">
                    {space.canEncrypt ? (
                      "Yes"
                    ) : (
                      <span className="muted">{SPACE_REASONS[space.reason ?? ""] ?? space.reason}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {spaces.data.nextCursor && (
            <p className="small muted">Showing the first 10. Search to narrow down.</p>
          )}
        </div>
      )}
    </section>
  );
}

export function SpaceStatus({ status }: { status: string }) {
  return (
    <StatusBadge
      status={status === "normal" ? "ok" : "disabled"}
      label={status === "normal" ? "Active" : status === "archive" ? "Archived" : status}
    />
  );
}

export function OwnerCell({ owner }: { owner: { name: string; email: string } | null | undefined }) {
  if (!owner) return <span className="muted">No owner</span>;
  return (
    <div className="stack-xs">
      <span>{owner.name}</span>
      <span className="small muted">{owner.email}</span>
    </div>
  );
}
