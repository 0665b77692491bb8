import { useMutation } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { api, errorMessage, session, unwrap } from "../api/client";
import { BrandMark } from "../components/icons";
import { Button, Field } from "../components/ui";

const SSO_STATE_KEY = "spacegate.sso.state";

/** The `code` and `state` (or `error`) the identity provider sent the browser back with, if any. */
function returnFromProvider() {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("code");
  const state = params.get("state");
  const error = params.get("error_description") ?? params.get("error");
  if (!code && !error) return null;
  // The address is cleaned at once, so a reload never sends the code again.
  window.history.replaceState(null, "", `${window.location.pathname}${window.location.hash}`);
  return { code, state, iss: params.get("iss"), error };
}

export function LoginPage() {
  const [password, setPassword] = useState("");
  // Read outside the query cache, which is emptied whenever nobody is signed in.
  const [methods, setMethods] = useState<{ data?: { password: boolean; sso: boolean } }>({});
  useEffect(() => {
    unwrap(api.GET("/api/auth/methods")).then(
      (data) => setMethods({ data }),
      () => setMethods({}),
    );
  }, []);
  const login = useMutation({
    mutationFn: () => unwrap(api.POST("/api/auth/login", { body: { password } })),
    onSuccess: (value) => session.set(value),
  });
  const startSso = useMutation({
    mutationFn: () => unwrap(api.POST("/api/auth/sso/start")),
    onSuccess: ({ url, state }) => {
      sessionStorage.setItem(SSO_STATE_KEY, state);
      window.location.assign(url);
    },
  });
  const finishSso = useMutation({
    mutationFn: async (back: NonNullable<ReturnType<typeof returnFromProvider>>) => {
      const expected = sessionStorage.getItem(SSO_STATE_KEY);
      sessionStorage.removeItem(SSO_STATE_KEY);
      if (back.error) throw new Error(`The identity provider did not sign you in: ${back.error}`);
      if (!back.code || !back.state || back.state !== expected)
        throw new Error("This sign-in was not started in this browser tab. Sign in again.");
      return unwrap(
        api.POST("/api/auth/sso/callback", {
          body: { code: back.code, state: back.state, ...(back.iss ? { iss: back.iss } : {}) },
        }),
      );
    },
    onSuccess: (value) => session.set(value),
  });
  const handled = useRef(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once, when the page loads.
  useEffect(() => {
    if (handled.current) return;
    handled.current = true;
    const back = returnFromProvider();
    if (back) finishSso.mutate(back);
  }, []);

  const ssoError = startSso.isError ? startSso.error : finishSso.isError ? finishSso.error : null;
  const passwordOn = methods.data?.password ?? true;
  return (
    <main className="login">
      <form
        className="login-card"
        aria-labelledby="login-title"
        onSubmit={(event) => {
          event.preventDefault();
          login.mutate();
        }}
      >
        <div className="brand brand-large">
          <BrandMark />
          Spacegate
        </div>
        <h1 id="login-title">Sign in</h1>
        <p className="muted">Publish MCP servers into your Dify workspaces.</p>
        {methods.data?.sso ? (
          <>
            {ssoError ? (
              <p className="field-error" role="alert">
                {errorMessage(ssoError)}
              </p>
            ) : null}
            <Button
              type="button"
              variant="primary"
              busy={startSso.isPending || finishSso.isPending}
              onClick={() => startSso.mutate()}
            >
              Sign in with single sign-on
            </Button>
          </>
        ) : null}
        {passwordOn ? (
          <>
            <Field label="Admin password" error={login.isError ? errorMessage(login.error) : undefined}>
              {(props) => (
                <input
                  {...props}
                  type="password"
                  autoComplete="current-password"
                  required
                  // biome-ignore lint/a11y/noAutofocus: the sign-in page has one thing to do.
                  autoFocus={!methods.data?.sso}
                  value={password}
                  onChange={(event) => setPassword(event.target.value)}
                />
              )}
            </Field>
            <Button
              type="submit"
              variant={methods.data?.sso ? "default" : "primary"}
              busy={login.isPending}
              disabled={!password}
            >
              Sign in{methods.data?.sso ? " with the password" : ""}
            </Button>
            <p className="hint">
              The password is printed once when Spacegate first starts, or set with SPACEGATE_ADMIN_PASSWORD.
            </p>
          </>
        ) : null}
      </form>
    </main>
  );
}
