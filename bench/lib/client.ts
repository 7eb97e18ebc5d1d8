// Load-generator clients: @grpc/grpc-js channels with protobuf-es (de)serializers, the same way src/client/grpc-js.ts
// builds them, but each channel with its OWN subchannel pool. grpc-js otherwise shares one HTTP/2 connection between
// every Client made for the same address with equal options, so "several clients" made with createGrpcJsClient are
// still one connection (and one connection's framing is then what is measured).
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { UsageService } from '../../gen/tollbooth/v1/usage_pb.js';

export type Unary<I extends DescMessage, O extends DescMessage> = (req: MessageInitShape<I>) => Promise<MessageShape<O>>;

export class Channel {
  readonly client: grpc.Client;
  private readonly md: grpc.Metadata;

  constructor(address: string, headers: Record<string, string>) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
    this.md = new grpc.Metadata();
    for (const [k, v] of Object.entries(headers)) this.md.set(k, v);
  }

  private readonly fns = new Map<string, unknown>();

  /** A typed unary caller for `service.method[localName]` on this channel (built once, then cached). */
  unary<T extends GenServiceMethods, K extends keyof T & string>(
    service: GenService<T>,
    localName: K,
  ): Unary<T[K]['input'], T[K]['output']> {
    const method = service.method[localName];
    if (!method) throw new Error(`${service.typeName} has no method ${localName}`);
    const path = `/${service.typeName}/${method.name}`;
    const cached = this.fns.get(path);
    if (cached) return cached as Unary<T[K]['input'], T[K]['output']>;
    const input = method.input as T[K]['input'];
    const output = method.output as T[K]['output'];
    const ser = (v: MessageShape<T[K]['input']>) => Buffer.from(toBinary(input, v));
    const de = (b: Buffer) => fromBinary(output, b);
    const fn: Unary<T[K]['input'], T[K]['output']> = (req) =>
      new Promise((resolve, reject) =>
        this.client.makeUnaryRequest(path, ser, de, create(input, req), this.md.clone(), (err, res) =>
          err ? reject(err) : resolve(res as MessageShape<T[K]['output']>),
        ),
      );
    this.fns.set(path, fn);
    return fn;
  }

  /**
   * grpc.health.v1.Health/Check for the whole server (service ""): the empty RPC of this transport. Encoded by hand —
   * the request is the empty message, the response one varint field — so the client spends next to nothing on it.
   */
  health(): Promise<number> {
    return new Promise((resolve, reject) =>
      this.client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        new grpc.Metadata(),
        (err, res) => (err ? reject(err) : resolve(res && res.length >= 2 && res[0] === 0x08 ? res[1] : 0)),
      ),
    );
  }

  /** Resolves once the channel's connection is up, so the first measured call does not pay the handshake. */
  ready(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => this.client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    this.client.close();
  }
}

/** Round-robin over channels. */
export class ChannelPool {
  readonly channels: Channel[];
  private next = 0;

  constructor(address: string, headers: Record<string, string>, size: number) {
    this.channels = Array.from({ length: size }, () => new Channel(address, headers));
  }

  pick(): Channel {
    const c = this.channels[this.next];
    this.next = (this.next + 1) % this.channels.length;
    return c;
  }

  /** The empty call on channel i (round-robin): 1 when the server answers SERVING. */
  health(i: number): Promise<number> {
    return this.channels[i % this.channels.length].health().then((s) => (s === 1 ? 1 : 0));
  }

  /** UsageService.Check of `eventType` on channel i (round-robin) for the customer `pick` names: 1 when allowed. */
  checker(eventType: string, pick: () => string): (i: number) => Promise<number> {
    const checks = this.channels.map((c) => c.unary(UsageService, 'check'));
    return async (i) =>
      (await checks[i % checks.length]({ customer: { ref: { case: 'id', value: pick() } }, eventType })).allowed ? 1 : 0;
  }

  async ready(): Promise<void> {
    await Promise.all(this.channels.map((c) => c.ready()));
  }

  close(): void {
    for (const c of this.channels) c.close();
  }
}
