import { useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useEffect, useRef } from "react";
import { api, session } from "../api/client";
import { useRole } from "../api/role";
import { Link, useRoute } from "../router";
import { BrandMark } from "./icons";

const NAV = [
  { to: "/platforms", label: "Agent Platforms", section: "platforms" },
  { to: "/instances", label: "Instances", section: "instances" },
  { to: "/syncs", label: "Syncs", section: "syncs" },
  { to: "/audit", label: "Audit log", section: "audit" },
];

export function Shell({ children }: { children: ReactNode }) {
  const route = useRoute();
  const queryClient = useQueryClient();
  const { person } = useRole();
  const section = route.path[0] === "sync" ? "syncs" : (route.path[0] ?? "platforms");
  const mainRef = useRef<HTMLElement>(null);
  const pathKey = route.path.join("/");
  const first = useRef(true);

  // Moves focus to the new page's heading, so keyboard and screen reader users start there.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the page changes.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const heading = document.getElementById("page-title");
    (heading ?? mainRef.current)?.focus({ preventScroll: false });
  }, [pathKey]);

  // Asks now and then whether the identity provider still stands behind the session; a 401 clears
  // the session, which brings back the sign-in page.
  useEffect(() => {
    const refresh = () => void api.POST("/api/auth/refresh").catch(() => {});
    const timer = setInterval(refresh, 10 * 60 * 1000);
    window.addEventListener("focus", refresh);
    return () => {
      clearInterval(timer);
      window.removeEventListener("focus", refresh);
    };
  }, []);

  return (
    <div className="shell">
      <button type="button" className="skip-link" onClick={() => mainRef.current?.focus()}>
        Skip to content
      </button>
      <header className="topbar">
        <Link to="/platforms" className="brand" aria-label="Spacegate home">
          <BrandMark />
          Spacegate
        </Link>
        <nav aria-label="Main" className="nav">
          <ul>
            {NAV.map((item) => (
              <li key={item.to}>
                <Link to={item.to} aria-current={section === item.section ? "page" : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        {person && (
          <span className="small muted" data-testid="signed-in-as">
            {person.name ?? person.email ?? "Admin"} · {person.role}
          </span>
        )}
        <button
          type="button"
          className="btn btn-ghost signout"
          onClick={async () => {
            // Signed out on the server first, so the token is worthless even if it was copied.
            await api.POST("/api/auth/logout").catch(() => {});
            session.clear();
            queryClient.clear();
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1} className="main">
        {children}
      </main>
    </div>
  );
}
