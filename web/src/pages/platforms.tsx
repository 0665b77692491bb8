import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import {
  ApiError,
  api,
  type CheckResult,
  collect,
  type DatabaseInput,
  errorMessage,
  type Platform,
  type PlatformUpdate,
  unwrap,
} from "../api/client";
import {
  Button,
  EmptyState,
  ErrorState,
  Field,
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
import { Link, navigate } from "../router";

export const platformsQuery = {
  queryKey: ["platforms"],
  queryFn: () =>
    collect((cursor) => unwrap(api.GET("/api/platforms", { params: { query: { cursor, limit: 200 } } }))),
};

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
  const platforms = useQuery(platformsQuery);
  const queryClient = useQueryClient();
  const toast = useToast();
  const confirm = useConfirm();
  const recheck = useMutation({
    mutationFn: (id: string) => unwrap(api.POST("/api/platforms/{id}/check", { params: { path: { id } } })),
    onSuccess: (platform) => {
      void queryClient.invalidateQueries({ queryKey: ["platforms"] });
      toast(
        platform.check?.ok ? "success" : "error",
        platform.check?.ok
          ? `${platform.name}: the check passed.`
          : `${platform.name}: ${explainCheck(platform.check?.code ?? "").title}.`,
      );
    },
    onError: (error) => toast("error", errorMessage(error)),
  });
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/platforms/{id}", { params: { path: { id } } })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["platforms"] });
      toast("success", "Platform removed.");
    },
    onError: (error) => toast("error", errorMessage(error)),
  });

  return (
    <>
      <PageHeader
        title="Agent Platforms"
        description="The Dify installations Spacegate publishes MCP tools into, reached through their PostgreSQL database."
        actions={
          <Link className="btn btn-primary" to="/platforms/new">
            Add platform
          </Link>
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
            <Link className="btn btn-primary" to="/platforms/new">
              Add your first platform
            </Link>
          }
        >
          Add a Dify installation by the credentials of its PostgreSQL database. Spacegate checks that it can
          write MCP tools there before saving.
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table">
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
                  <td>
                    <Link to={`/platforms/${platform.id}`} className="strong">
                      {platform.name}
                    </Link>
                  </td>
                  <td>{KIND_LABELS[platform.kind]}</td>
                  <td className="mono small">
                    {platform.database.user}@{platform.database.host}:{platform.database.port}/
                    {platform.database.database}
                    {platform.database.ssl === "require" && (
                      <span className="muted"> · certificate not verified</span>
                    )}
                  </td>
                  <td>
                    <CheckSummary check={platform.check} />
                  </td>
                  <td className="row-actions">
                    <Link className="btn btn-ghost" to={`/platforms/${platform.id}`}>
                      Edit<span className="sr-only"> {platform.name}</span>
                    </Link>
                    <Button
                      variant="ghost"
                      busy={recheck.isPending && recheck.variables === platform.id}
                      onClick={() => recheck.mutate(platform.id)}
                    >
                      Check<span className="sr-only"> {platform.name}</span> again
                    </Button>
                    <Button
                      variant="ghost"
                      className="danger-text"
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

export function PlatformFormPage({ id }: { id?: string }) {
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
        <PlatformForm />
      </>
    );
  }
  if (platform.isPending) return <Loading label="Loading the platform…" />;
  if (platform.isError) return <ErrorState error={platform.error} retry={() => void platform.refetch()} />;
  return (
    <>
      <PageHeader back={back} title={platform.data.name} description={KIND_LABELS[platform.data.kind]} />
      <PlatformForm platform={platform.data} />
      {platform.data.check?.ok && <SpacesPreview platform={platform.data} />}
    </>
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

const initialState = (platform?: Platform): FormState => ({
  name: platform?.name ?? "",
  kind: platform?.kind ?? "dify-community",
  host: platform?.database.host ?? "",
  port: String(platform?.database.port ?? 5432),
  database: platform?.database.database ?? "dify",
  user: platform?.database.user ?? "",
  password: "",
  ssl: platform?.database.ssl ?? "verify-full",
  caPem: "",
});

function PlatformForm({ platform }: { platform?: Platform }) {
  const [form, setForm] = useState<FormState>(() => initialState(platform));
  const [result, setResult] = useState<CheckResult | null>(platform?.check ?? null);
  const [resultSource, setResultSource] = useState<"stored" | "test" | "save">("stored");
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [failedSave, setFailedSave] = useState(false);
  const queryClient = useQueryClient();
  const toast = useToast();
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => {
    setForm((current) => ({ ...current, [key]: value }));
    setFailedSave(false);
  };

  const database = (): DatabaseInput => ({
    host: form.host.trim(),
    port: Number(form.port),
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

  const showError = (error: unknown, prefix = "") => {
    if (error instanceof ApiError && ["invalid_request", "password_required"].includes(error.code)) {
      const fields = error.fieldErrors();
      setFieldErrors(Object.fromEntries(Object.entries(fields).map(([key, value]) => [prefix + key, value])));
    }
    toast("error", errorMessage(error));
  };

  const test = useMutation({
    mutationFn: async (): Promise<CheckResult> => {
      if (platform && !form.password) {
        if (databaseChanged)
          throw new ApiError(
            "password_required",
            "Enter the database password again: the stored one is only sent to the server it was saved for.",
            400,
            [{ path: "password", message: "Required when the server changes" }],
          );
        const rechecked = await unwrap(
          api.POST("/api/platforms/{id}/check", { params: { path: { id: platform.id } } }),
        );
        void queryClient.invalidateQueries({ queryKey: ["platforms"] });
        void queryClient.invalidateQueries({ queryKey: ["platform", platform.id] });
        return rechecked.check!;
      }
      return unwrap(api.POST("/api/platforms/check", { body: database() }));
    },
    onMutate: () => setFieldErrors({}),
    onSuccess: (check) => {
      setResult(check);
      setResultSource("test");
    },
    onError: (error) => showError(error, "database."),
  });

  const save = useMutation({
    mutationFn: async ({ force }: { force: boolean }) => {
      if (!platform) {
        if (!force) {
          const check = await unwrap(api.POST("/api/platforms/check", { body: database() }));
          if (!check.ok) return { saved: null, check };
        }
        const saved = await unwrap(
          api.POST("/api/platforms", {
            body: { name: form.name.trim(), kind: form.kind, database: database() },
          }),
        );
        return { saved, check: saved.check };
      }
      const { password: _, ...fields } = database();
      const body: PlatformUpdate = {
        name: form.name.trim(),
        kind: form.kind,
        database: { ...fields, ...(form.password ? { password: form.password } : {}) },
        version: platform.version,
      };
      const saved = await unwrap(
        api.PATCH("/api/platforms/{id}", { params: { path: { id: platform.id } }, body }),
      );
      return { saved, check: saved.check };
    },
    onMutate: () => setFieldErrors({}),
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
        toast(
          "success",
          saved.check?.ok
            ? `Platform ${saved.name} added: ${saved.check.spaceCount} spaces found.`
            : `Platform ${saved.name} added, but the check failed.`,
        );
        navigate(`/platforms/${saved.id}`);
      } else {
        toast(
          saved.check?.ok ? "success" : "error",
          saved.check?.ok ? `Saved ${saved.name}.` : `Saved ${saved.name}, but the check failed.`,
        );
      }
    },
    onError: (error) => showError(error),
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate({ force: false });
  };
  const busy = test.isPending || save.isPending;

  return (
    <form className="card form" onSubmit={submit} aria-labelledby="page-title" noValidate>
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
            <button type="button" className="link-button" onClick={() => save.mutate({ force: true })}>
              save anyway
            </button>{" "}
            and fix it later.
          </p>
        )}
      </div>

      <div className="form-actions">
        <Button onClick={() => test.mutate()} busy={test.isPending} disabled={busy}>
          Test connection
        </Button>
        <Button type="submit" variant="primary" busy={save.isPending} disabled={busy}>
          {platform ? "Save changes" : "Save platform"}
        </Button>
      </div>
    </form>
  );
}

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
          <table className="table">
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
                  <td className="strong">{space.name}</td>
                  <td>
                    <OwnerCell owner={space.owner} />
                  </td>
                  <td>
                    <SpaceStatus status={space.status} />
                  </td>
                  <td>
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
