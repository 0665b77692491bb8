export * from "../../dev/mcp-upstream";
