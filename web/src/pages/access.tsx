import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { api, collect, type Grant, type Instance, unwrap } from "../api/client";
import { useRole } from "../api/role";
import {
  Button,
  EmptyState,
  ErrorState,
  type HeaderRow,
  HeadersEditor,
  headerUpdate,
  InlineError,
  Loading,
  rowsFromMasked,
  SearchField,
  StatusBadge,
  Switch,
  Time,
  useConfirm,
  useToast,
} from "../components/ui";
import { ERROR_WORDS } from "../components/words";
import {
  errorsUnder,
  type FieldErrors,
  hasErrors,
  serverFieldErrors,
  unnamedHeaderErrors,
  validate,
} from "../forms";
import { platformsQuery } from "../queries";
import { navigate } from "../router";
import { loadSchemas } from "../schemas";
import { GrantPolicy } from "./policy-fields";
import { Sparkline } from "./usage";

const accessKey = (instanceId: string) => ["access", instanceId];

/** Instance → Config: MCP Access Configuration, one card per space with access. */
export function AccessPanel({ instance }: { instance: Instance }) {
  const { can } = useRole();
  const access = useQuery({
    queryKey: accessKey(instance.id),
    queryFn: () =>
      collect((cursor) =>
        unwrap(
          api.GET("/api/instances/{id}/access", {
            params: { path: { id: instance.id }, query: { cursor, limit: 200 } },
          }),
        ),
      ),
    // While Dify is being updated (after a rotation, say), follow it.
    refetchInterval: (query) =>
      query.state.data?.some((grant) => grant.sync?.status === "queued" || grant.sync?.status === "running")
        ? 1000
        : false,
  });
  const platforms = useQuery(platformsQuery);
  const [search, setSearch] = useState("");
  const platformName = useMemo(
    () => new Map((platforms.data ?? []).map((platform) => [platform.id, platform.name])),
    [platforms.data],
  );
  const term = search.trim().toLowerCase();
  const grants = (access.data ?? [])
    .toSorted((a, b) => a.spaceName.localeCompare(b.spaceName))
    .filter(
      (grant) =>
        !term ||
        grant.spaceName.toLowerCase().includes(term) ||
        grant.owner?.email.toLowerCase().includes(term),
    );

  return (
    <section aria-labelledby="access-title" className="stack">
      <div className="section-head">
        <div>
          <h2 id="access-title">MCP Access Configuration</h2>
          <p className="small muted">
            Each space has its own gateway credential and pass-through headers. Dify calls the gateway with
            the credential; the gateway adds the headers before reaching {instance.name}.
          </p>
        </div>
        {(access.data?.length ?? 0) > 6 && (
          <SearchField label="Filter spaces" value={search} onChange={setSearch} />
        )}
      </div>
      {access.isPending ? (
        <Loading label="Loading access…" />
      ) : access.isError ? (
        <ErrorState error={access.error} retry={() => void access.refetch()} />
      ) : access.data.length === 0 ? (
        <EmptyState
          title="No space has access yet"
          action={
            <Button
              variant="primary"
              hidden={!can("operator")}
              onClick={() => navigate(`/sync/new?instances=${instance.id}`)}
            >
              Sync to Dify
            </Button>
          }
        >
          Sync this instance to Dify spaces: each gets its own credential here.
        </EmptyState>
      ) : grants.length === 0 ? (
        <EmptyState title={`No space matches “${search}”`} />
      ) : (
        <ul className="grant-list">
          {grants.map((grant) => (
            <GrantCard
              key={`${grant.platformId}/${grant.spaceId}`}
              grant={grant}
              instance={instance}
              platformName={platformName.get(grant.platformId) ?? "its platform"}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function SyncState({ grant }: { grant: Grant }) {
  const sync = grant.sync;
  // Disabled wins: whatever Dify holds, the gateway refuses this space's credential.
  if (!grant.enabled)
    return (
      <div className="stack-xs">
        <StatusBadge status="disabled" label="Access disabled" />
        <span className="small muted">The gateway refuses this space's credential.</span>
      </div>
    );
  if (!sync) return <StatusBadge status="unknown" label="Not synced" />;
  return (
    <div className="stack-xs">
      <StatusBadge status={sync.status} />
      {sync.error && (
        <span className="small error-text">
          {ERROR_WORDS[sync.error.code] ?? sync.error.message} <code>{sync.error.code}</code>
        </span>
      )}
    </div>
  );
}

function GrantCard({
  grant,
  instance,
  platformName,
}: {
  grant: Grant;
  instance: Instance;
  platformName: string;
}) {
  const { can } = useRole();
  const queryClient = useQueryClient();
  const toast = useToast();
  const confirm = useConfirm();
  const [revealed, setRevealed] = useState<string | null>(null);
  const [headers, setHeaders] = useState<HeaderRow[]>(() => rowsFromMasked(grant.headers));
  const [headersDirty, setHeadersDirty] = useState(false);
  const [headerErrors, setHeaderErrors] = useState<FieldErrors>({});
  // Headers changed elsewhere (another tab, a re-sync) show up unless an edit is under way.
  const storedHeaders = JSON.stringify(grant.headers);
  // biome-ignore lint/correctness/useExhaustiveDependencies: only a change of the stored headers resets the editor.
  useEffect(() => {
    if (!headersDirty) setHeaders(rowsFromMasked(JSON.parse(storedHeaders) as Grant["headers"]));
  }, [storedHeaders]);
  const params = {
    path: { id: grant.instanceId, platformId: grant.platformId, spaceId: grant.spaceId },
  };
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: accessKey(grant.instanceId) });
    void queryClient.invalidateQueries({ queryKey: ["instances"] });
    void queryClient.invalidateQueries({ queryKey: ["instance", grant.instanceId] });
  };
  const space = grant.spaceName;

  const reveal = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/instances/{id}/access/{platformId}/{spaceId}/reveal", { params })),
    onSuccess: ({ credential }) => setRevealed(credential),
  });
  const copy = useMutation({
    mutationFn: async () => {
      const credential =
        revealed ??
        (await unwrap(api.POST("/api/instances/{id}/access/{platformId}/{spaceId}/reveal", { params })))
          .credential;
      setRevealed(credential);
      await navigator.clipboard.writeText(credential);
    },
    onSuccess: () => toast(`Credential of ${space} copied.`),
  });
  const rotate = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/instances/{id}/access/{platformId}/{spaceId}/rotate", { params })),
    onSuccess: () => {
      setRevealed(null);
      refresh();
      toast(`New credential issued for ${space}. The old one no longer works; Dify is being updated.`);
    },
  });
  const toggle = useMutation({
    mutationFn: (enabled: boolean) =>
      unwrap(api.PATCH("/api/instances/{id}/access/{platformId}/{spaceId}", { params, body: { enabled } })),
    onSuccess: (next) => {
      queryClient.setQueryData<Grant[]>(accessKey(grant.instanceId), (all) =>
        all?.map((g) => (g.platformId === next.platformId && g.spaceId === next.spaceId ? next : g)),
      );
      toast(
        next.enabled
          ? `Access for ${space} enabled.`
          : `Access for ${space} disabled. The gateway refuses its credential within seconds.`,
      );
    },
  });
  const saveHeaders = useMutation({
    mutationFn: (update: Record<string, string | { keep: true }>) =>
      unwrap(
        api.PATCH("/api/instances/{id}/access/{platformId}/{spaceId}", {
          params,
          body: { headers: update, version: grant.version },
        }),
      ),
    onSuccess: (next) => {
      setHeaders(rowsFromMasked(next.headers));
      setHeadersDirty(false);
      refresh();
      toast(`Headers of ${space} saved.`);
    },
    onError: (error) => setHeaderErrors(serverFieldErrors(error)),
  });
  const submitHeaders = async () => {
    const update = headerUpdate(headers);
    const checked = validate((await loadSchemas()).HeaderUpdate, update);
    const errors = { ...unnamedHeaderErrors(headers, ""), ...prefixedHeaders(checked.errors) };
    setHeaderErrors(errors);
    if (!hasErrors(errors)) saveHeaders.mutate(update);
  };
  const remove = useMutation({
    mutationFn: (removeFromDify: boolean) =>
      unwrap(
        api.DELETE("/api/instances/{id}/access/{platformId}/{spaceId}", {
          params: { ...params, query: { removeFromDify: removeFromDify ? "true" : "false" } },
        }),
      ),
    onSuccess: (_, removeFromDify) => {
      refresh();
      toast(removeFromDify ? `Removed from ${space} and from its Dify.` : `Access for ${space} removed.`);
    },
  });
  const failure = [reveal, copy, rotate, toggle, remove].find((m) => m.isError);

  const titleId = `grant-${grant.platformId}-${grant.spaceId}`;
  return (
    <li
      className={`card grant${grant.enabled ? "" : " grant-disabled"}`}
      aria-labelledby={titleId}
      data-enabled={grant.enabled}
    >
      <div className="stack-xs">
        <h3 id={titleId}>{space}</h3>
        <span className="small muted">
          {platformName}
          {grant.owner && ` · ${grant.owner.name} (${grant.owner.email})`}
        </span>
      </div>
      <div className="grant-state">
        <SyncState grant={grant} />
        <div className="switch-row">
          <Switch
            checked={grant.enabled}
            disabled={toggle.isPending || !can("operator")}
            label={`Access for ${space}`}
            onChange={(enabled) => toggle.mutate(enabled)}
          />
          <span aria-hidden="true">{grant.enabled ? "Enabled" : "Disabled"}</span>
        </div>
      </div>

      <dl className="in-dify">
        <div>
          <dt>Gateway URL</dt>
          <dd className="mono break" data-testid="gateway-url">
            {instance.gatewayUrl}
          </dd>
        </div>
        <div>
          <dt>Identifier in Dify</dt>
          <dd className="mono" data-testid="identifier">
            {instance.identifier}
          </dd>
        </div>
      </dl>

      <div className="credential">
        <span className="label">Credential</span>
        <code className="credential-value" data-testid="credential">
          {revealed ?? grant.credential}
        </code>
        <div className="button-row">
          <Button
            variant="ghost"
            hidden={!can("operator")}
            busy={reveal.isPending}
            onClick={() => (revealed ? setRevealed(null) : reveal.mutate())}
            aria-label={`${revealed ? "Hide" : "Reveal"} the credential of ${space}`}
          >
            {revealed ? "Hide" : "Reveal"}
          </Button>
          <Button
            variant="ghost"
            hidden={!can("operator")}
            busy={copy.isPending}
            onClick={() => copy.mutate()}
            aria-label={`Copy the credential of ${space}`}
          >
            Copy
          </Button>
          <Button
            variant="ghost"
            hidden={!can("operator")}
            busy={rotate.isPending}
            aria-label={`Rotate the credential of ${space}`}
            onClick={async () => {
              const ok = await confirm({
                title: `Rotate the credential of ${space}?`,
                message:
                  "A new credential is issued and the current one stops working at once. Spacegate gives Dify the new one.",
                confirmLabel: "Rotate credential",
                danger: true,
              });
              if (ok) rotate.mutate();
            }}
          >
            Rotate
          </Button>
        </div>
      </div>

      <dl className="usage">
        <div>
          <dt>Last used</dt>
          <dd>
            <Time iso={grant.lastUsedAt} />
          </dd>
        </div>
        <div>
          <dt>Calls</dt>
          <dd>{grant.calls}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd>{grant.errors}</dd>
        </div>
        <div>
          <dt>Last 24 h</dt>
          <dd>
            <Sparkline grant={grant} />
          </dd>
        </div>
        <div>
          <dt>Rotated</dt>
          <dd>
            <Time iso={grant.lastRotatedAt} />
          </dd>
        </div>
      </dl>

      <details className="grant-headers">
        <summary>Pass-through headers ({Object.keys(grant.headers).length})</summary>
        <HeadersEditor
          label={`Headers of ${space}`}
          rows={headers}
          onChange={(rows) => {
            setHeaders(rows);
            setHeadersDirty(true);
          }}
          errors={errorsUnder(headerErrors, "headers")}
          error={headerErrors.headers}
        />
        <InlineError error={saveHeaders.isError && !hasErrors(headerErrors) ? saveHeaders.error : null} />
        <div className="button-row">
          <Button
            variant="primary"
            disabled={!headersDirty || !can("operator")}
            busy={saveHeaders.isPending}
            onClick={() => void submitHeaders()}
          >
            Save headers<span className="sr-only"> of {space}</span>
          </Button>
          {headersDirty && (
            <Button
              onClick={() => {
                setHeaders(rowsFromMasked(grant.headers));
                setHeadersDirty(false);
                setHeaderErrors({});
              }}
            >
              Discard
            </Button>
          )}
        </div>
      </details>
      <GrantPolicy grant={grant} onSaved={refresh} />

      {failure && (
        <InlineError
          error={
            failure === copy
              ? new Error("Could not copy. The credential is shown: select it and copy it.")
              : failure.error
          }
        />
      )}
      <div className="grant-foot">
        <Button
          variant="ghost"
          className="danger-text"
          hidden={!can("operator")}
          busy={remove.isPending}
          aria-label={`Remove ${space}`}
          onClick={async () => {
            const answer = await confirm({
              title: `Remove access for ${space}?`,
              message:
                "Its credential stops working at once. Dify apps in this space that use these tools will fail.",
              confirmLabel: "Remove access",
              danger: true,
              option: { label: "Also delete the tool from this space in Dify", defaultChecked: true },
            });
            if (answer) remove.mutate(answer.option);
          }}
        >
          Remove…
        </Button>
      </div>
    </li>
  );
}

/** Header errors of `HeaderUpdate` (keyed by header name) under the card's "headers" path. */
const prefixedHeaders = (errors: FieldErrors | undefined) =>
  Object.fromEntries(
    Object.entries(errors ?? {}).map(([path, message]) => [path ? `headers.${path}` : "headers", message]),
  );
