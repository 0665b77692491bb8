/// <reference path="./.sst/platform/config.d.ts" />

/** A production stage keeps its data when removed and refuses `sst remove` while protected. */
const production = (stage: string | undefined) => stage === "prod" || stage === "production";

export default $config({
  app(input) {
    return {
      name: "spacegate",
      home: "aws",
      removal: production(input?.stage) ? "retain" : "remove",
      protect: production(input?.stage),
    };
  },
  async run() {
    const { lambdaArchitecture, lambdaNodejs, lambdaRuntime } = await import("./bundle.config");
    $transform(sst.aws.Function, (args) => {
      args.runtime ??= lambdaRuntime;
      args.architecture ??= lambdaArchitecture;
      args.logging ??= { retention: "1 month" };
      args.nodejs ??= lambdaNodejs;
    });

    await import("./stacks/table");
    await import("./stacks/secrets");
    await import("./stacks/sign-in");
    await import("./stacks/network");
    await import("./stacks/queue");
    const { apiUrl, publicUrl } = await import("./stacks/api");
    await import("./stacks/worker");
    await import("./stacks/cron");
    const { web } = await import("./stacks/web");
    await import("./stacks/alarms");
    await import("./stacks/dashboard");

    return {
      web: web.url,
      api: $interpolate`${apiUrl}/api`,
      gateway: $interpolate`${publicUrl}/gateway`,
    };
  },
});
