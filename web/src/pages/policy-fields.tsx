import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { api, type Grant, type Instance, unwrap } from "../api/client";
import { Button, Field, InlineError, Segmented, Switch, useToast } from "../components/ui";
import { type FieldErrors, hasErrors, serverFieldErrors } from "../forms";

type IdentityMode = Instance["identity"]["mode"];

/** The tool list, limits and identity as the instance form edits them: text until it is sent. */
export type PolicyState = {
  tools: string;
  callsPerMinute: string;
  concurrent: string;
  mode: IdentityMode;
  header: string;
  bearer: boolean;
  issuer: string;
  audience: string;
  jwksUrl: string;
  claimHeaders: string;
};

const IDENTITY_LABELS: Record<IdentityMode, string> = {
  off: "Off",
  forward: "Forward",
  verify: "Verify",
};

/** "a, b" to ["a", "b"]; empty to null (every tool). */
export const toolList = (text: string) => {
  const names = text
    .split(/[\s,]+/)
    .map((name) => name.trim())
    .filter(Boolean);
  return names.length === 0 ? null : names;
};

export const limitValue = (text: string) => (text.trim() === "" ? null : Number(text));

export const policyInitial = (instance?: Instance): PolicyState => ({
  tools: instance?.tools?.join(", ") ?? "",
  callsPerMinute: instance?.limits.callsPerMinute?.toString() ?? "",
  concurrent: instance?.limits.concurrent?.toString() ?? "",
  mode: instance?.identity.mode ?? "off",
  header: instance?.identity.header ?? "x-dify-sso-access-token",
  bearer: instance?.identity.bearer ?? false,
  issuer: instance?.identity.issuer ?? "",
  audience: instance?.identity.audience ?? "",
  jwksUrl: instance?.identity.jwksUrl ?? "",
  claimHeaders: Object.entries(instance?.identity.claimHeaders ?? {})
    .map(([claim, header]) => `${claim}=${header}`)
    .join(", "),
});

const orNull = (text: string) => (text.trim() === "" ? null : text.trim());

export const policyBody = (state: PolicyState) => ({
  tools: toolList(state.tools),
  limits: { callsPerMinute: limitValue(state.callsPerMinute), concurrent: limitValue(state.concurrent) },
  identity: {
    mode: state.mode,
    header: state.header.trim() || "x-dify-sso-access-token",
    bearer: state.bearer,
    issuer: orNull(state.issuer),
    audience: orNull(state.audience),
    jwksUrl: orNull(state.jwksUrl),
    claimHeaders: Object.fromEntries(
      state.claimHeaders
        .split(",")
        .map((pair) => pair.split("=").map((part) => part.trim()))
        .filter(
          (pair): pair is [string, string] => pair.length === 2 && Boolean(pair[0]) && Boolean(pair[1]),
        ),
    ),
  },
});

