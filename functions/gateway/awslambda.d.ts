// The Lambda Node.js runtime provides the `awslambda` global; @types/aws-lambda declares it
// (streamifyResponse, HttpResponseStream) once something imports "aws-lambda". Importing it here
// makes the global visible everywhere, and names the HTTP integration prelude we write.
import type {} from "aws-lambda";

declare global {
  namespace awslambda {
    /** The JSON prelude API Gateway reads before the 8 NUL bytes that start the body. */
    interface HttpResponsePrelude {
      [key: string]: unknown;
      statusCode: number;
      headers?: Record<string, string>;
      cookies?: string[];
    }
  }
}
