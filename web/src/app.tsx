import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useSyncExternalStore } from "react";
import { session } from "./api/client";
import { Shell } from "./components/layout";
import { EmptyState } from "./components/ui";
import { AuditPage } from "./pages/audit";
import { InstanceCreatePage, InstanceDetailPage, InstancesPage } from "./pages/instances";
import { LoginPage } from "./pages/login";
import { PlatformFormPage, PlatformsPage } from "./pages/platforms";
import { SyncJobPage, SyncsPage } from "./pages/sync-status";
import { SyncWizardPage } from "./pages/sync-wizard";
import { Link, type Route, useRoute } from "./router";

const signedIn = () => session.get() !== null;

export function App() {
  const isSignedIn = useSyncExternalStore(session.subscribe, signedIn);
  const queryClient = useQueryClient();
  useEffect(() => {
    if (!isSignedIn) queryClient.clear();
  }, [isSignedIn, queryClient]);
  if (!isSignedIn) return <LoginPage />;
  return (
    <Shell>
      <Page />
    </Shell>
  );
}

function Page() {
  const route = useRoute();
  return pageFor(route);
}

function pageFor({ path, query }: Route) {
  const [section, id, tab] = path;
  switch (section) {
    case undefined:
    case "platforms":
      if (id === "new") return <PlatformFormPage key="new" prefill={query} />;
      if (id) return <PlatformFormPage key={id} id={id} />;
      return <PlatformsPage />;
    case "instances":
      if (id === "new") return <InstanceCreatePage />;
      if (id) return <InstanceDetailPage key={id} id={id} tab={tab ?? "tools"} />;
      return <InstancesPage />;
    case "sync":
      return <SyncWizardPage instanceIds={(query.get("instances") ?? "").split(",").filter(Boolean)} />;
    case "syncs":
      if (id) return <SyncJobPage key={id} id={id} />;
      return <SyncsPage />;
    case "audit":
      return <AuditPage />;
    default:
      return (
        <EmptyState title="No such page" action={<Link to="/platforms">Go to Agent Platforms</Link>}>
          The address {`#/${path.join("/")}`} does not match any screen.
        </EmptyState>
      );
  }
}
