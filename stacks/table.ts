/** One table for everything; keys are documented in functions/core/store/index.ts. */
export const table = new sst.aws.Dynamo("Table", {
  fields: { pk: "string", sk: "string", gsi1pk: "string", gsi1sk: "string" },
  primaryIndex: { hashKey: "pk", rangeKey: "sk" },
  globalIndexes: { gsi1: { hashKey: "gsi1pk", rangeKey: "gsi1sk" } },
  ttl: "ttl",
  transform: { table: { pointInTimeRecovery: { enabled: true } } },
});
