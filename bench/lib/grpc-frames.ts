// A gRPC unary client for the open-loop generator, written at the level of HTTP/2 frames on a plain TCP socket
// (RFC 9113, prior knowledge, no TLS). node:http2's client makes a stream object, header objects and events per call;
// at 1,000 calls/s its garbage cost the generator ~120–140 ms of GC per 12 s window with pauses up to ~8 ms, all of it
// counted as the server's latency. Here a call allocates its request frames and a promise, and nothing else.
//
// What it does and does not do:
// - Request headers are encoded once per method as HPACK literals without indexing (no Huffman, no dynamic table), so
//   the encoder keeps no state.
// - It never decodes response headers. A unary gRPC call that succeeds answers with exactly one message in DATA
//   frames before its trailers; an error is a trailers-only answer, HEADERS with END_STREAM and no DATA. So a stream
//   that ends after a message is OK, and one that ends without a message is an error: grpc-status 0 with no message
//   can't happen for these methods. RST_STREAM and GOAWAY fail the calls they end.
// - Flow control: it advertises the largest windows at connect (so the server never waits on it) and tops the
//   connection window up as responses arrive. It honours the server's connection and stream windows for its own DATA.
//   Requests are a few dozen bytes, so a call never splits over several DATA frames; a window too small for one is an
//   error, not a wait.
import net from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const MAX_WINDOW = 2 ** 31 - 1;

function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return h;
}

/** An HPACK integer with an N-bit prefix whose high bits are `first`. */
function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

const hpackString = (s: string): number[] => {
  const b = Buffer.from(s, 'latin1');
  return [...hpackInt(b.length, 7, 0), ...b];
};

/**
 * The header block of a POST to `path`: :method POST and :scheme http from the static table (indexed), :path,
 * :authority and content-type as literals with an indexed name, the rest as literals with a new name.
 */
function headerBlock(authority: string, path: string, extra: Record<string, string>): Buffer {
  const bytes = [
    0x83, // :method: POST (static 3)
    0x86, // :scheme: http (static 6)
    ...hpackInt(4, 4, 0),
    ...hpackString(path), // :path (static 4), literal without indexing
    ...hpackInt(1, 4, 0),
    ...hpackString(authority), // :authority (static 1)
    ...hpackInt(31, 4, 0),
    ...hpackString('application/grpc'), // content-type (static 31)
    0x00,
    ...hpackString('te'),
    ...hpackString('trailers'),
  ];
  for (const [k, v] of Object.entries(extra)) bytes.push(0x00, ...hpackString(k.toLowerCase()), ...hpackString(v));
  return Buffer.from(bytes);
}

interface Pending {
  resolve(message: Buffer): void;
  reject(err: Error): void;
  data: Buffer[];
}

/** One HTTP/2 connection carrying unary gRPC calls. */
export class GrpcFrameConnection {
  private nextStream = 1;
  private readonly pending = new Map<number, Pending>();
  private inbox: Buffer = Buffer.alloc(0);
  private sendWindow = 65_535;
  private streamWindow = 65_535;
  private received = 0;
  private closed: Error | undefined;
  private readonly blocks = new Map<string, Buffer>();

