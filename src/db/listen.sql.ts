// The SQL of LISTEN/NOTIFY subscriptions (listen.ts). A channel name cannot be a bind parameter: callers pass only
// names listen.ts has checked against its CHANNEL pattern, and the name is quoted as an identifier.
export const listenSql = (channel: string): string => `LISTEN "${channel}"`;

export const unlistenSql = (channel: string): string => `UNLISTEN "${channel}"`;
