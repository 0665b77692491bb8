import { api, collect, unwrap } from "./api/client";

/** Lists more than one page uses: every platform and instance, read once and shared. */
export const platformsQuery = {
  queryKey: ["platforms"],
  queryFn: () =>
    collect((cursor) => unwrap(api.GET("/api/platforms", { params: { query: { cursor, limit: 200 } } }))),
};

export const instancesQuery = {
  queryKey: ["instances"],
  queryFn: () =>
    collect((cursor) => unwrap(api.GET("/api/instances", { params: { query: { cursor, limit: 200 } } }))),
};
