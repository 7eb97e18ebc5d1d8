// How an RPC is bound: one table per service names, for every RPC, the key scope it needs, its request validator and
// its handler, written out. Nothing is inferred from an RPC's name; the type system makes the table list every RPC.
import type { DescMethod, DescService, Message, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import type { Scope } from '../auth/api-key.entity.js';
import type { Principal } from '../auth/principal.js';
import type { CustomerRef } from '../../gen/tollbooth/v1/common_pb.js';

export interface CallContext {
  principal: Principal;
  signal: AbortSignal;
}

type Method = Pick<DescMethod, 'input' | 'output' | 'methodKind'>;

export type Handler<M extends Method> = M['methodKind'] extends 'server_streaming'
  ? (req: MessageShape<M['input']>, ctx: CallContext) => AsyncIterable<MessageInitShape<M['output']>>
  : (req: MessageShape<M['input']>, ctx: CallContext) => Promise<MessageInitShape<M['output']>>;

/** Handlers for some RPCs of a service; a domain's *.rpc.ts returns them `satisfies ServiceHandlers<typeof XService>`. */
export type ServiceHandlers<S> = S extends GenService<infer T extends GenServiceMethods> ? { [K in keyof T]?: Handler<T[K]> } : never;

/** One implemented RPC. */
export interface Rpc<M extends Method> {
  /** The key scope that may call it; a key with `admin` may call every RPC. */
  scope: Scope;
  /** Checks the decoded request before any service code runs; throws INVALID_ARGUMENT naming the field. */
  validate: (req: MessageShape<M['input']>) => void;
  /**
   * An authorisation rule beyond the scope, run after validation with the caller and the request (e.g. a credential
   * that may only touch one customer's data). Throws PERMISSION_DENIED.
   */
  authorize?: (req: MessageShape<M['input']>, principal: Principal) => void;
  /**
   * Set only on the RPCs a customer credential (a portal session or a browser token) may call: what the request names
   * that belongs to a customer. The pipeline resolves it (an external id, a top-up's owner) and refuses any customer
   * but the credential's own with PERMISSION_DENIED; RPCs without it refuse customer credentials at admission.
   */
  customer?: (req: MessageShape<M['input']>) => Owned;
  handle: Handler<M>;
}

/** What a request names that belongs to one customer: the customer itself, or one of its top-ups. */
export type Owned = { ref: CustomerRef | undefined } | { topUpId: string };

/** An RPC of the contract that has no implementation yet: still authenticated and scoped, then UNIMPLEMENTED. */
export interface Unimplemented {
  scope: Scope;
  notImplemented: true;
}

export function notImplemented(scope: Scope): Unimplemented {
  return { scope, notImplemented: true };
}

/** For a request in which every value is allowed (e.g. a page request; page tokens are checked where they are read). */
export const noChecks = (): void => {};

/** Every RPC of service S, each bound. */
export type RpcTable<S> = S extends GenService<infer T extends GenServiceMethods> ? { [K in keyof T]: Rpc<T[K]> | Unimplemented } : never;

/** Bindings of some RPCs of S, for a service whose RPCs are implemented in more than one folder (spread into `bind`). */
export type PartialRpcTable<S> = Partial<RpcTable<S>>;

// The transports call handlers and validators with messages they decoded for this very method, so the table's
// per-RPC types are erased here: any request message in, an answer (or a stream of them) the transport encodes.
export interface ErasedRpc {
  scope: Scope;
  validate: (req: Message) => void;
  authorize?: (req: Message, principal: Principal) => void;
  customer?: (req: Message) => Owned;
  handle: (req: Message, ctx: CallContext) => Promise<unknown> | AsyncIterable<unknown>;
}
type AnyRpc = ErasedRpc | Unimplemented;

export interface ServiceBinding {
  service: DescService;
  rpcs: Readonly<Record<string, AnyRpc>>;
}

export function bind<S extends GenService<GenServiceMethods>>(service: S, table: RpcTable<S>): ServiceBinding {
  return { service, rpcs: table as Record<string, AnyRpc> };
}

/** One RPC as a transport serves it: the method, its binding and its name for messages. */
export interface Route {
  method: DescMethod;
  rpc: AnyRpc;
  /** "CatalogService.CreateProduct" */
  name: string;
}

export function routesOf(binding: ServiceBinding): Route[] {
  return binding.service.methods.map((method) => {
    const rpc = binding.rpcs[method.localName];
    if (!rpc) throw new Error(`${binding.service.typeName}.${method.name} has no binding`); // only if a table was cast
    return { method, rpc, name: `${binding.service.name}.${method.name}` };
  });
}
