/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API's origin for a static deployment (e.g. https://abc.execute-api.eu-west-1.amazonaws.com); same origin when unset. */
  readonly VITE_API_URL?: string;
}
