/** Item keys of the single table (see the table of keys in ./index.ts). */
export const Keys = {
  instance: (instanceId: string) => ({ pk: "INSTANCE", sk: instanceId }),
  grant: (instanceId: string, platformId: string, spaceId: string) => ({
    pk: `GRANT#${instanceId}`,
    sk: `${platformId}#${spaceId}`,
  }),
  token: (tokenHash: string) => ({ pk: `TOKEN#${tokenHash}`, sk: "TOKEN" as const }),
  revokedSession: (sessionId: string) => ({ pk: `SESSION#${sessionId}`, sk: "REVOKED" as const }),
};
