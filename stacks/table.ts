/** One table for everything; keys are documented in functions/core/store/index.ts. */
export const table = new sst.aws.Dynamo("Table", {
  fields: { pk: "string", sk: "string", gsi1pk: "string", gsi1sk: "string" },
  primaryIndex: { hashKey: "pk", rangeKey: "sk" },
  globalIndexes: { gsi1: { hashKey: "gsi1pk", rangeKey: "gsi1sk" } },
  ttl: "ttl",
  transform: { table: { pointInTimeRecovery: { enabled: true } } },
});

const resources = [table.arn, $interpolate`${table.arn}/index/*`];
const read = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"];

/** What the API and the workers do to the table: single-item reads and conditional writes. */
export const tableReadWrite = {
  actions: [...read, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
  resources,
};

/** The gateway reads grants and instances and updates usage counters. */
export const tableGateway = { actions: [...read, "dynamodb:UpdateItem"], resources };
