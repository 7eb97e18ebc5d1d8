// Reading WatchWallet streams in tests: a grpc-js ClientReadableStream or a Connect async iterable turned into
// next(timeout) calls that record when each message arrived.
import type { ClientReadableStream } from '@grpc/grpc-js';

export interface Received<T> {
  msg: T;
  at: number;
}

export interface StreamReader<T> {
  next(timeoutMs?: number): Promise<Received<T>>;
  /** Resolves with the gRPC status code (or Connect code) the stream ended with; 0 when it ended normally. */
  ended: Promise<number>;
}

class Queue<T> {
  private readonly items: Received<T>[] = [];
  private waiter: ((r: Received<T>) => void) | undefined;
  endedCode: number | undefined;

  push(msg: T): void {
    const r = { msg, at: performance.now() };
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(r);
    } else this.items.push(r);
  }

  next(timeoutMs = 5000): Promise<Received<T>> {
    const first = this.items.shift();
    if (first) return Promise.resolve(first);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no stream message within ${timeoutMs} ms (ended: ${this.endedCode})`));
      }, timeoutMs);
      this.waiter = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  }
}

export function readGrpc<T>(stream: ClientReadableStream<T>): StreamReader<T> {
  const q = new Queue<T>();
  stream.on('data', (m: T) => q.push(m));
  const ended = new Promise<number>((resolve) => {
    stream.on('error', (err: { code?: number }) => {
      q.endedCode = err.code ?? -1;
      resolve(q.endedCode);
    });
    stream.on('end', () => {
      q.endedCode ??= 0;
      resolve(q.endedCode);
    });
  });
  return { next: (t) => q.next(t), ended };
}

export function readConnect<T>(iterable: AsyncIterable<T>): StreamReader<T> {
  const q = new Queue<T>();
  const ended = (async () => {
    try {
      for await (const m of iterable) q.push(m);
      q.endedCode = 0;
    } catch (err) {
      q.endedCode = (err as { code?: number }).code ?? -1;
    }
    return q.endedCode;
  })();
  return { next: (t) => q.next(t), ended };
}