  private constructor(
    private readonly socket: net.Socket,
    private readonly authority: string,
    private readonly headers: Record<string, string>,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(address: string, headers: Record<string, string>): Promise<GrpcFrameConnection> {
    const [host, port] = address.split(':');
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), host, () => {
        const c = new GrpcFrameConnection(socket, address, headers);
        // SETTINGS: ENABLE_PUSH 0, INITIAL_WINDOW_SIZE 2^31−1; then the connection window to 2^31−1 too.
        const settings = Buffer.alloc(12);
        settings.writeUInt16BE(0x2, 0);
        settings.writeUInt32BE(0, 2);
        settings.writeUInt16BE(0x4, 6);
        settings.writeUInt32BE(MAX_WINDOW, 8);
        const wu = Buffer.alloc(4);
        wu.writeUInt32BE(MAX_WINDOW - 65_535, 0);
        socket.write(Buffer.concat([PREFACE, frameHeader(12, SETTINGS, 0, 0), settings, frameHeader(4, WINDOW_UPDATE, 0, 0), wu]));
        socket.off('error', reject);
        resolve(c);
      });
      socket.once('error', reject);
    });
  }

  /** A unary call: `message` is the serialized request; resolves with the serialized response. */
  call(path: string, message: Uint8Array): Promise<Buffer> {
    if (this.closed) return Promise.reject(this.closed);
    const size = 5 + message.length;
    if (size > this.sendWindow || size > this.streamWindow)
      return Promise.reject(new Error(`send window too small (${this.sendWindow}) for a ${size}-byte request`));
    let block = this.blocks.get(path);
    if (!block) this.blocks.set(path, (block = headerBlock(this.authority, path, this.headers)));
    const id = this.nextStream;
    this.nextStream += 2;
    this.sendWindow -= size;
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(message.length, 1);
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, data: [] });
      this.socket.cork();
      this.socket.write(frameHeader(block.length, HEADERS, END_HEADERS, id));
      this.socket.write(block);
      this.socket.write(frameHeader(size, DATA, END_STREAM, id));
      this.socket.write(prefix);
      if (message.length > 0) this.socket.write(message);
      this.socket.uncork();
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.inbox = this.inbox.length === 0 ? chunk : Buffer.concat([this.inbox, chunk]);
    let at = 0;
    while (this.inbox.length - at >= 9) {
      const length = this.inbox.readUIntBE(at, 3);
      if (this.inbox.length - at < 9 + length) break;
      const type = this.inbox[at + 3];
      const flags = this.inbox[at + 4];
      const stream = this.inbox.readUInt32BE(at + 5) & 0x7fffffff;
      this.onFrame(type, flags, stream, this.inbox.subarray(at + 9, at + 9 + length));
      at += 9 + length;
    }
    this.inbox = at === this.inbox.length ? Buffer.alloc(0) : this.inbox.subarray(at);
  }

  private onFrame(type: number, flags: number, stream: number, payload: Buffer): void {
    switch (type) {
      case DATA: {
        this.received += payload.length;
        const p = this.pending.get(stream);
        if (p && payload.length > 0) {
          const pad = flags & PADDED ? payload[0] : 0;
          p.data.push(flags & PADDED ? payload.subarray(1, payload.length - pad) : payload);
        }
        if (this.received > MAX_WINDOW / 2) {
          const wu = Buffer.allocUnsafe(4);
          wu.writeUInt32BE(this.received, 0);
          this.socket.write(Buffer.concat([frameHeader(4, WINDOW_UPDATE, 0, 0), wu]));
          this.received = 0;
        }
        if (flags & END_STREAM) this.settle(stream);
        return;
      }
      case HEADERS:
        // Response headers, or trailers (END_STREAM). Not decoded: see the file's comment.
        if (flags & END_STREAM) this.settle(stream);
        return;
      case RST_STREAM: {
        const p = this.pending.get(stream);
        this.pending.delete(stream);
        p?.reject(new Error(`stream reset by the server, HTTP/2 error code ${payload.readUInt32BE(0)}`));
        return;
      }
      case SETTINGS:
        if (flags & ACK) return;
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          if (payload.readUInt16BE(i) === 0x4) {
            const v = payload.readUInt32BE(i + 2);
            // Applies to every stream, open or not; ours send one DATA frame each, so only the new value matters.
            this.streamWindow = v;
          }
        }
        this.socket.write(frameHeader(0, SETTINGS, ACK, 0));
        return;
      case PING:
        if (!(flags & ACK)) this.socket.write(Buffer.concat([frameHeader(8, PING, ACK, 0), payload]));
        return;
      case WINDOW_UPDATE:
        if (stream === 0) this.sendWindow += payload.readUInt32BE(0) & 0x7fffffff;
        return;
      case GOAWAY:
        this.fail(new Error(`GOAWAY from the server, HTTP/2 error code ${payload.readUInt32BE(4)}`));
        return;
      default:
        return; // PRIORITY, CONTINUATION (of headers it does not decode), unknown types
    }
  }

  /** The stream ended: a message means the call succeeded (see the file's comment), none means it failed. */
  private settle(stream: number): void {
    const p = this.pending.get(stream);
    if (!p) return;
    this.pending.delete(stream);
    const body = p.data.length === 1 ? p.data[0] : Buffer.concat(p.data);
    if (body.length < 5) return p.reject(new Error('the call ended without a message (a trailers-only answer: an error status)'));
    p.resolve(body.subarray(5, 5 + body.readUInt32BE(1)));
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
