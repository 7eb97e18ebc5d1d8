// One call pipeline for every transport: authenticate and authorise by scope from the headers alone (before the body is
// read or decoded) → validate the decoded request → the RPC's own authorisation rule → run the handler. grpc-js and
// connect-node both call `admit` then `unary` / `stream`, so behaviour cannot drift between them.
import type { Message } from '@bufbuild/protobuf';
import type { KeyVerifier, Principal } from '../auth/api-keys.service.js';
import { AppError } from '../shared/errors.js';
import type { CallContext, Route } from './binding.js';
import { checkMessage } from './message-checks.js';

/**
 * A unary call's context, its signal made on first read. A class, not an object literal with `get signal()`: V8 puts
 * a literal's accessor pair in the old generation, so the per-call getter closure it points to — and through it the
 * transport's request and response — survived every young-generation GC. At 1,000 Checks/s that was ~700 KB
 * promoted per scavenge, 2–3 ms scavenges and a major GC every few seconds (docs/performance.md). The getter here
 * lives once, on the prototype.
 */
class UnaryContext implements CallContext {
  constructor(
    readonly principal: Principal,
    private readonly makeSignal: () => AbortSignal,
  ) {}

  get signal(): AbortSignal {
    return this.makeSignal();
  }
}

/**
 * A unary call's AbortSignal, made only if something asks for it (no unary handler does today; an AbortController and
 * its listener per call were a measurable share of the engine's garbage). `gone` says whether the call is already
 * over; `listen` subscribes `abort` to the transport's end-of-call event and returns the unsubscribe. `dispose` drops
 * the subscription once the call is answered — some transports report their stream's close as a cancel.
 */
export function lazySignal(gone: () => boolean, listen: (abort: () => void) => () => void): { signal: () => AbortSignal; dispose: () => void } {
  let ac: AbortController | undefined;
  let unlisten: (() => void) | undefined;
  return {
    signal: () => {
      if (!ac) {
        const made = (ac = new AbortController());
        if (gone()) made.abort();
        else unlisten = listen(() => made.abort());
      }
      return ac.signal;
    },
    dispose: () => unlisten?.(),
  };
}

export class Pipeline {
  constructor(private readonly keys: Pick<KeyVerifier, 'verify'>) {}

  /**
   * Who is calling, and may they call this RPC: from the authorization header alone, so a call without a valid key
   * costs no body read and no decode. The Principal it returns is the ticket `unary` and `stream` ask for.
   */
  async admit(route: Route, authorization: string | undefined): Promise<Principal> {
    const principal = await this.keys.verify(authorization);
    const need = route.rpc.scope;
    if (!principal.scopes.has('admin') && !principal.scopes.has(need)) {
      throw new AppError('PERMISSION_DENIED', `${route.name} needs an API key with scope "${need}"`);
    }
    return principal;
  }

  /** `signal` is asked for only when the handler reads `ctx.signal`, so a transport can make it lazily. */
  async unary(route: Route, principal: Principal, req: Message, signal: () => AbortSignal): Promise<unknown> {
    const rpc = route.rpc;
    if ('notImplemented' in rpc) throw notImplemented(route);
    checkMessage(route.method.input, req);
    rpc.validate(req);
    rpc.authorize?.(req, principal);
    return (await rpc.handle(req, new UnaryContext(principal, signal))) as unknown;
  }

  async *stream(route: Route, principal: Principal, req: Message, signal: AbortSignal): AsyncIterable<unknown> {
    const rpc = route.rpc;
    if ('notImplemented' in rpc) throw notImplemented(route);
    checkMessage(route.method.input, req);
    rpc.validate(req);
    rpc.authorize?.(req, principal);
    yield* rpc.handle(req, { principal, signal }) as AsyncIterable<unknown>;
  }
}

function notImplemented(route: Route): AppError {
  return new AppError('NOT_IMPLEMENTED', `${route.name} is not implemented yet`);
}
