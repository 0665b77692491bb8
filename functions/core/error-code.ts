import { z } from "zod";
import { errorCodes } from "./errors";

/** The catalog's codes as a schema: one `ErrorCode` in the OpenAPI document, which the web client reads. */
export const ErrorCode = z.enum(errorCodes).meta({ id: "ErrorCode" });
