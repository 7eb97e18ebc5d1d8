// One call pipeline for every transport: authenticate and authorise by scope from the headers alone (before the body is
// read or decoded) → validate the decoded request → for a customer credential, its own customer only → the RPC's own
// authorisation rule → run the handler. grpc-js and connect-node both call `admit` then `unary` / `stream`, so
// behaviour cannot drift between them.
import type { Message } from '@bufbuild/protobuf';
import type { KeyVerifier } from '../auth/api-keys.service.js';
import type { Owners, Principal } from '../auth/principal.js';
import { AppError } from '../shared/errors.js';
import type { CallContext, ErasedRpc, Owned, Route } from './binding.js';
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
export function lazySignal(
  gone: () => boolean,
  listen: (abort: () => void) => () => void,
): { signal: () => AbortSignal; dispose: () => void } {
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

const noOwners: Owners = { customerByExternalId: async () => undefined, topUpOwner: async () => undefined };

export class Pipeline {
  constructor(
    private readonly keys: Pick<KeyVerifier, 'verify' | 'stillValid' | 'ttlMs' | 'onForget'>,
    private readonly owners: Owners = noOwners,
  ) {}

  /**
   * Who is calling, and may they call this RPC: from the authorization header alone, so a call without a valid key
   * costs no body read and no decode. The Principal it returns is the ticket `unary` and `stream` ask for. A customer
   * credential passes only for the RPCs whose binding names a customer (which one is checked once the body is decoded).
   */
  async admit(route: Route, authorization: string | undefined): Promise<Principal> {
    const principal = await this.keys.verify(authorization);
    if (principal.customer) {
      if ('notImplemented' in route.rpc || !route.rpc.customer) {
        const what = 'a customer credential (portal session or browser token)';
        throw new AppError('PERMISSION_DENIED', `${route.name} cannot be called with ${what}`);
      }
      return principal;
    }
    const need = route.rpc.scope;
    if (!principal.scopes.has('admin') && !principal.scopes.has(need)) {
      throw new AppError('PERMISSION_DENIED', `${route.name} needs an API key with scope "${need}"`);
    }
    return principal;
  }

  /** `signal` is asked for only when the handler reads `ctx.signal`, so a transport can make it lazily. */
  async unary(route: Route, principal: Principal, req: Message, signal: () => AbortSignal): Promise<unknown> {
    const rpc = await this.accept(route, principal, req);
    return (await rpc.handle(req, new UnaryContext(principal, signal))) as unknown;
  }

  async *stream(route: Route, principal: Principal, req: Message, signal: AbortSignal): AsyncIterable<unknown> {
    const rpc = await this.accept(route, principal, req);
    if (!principal.customer) {
      yield* rpc.handle(req, { principal, signal }) as AsyncIterable<unknown>;
      return;
    }
    // A customer credential's stream lasts no longer than the credential: it ends with UNAUTHENTICATED when the
    // session expires or is ended — at once when ended through this process, else as a new call would see it (the
    // check below mostly reads the verifier's cache; it queries once per cache TTL).
    const ac = new AbortController();
    let ended: AppError | undefined;
    const end = (message: string) => {
      ended ??= new AppError('UNAUTHENTICATED', message);
      ac.abort();
    };
    const onAbort = () => ac.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const unwatch = this.keys.onForget(principal.customer.hash, () => end('the session or browser token was ended'));
    const check = setInterval(
      () => {
        this.keys.stillValid(principal).then(
          (ok) => ok || end('the session or browser token has ended or expired'),
          () => undefined,
        );
      },
      Math.min(1_000, this.keys.ttlMs),
    );
    check.unref();
    try {
      yield* rpc.handle(req, { principal, signal: ac.signal }) as AsyncIterable<unknown>;
    } finally {
      clearInterval(check);
      unwatch();
      signal.removeEventListener('abort', onAbort);
    }
    if (ended) throw ended;
  }

  /**
   * Everything a decoded call passes before its handler (after `admit`), the same for unary and streaming calls: implemented, every value in
   * range (the message walker), the RPC's own validator, a customer credential only for its own customer, the
   * RPC's own authorization.
   */
  private async accept(route: Route, principal: Principal, req: Message): Promise<ErasedRpc> {
    const rpc = route.rpc;
    if ('notImplemented' in rpc) throw notImplemented(route);
    checkMessage(route.method.input, req);
    rpc.validate(req);
    if (principal.customer) await this.ownCustomerOnly(rpc, req, principal);
    rpc.authorize?.(req, principal);
    return rpc;
  }

  /** PERMISSION_DENIED unless the request names the credential's own customer (by id or external id, or its top-up). */
  private async ownCustomerOnly(rpc: { customer?: (req: never) => Owned }, req: Message, principal: Principal): Promise<void> {
    const owned = rpc.customer!(req as never);
    let owner: string | undefined;
    if ('topUpId' in owned) owner = await this.owners.topUpOwner(owned.topUpId);
    else if (owned.ref?.ref.case === 'id') owner = owned.ref.ref.value;
    else if (owned.ref?.ref.case === 'externalId') owner = await this.owners.customerByExternalId(owned.ref.ref.value);
    // Unknown names are refused the same way as other customers' names: a credential cannot probe what exists.
    if (owner !== principal.customer!.id) {
      throw new AppError('PERMISSION_DENIED', 'a customer credential may only act for its own customer');
    }
  }
}

function notImplemented(route: Route): AppError {
  return new AppError('NOT_IMPLEMENTED', `${route.name} is not implemented yet`);
}
