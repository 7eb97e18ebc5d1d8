// What both Connect paths over HTTP/1.1 share (the direct unary path, connect-unary.ts, and connect-node's router,
// connect-router.ts): where a call's credential comes from, and a failure as a ConnectError and as an observed end.
import { Code, ConnectError } from '@connectrpc/connect';
import { type DescMethod } from '@bufbuild/protobuf';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { toWireError } from './errors.js';
import { type ObservedCall } from './observe.js';

/** The authorization a call carries: its header, else the portal's session cookie (same-origin pages only). */
export type Authorization = (
  authorization: string | undefined,
  cookie: string | undefined,
  origin: string | undefined,
) => string | undefined;

/** The ConnectError answering `err`; an INTERNAL one carries the reference id the log has (ErrorInfo metadata). */
export function connectError(err: unknown, method: DescMethod, requestId?: string): ConnectError {
  if (err instanceof ConnectError) return err;
  const w = toWireError(err, `${method.parent.typeName}/${method.name}`, requestId);
  return new ConnectError(w.message, w.code as unknown as Code, undefined, [
    { desc: ErrorInfoSchema, value: { reason: w.reason, domain: 'tollbooth.dev', metadata: w.metadata } },
  ]);
}

/** Ends an observed call that failed with `err`, with its code and the reference id of an INTERNAL answer. */
export function endFailed(obs: ObservedCall, err: ConnectError): void {
  let reference: string | undefined;
  for (const d of err.details) if ('desc' in d) reference ??= (d.value as { metadata?: Record<string, string> }).metadata?.reference;
  obs.end(err.code, reference);
}
