// The RPCs as connect-node's router serves them (gRPC-Web, streams, calls with a timeout): the request gate that
// admits the caller from the headers before the body is read, and each implementation running the shared Pipeline.
import { Code, ConnectError, createContextKey, type ConnectRouterOptions, type HandlerContext } from '@connectrpc/connect';
import { type DescMethod, type Message } from '@bufbuild/protobuf';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../shared/errors.js';
import { type Route } from './binding.js';
import { decodeJson } from './decode.js';
import { REQUEST_ID_HEADER, RpcObserver, type ObservedCall } from './observe.js';
import { type Pipeline } from './pipeline.js';
import { connectError, endFailed, type Authorization } from './connect-call.js';

/** The caller admitted by the request gate, for the implementation. */
const PRINCIPAL = createContextKey<Principal | undefined>(undefined, { description: 'tollbooth principal' });
/** The call as observed (request id, metrics, access log, span), from the request gate on. */
const OBSERVED = createContextKey<ObservedCall | undefined>(undefined, { description: 'tollbooth observed call' });

function principalOf(ctx: HandlerContext): Principal {
  const p = ctx.values.get(PRINCIPAL);
  if (!p) throw new Error('connect-node called an implementation without running the request gate');
  return p;
}

/**
 * connect-node answers a request message that does not parse in the binary format with INTERNAL ("parse binary: …",
 * from createBinarySerialization in @connectrpc/connect 2.2, and 2.3 alike), though it is the client's mistake. It makes
 * that error where no option reaches, then aborts the call's signal with it just before writing it: this listener on
 * the signal is the one place to make it what the direct path and grpc-js answer, INVALID_ARGUMENT with ErrorInfo.
 * (test/server/wire.test.ts sends such bodies over gRPC-Web and Connect streams; it fails if connect changes this.)
 */
function reclassifyParseError(reason: unknown, method: DescMethod, obs: ObservedCall | undefined): void {
  if (!(reason instanceof ConnectError) || reason.code !== Code.Internal || !reason.rawMessage.startsWith('parse binary: ')) return;
  const problem = `request body: not a ${method.input.typeName} in the protobuf binary format (${reason.rawMessage.slice(14)})`;
  const as = connectError(new AppError('INVALID_ARGUMENT', problem), method);
  Object.assign(reason, { code: as.code, rawMessage: as.rawMessage, message: as.message });
  reason.details.push(...as.details);
  obs?.end(as.code);
}

/**
 * How connect-node serves one RPC. The request gate runs after the headers and before connect-node reads, decompresses
 * or decodes the body, so a call without a valid key costs no decode. connect-node decodes JSON itself, and its text
 * decoder is the one hook before that: it hands connect-node the text only once decodeJson accepted it, so an unknown
 * field or enum name is refused with ErrorInfo naming the field, as on the direct path (the JSON is decoded twice here;
 * the hot path is the direct one).
 */
export function connectRpc(
  pipeline: Pipeline,
  route: Route,
  authorizationOf: Authorization,
): { impl: unknown; options: ConnectRouterOptions } {
  const method = route.method;
  const observer = new RpcObserver(route, 'connect_rpc');
  const utf8 = new TextDecoder();
  const strictText = {
    decode(bytes?: Uint8Array): string {
      const text = utf8.decode(bytes);
      try {
        decodeJson(method.input, text);
      } catch (err) {
        throw connectError(err, method);
      }
      return text;
    },
  };
  const jsonOptions: ConnectRouterOptions['jsonOptions'] = { ignoreUnknownFields: false };
  Object.assign(jsonOptions, { textDecoder: strictText }); // passed on to connect's createJsonSerialization
  const options: ConnectRouterOptions = {
    grpc: false,
    grpcWeb: true,
    connect: true,
    jsonOptions,
    requestGate: async (ctx) => {
      const obs = observer.begin(ctx.requestHeader.get(REQUEST_ID_HEADER), ctx.requestHeader.get('traceparent') ?? undefined);
      ctx.values.set(OBSERVED, obs);
      ctx.responseHeader.set(REQUEST_ID_HEADER, obs.requestId);
      try {
        const h = (name: string) => ctx.requestHeader.get(name) ?? undefined;
        const principal = await pipeline.admit(route, authorizationOf(h('authorization'), h('cookie'), h('origin')));
        obs.keyId = principal.keyId;
        ctx.values.set(PRINCIPAL, principal);
      } catch (err) {
        const e = connectError(err, method, obs.requestId);
        endFailed(obs, e);
        throw e;
      }
      ctx.signal.addEventListener('abort', () => reclassifyParseError(ctx.signal.reason, method, obs), { once: true });
    },
  };
  const impl =
    method.methodKind === 'server_streaming'
      ? async function* (req: Message, ctx: HandlerContext) {
          const obs = ctx.values.get(OBSERVED);
          if (obs) obs.request = req;
          try {
            yield* pipeline.stream(route, principalOf(ctx), req, ctx.signal);
          } catch (err) {
            const e = connectError(err, method, obs?.requestId);
            if (obs) endFailed(obs, e);
            throw e;
          } finally {
            // Ended normally, or by the client going away (the generator is returned early): a failure ended it above.
            obs?.end(ctx.signal.aborted ? Code.Canceled : 0);
          }
        }
      : async (req: Message, ctx: HandlerContext) => {
          const obs = ctx.values.get(OBSERVED);
          if (obs) obs.request = req;
          try {
            const call = () => pipeline.unary(route, principalOf(ctx), req, () => ctx.signal);
            const res = await (obs ? obs.within(call) : call());
            obs?.end(0);
            return res;
          } catch (err) {
            const e = connectError(err, method, obs?.requestId);
            if (obs) endFailed(obs, e);
            throw e;
          }
        };
  return { impl, options };
}
