import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

function App() {
  return (
    <main
      style={{ fontFamily: "system-ui, sans-serif", margin: "3rem auto", maxWidth: 720, padding: "0 1rem" }}
    >
      <h1>Spacegate</h1>
      <p>
        Publish MCP servers into Dify workspaces. The admin screens are on their way; meanwhile every step
        works through the API, documented at <a href="/api/docs">/api/docs</a>.
      </p>
    </main>
  );
}

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
