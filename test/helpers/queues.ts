// BullMQ keys of test engines: each engine a test starts gets a prefix of its own (so engines sharing one Redis never
// take each other's jobs), and its keys are dropped when it stops (scripts/queue-keys.mjs, shared with the benches).
export { dropQueueKeys } from '../../scripts/queue-keys.mjs';
