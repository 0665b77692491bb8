/// <reference path="./.sst/platform/config.d.ts" />

export default $config({
  app(input) {
    return {
      name: "spacegate",
      home: "aws",
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: input?.stage === "production",
    };
  },
  async run() {
    await import("./stacks/table");
    await import("./stacks/secrets");
    await import("./stacks/queue");
    const { api } = await import("./stacks/api");
    await import("./stacks/refresh");
    const { web } = await import("./stacks/web");
    return {
      api: $interpolate`${api.url}/api`,
      gateway: $interpolate`${api.url}/gateway`,
      web: web.url,
    };
  },
});