/** The instance form's tools, limits and identity. */
export function PolicyFields({
  state,
  onChange,
  errors,
}: {
  state: PolicyState;
  onChange: (next: PolicyState) => void;
  errors: Record<string, string | undefined>;
}) {
  const set = <K extends keyof PolicyState>(key: K, value: PolicyState[K]) =>
    onChange({ ...state, [key]: value });
  const text = (
    key: Exclude<keyof PolicyState, "mode" | "bearer">,
    label: string,
    hint?: string,
    path: string = key,
  ) => (
    <Field label={label} hint={hint} error={errors[path]}>
      {(props) => <input {...props} value={state[key]} onChange={(event) => set(key, event.target.value)} />}
    </Field>
  );
  return (
    <>
      {text(
        "tools",
        "Allowed tools",
        "Names separated by commas; empty allows every tool. Each space may narrow it.",
      )}
      <div className="grid-2">
        {text(
          "callsPerMinute",
          "Tool calls per minute, per space",
          "Empty for no limit.",
          "limits.callsPerMinute",
        )}
        {text("concurrent", "Tool calls at once, per space", "Empty for no limit.", "limits.concurrent")}
      </div>
      <Segmented
        legend="Calling user's identity"
        name="identity"
        choices={["off", "forward", "verify"] as const}
        labels={IDENTITY_LABELS}
        value={state.mode}
        onChange={(value) => set("mode", value)}
      />
      {state.mode !== "off" && (
        <>
          <p className="hint">
            Dify Enterprise 1.15+ sends each user's SSO token; the gateway passes it to the MCP server
            {state.mode === "verify" ? " once it has checked it against the identity provider's keys" : ""}.
          </p>
          <div className="grid-2">
            {text("header", "Send it as header", undefined, "identity.header")}
            <div className="switch-row">
              <Switch checked={state.bearer} onChange={(value) => set("bearer", value)} label="As Bearer" />
              <span>As Bearer</span>
            </div>
          </div>
        </>
      )}
      {state.mode === "verify" && (
        <div className="grid-2">
          {text("issuer", "Issuer", undefined, "identity.issuer")}
          {text("audience", "Audience", undefined, "identity.audience")}
          {text("jwksUrl", "JWKS URL", undefined, "identity.jwksUrl")}
          {text(
            "claimHeaders",
            "Claims as headers",
            "e.g. sub=x-user-id, email=x-user-email",
            "identity.claimHeaders",
          )}
        </div>
      )}
    </>
  );
}

/** An access card's tools and limits: the space's narrowing of the instance's, saved on their own. */
export function GrantPolicy({ grant, onSaved }: { grant: Grant; onSaved: () => void }) {
  const toast = useToast();
  const initial = () => ({
    tools: grant.tools?.join(", ") ?? "",
    callsPerMinute: grant.limits.callsPerMinute?.toString() ?? "",
    concurrent: grant.limits.concurrent?.toString() ?? "",
  });
  const [state, setState] = useState(initial);
  const [errors, setErrors] = useState<FieldErrors>({});
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/api/instances/{id}/access/{platformId}/{spaceId}", {
          params: { path: { id: grant.instanceId, platformId: grant.platformId, spaceId: grant.spaceId } },
          body: {
            tools: toolList(state.tools),
            // Empty keeps the instance's limit.
            limits: {
              ...(state.callsPerMinute.trim() ? { callsPerMinute: limitValue(state.callsPerMinute) } : {}),
              ...(state.concurrent.trim() ? { concurrent: limitValue(state.concurrent) } : {}),
            },
            version: grant.version,
          },
        }),
      ),
    onSuccess: () => {
      setErrors({});
      onSaved();
      toast(`Tools and limits of ${grant.spaceName} saved; its Dify row is being updated.`);
    },
    onError: (error) => setErrors(serverFieldErrors(error)),
  });
  const input = (key: keyof typeof state, label: string, hint: string, path: string) => (
    <Field label={label} hint={hint} error={errors[path]}>
      {(props) => (
        <input
          {...props}
          value={state[key]}
          onChange={(event) => setState((current) => ({ ...current, [key]: event.target.value }))}
        />
      )}
    </Field>
  );
  return (
    <details className="grant-headers">
      <summary>
        Tools and limits ({grant.tools === null ? "all tools" : `${grant.tools.length} tools`}
        {grant.limited > 0 ? `, ${grant.limited} calls limited` : ""})
      </summary>
      {input("tools", "Allowed tools", "Names separated by commas; empty: the instance's list.", "tools")}
      <div className="grid-2">
        {input(
          "callsPerMinute",
          "Tool calls per minute",
          "Empty: the instance's limit.",
          "limits.callsPerMinute",
        )}
        {input("concurrent", "Tool calls at once", "Empty: the instance's limit.", "limits.concurrent")}
      </div>
      <InlineError error={save.isError && !hasErrors(errors) ? save.error : null} />
      <Button busy={save.isPending} onClick={() => save.mutate()}>
        Save tools and limits<span className="sr-only"> of {grant.spaceName}</span>
      </Button>
    </details>
  );
}
