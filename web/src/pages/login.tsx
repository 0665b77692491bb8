import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { api, errorMessage, session, unwrap } from "../api/client";
import { BrandMark } from "../components/icons";
import { Button, Field } from "../components/ui";

export function LoginPage() {
  const [password, setPassword] = useState("");
  const login = useMutation({
    mutationFn: () => unwrap(api.POST("/api/auth/login", { body: { password } })),
    onSuccess: (value) => session.set(value),
  });
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
        <Field label="Admin password" error={login.isError ? errorMessage(login.error) : undefined}>
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="current-password"
              required
              // biome-ignore lint/a11y/noAutofocus: the sign-in page has one thing to do.
              autoFocus
              value={password}
              onChange={(event) => setPassword(event.target.value)}
            />
          )}
        </Field>
        <Button type="submit" variant="primary" busy={login.isPending} disabled={!password}>
          Sign in
        </Button>
        <p className="hint">
          The password is printed once when Spacegate first starts, or set with SPACEGATE_ADMIN_PASSWORD.
        </p>
      </form>
    </main>
  );
}
