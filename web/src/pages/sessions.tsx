import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { useRole } from "../api/role";
import { Button, ErrorState, InlineError, Loading, Time, useConfirm, useToast } from "../components/ui";

const METHODS = { password: "Password", sso: "Single sign-on" } as const;

/** The live sessions, each with a button that ends it at once; shown to admins only. */
export function SessionsSection() {
  const { can, person: me } = useRole();
  const queryClient = useQueryClient();
  const confirm = useConfirm();
  const toast = useToast();
  const sessions = useQuery({
    queryKey: ["sessions"],
    queryFn: () => unwrap(api.GET("/api/sessions")),
    enabled: can("admin"),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/sessions/{id}", { params: { path: { id } } })),
    onSuccess: () => toast("Session ended."),
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: ["sessions"] });
      void queryClient.invalidateQueries({ queryKey: ["audit"] });
    },
  });
  if (!can("admin")) return null;

  return (
    <section className="stack" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Sessions</h2>
      <p className="muted small">
        Everyone signed in now. Ending a session signs that person out at once; they can sign in again.
      </p>
      <InlineError error={revoke.error} />
      {sessions.isPending ? (
        <Loading label="Loading the sessions…" />
      ) : sessions.isError ? (
        <ErrorState error={sessions.error} retry={() => void sessions.refetch()} />
      ) : (
        <div className="table-wrap">
          <table className="table table-stacked">
            <caption className="sr-only">Live sessions</caption>
            <thead>
              <tr>
                <th scope="col">Who</th>
                <th scope="col">Role</th>
                <th scope="col">Signed in with</th>
                <th scope="col">Since</th>
                <th scope="col">Ends</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sessions.data.items.map((session) => {
                const who =
                  session.method === "password"
                    ? "Admin (password)"
                    : (session.person.name ?? session.person.email ?? session.person.id);
                return (
                  <tr key={session.id}>
                    <td data-label="Who">{who}</td>
                    <td data-label="Role">{session.person.role}</td>
                    <td data-label="Signed in with">{METHODS[session.method]}</td>
                    <td data-label="Since">
                      <Time iso={session.issuedAt} />
                    </td>
                    <td data-label="Ends">
                      <Time iso={session.expiresAt} />
                    </td>
                    <td>
                      <Button
                        variant="danger"
                        busy={revoke.isPending && revoke.variables === session.id}
                        onClick={async () => {
                          const mine = session.method === "sso" && session.person.id === me?.id;
                          const ok = await confirm({
                            title: `End the session of ${who}?`,
                            message: mine
                              ? "This may be your own session: ending it signs you out."
                              : "They are signed out at once and must sign in again.",
                            confirmLabel: "Revoke",
                            danger: true,
                          });
                          if (ok) revoke.mutate(session.id);
                        }}
                      >
                        Revoke
                      </Button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
