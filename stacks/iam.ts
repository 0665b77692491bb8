import { type Grant, grants } from "./permissions";
import { syncQueue } from "./queue";
import { secretArn } from "./secrets";
import { table } from "./table";

const resourcesOf = (grant: Grant) => {
  switch (grant.service) {
    case "dynamodb":
      return [table.arn, $interpolate`${table.arn}/index/*`];
    case "sqs":
      return [syncQueue.arn];
    case "secretsmanager":
      return grant.names.map(secretArn);
  }
};

/** A function's IAM statements, from its grants in stacks/permissions.ts. */
export const permissionsOf = (name: keyof typeof grants) =>
  grants[name].map((grant) => ({
    actions: grant.actions.map((action) => `${grant.service}:${action}`),
    resources: resourcesOf(grant),
  }));
