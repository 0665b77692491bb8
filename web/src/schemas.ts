export { mask } from "../../functions/core/mask";

type Schemas = typeof import("../../functions/core/schemas");
let loading: Promise<Schemas> | undefined;

/**
 * The API's own request schemas, which forms are checked with before anything is sent. Loaded with
 * the first form that needs them, so zod stays out of the first page.
 */
export const loadSchemas = () => {
  loading ??= import("../../functions/core/schemas");
  return loading;
};
