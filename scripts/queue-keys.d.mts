// Types of scripts/queue-keys.mjs for the TypeScript that imports it (tests and benches).
export declare function dropQueueKeys(url: string, prefix: string): Promise<void>;
