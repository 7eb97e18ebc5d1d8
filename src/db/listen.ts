// Postgres LISTEN/NOTIFY for in-process subscribers. On a Postgres server: ONE dedicated connection per process listens
// and fans notifications out (reconnecting with backoff; subscribers are told to re-read, since notifications sent while
// it was down are lost). On embedded PGlite there is one backend and its socket admits one connection, which the pool
// holds: LISTEN goes through that pooled connection and notifications are taken from the PGlite instance itself.
import pg from 'pg';
import { log } from '../shared/log.js';
import { listenSql, unlistenSql } from './listen.sql.js';

export type NotificationHandler = (payload: string) => void;

export interface Listener {
  /**
   * Call `handler` with the payload of every notification on `channel` (committed NOTIFYs only). `onResync` is called
   * when notifications may have been missed (the listening connection was lost and is back). Resolves once LISTEN is
   * in effect; the returned function unsubscribes. Never call it inside a transaction (embedded: one connection).
   */
  listen(channel: string, handler: NotificationHandler, onResync?: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

interface Subscriber {
  handler: NotificationHandler;
  onResync?: () => void;
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

abstract class FanOut implements Listener {
  protected readonly channels = new Map<string, Set<Subscriber>>();
  protected closed = false;

  protected abstract startListening(channel: string): Promise<void>;
  protected abstract stopListening(channel: string): Promise<void>;
  abstract close(): Promise<void>;

  async listen(channel: string, handler: NotificationHandler, onResync?: () => void): Promise<() => Promise<void>> {
    if (!CHANNEL.test(channel)) throw new Error(`invalid channel name "${channel}"`);
    if (this.closed) throw new Error('the database is closing');
    const sub: Subscriber = { handler, onResync };
    let subs = this.channels.get(channel);
    const first = !subs;
    if (!subs) this.channels.set(channel, (subs = new Set()));
    subs.add(sub);
    try {
      if (first) await this.startListening(channel);
    } catch (err) {
      subs.delete(sub);
      if (subs.size === 0) this.channels.delete(channel);
      throw err;
    }
    return async () => {
      const set = this.channels.get(channel);
      if (!set?.delete(sub) || set.size > 0) return;
      this.channels.delete(channel);
      await this.stopListening(channel).catch((err) => log.warn('UNLISTEN failed', { channel, err }));
    };
  }

  protected deliver(channel: string, payload: string): void {
    for (const s of this.channels.get(channel) ?? []) {
      try {
        s.handler(payload);
      } catch (err) {
        log.error('notification handler failed', { channel, err });
      }
    }
  }

  protected resync(): void {
    for (const subs of this.channels.values()) for (const s of subs) s.onResync?.();
  }
}

/** One dedicated pg.Client per process, reconnecting on error. */
export class PgListener extends FanOut {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = 100;

  constructor(private readonly url: string) {
    super();
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url, keepAlive: true, application_name: 'tollbooth-listen' });
      client.on('notification', (msg) => this.deliver(msg.channel, msg.payload ?? ''));
      client.on('error', (err) => this.dropped(client, err));
      client.on('end', () => this.dropped(client, undefined));
      try {
        await client.connect();
        for (const channel of this.channels.keys()) await client.query(listenSql(channel));
      } catch (err) {
        client.removeAllListeners('end');
        await client.end().catch(() => undefined);
        throw err;
      }
      if (this.closed) {
        await client.end().catch(() => undefined);
        throw new Error('the database is closing');
      }
      this.client = client;
      this.retryMs = 100;
      return client;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private dropped(client: pg.Client, err: Error | undefined): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners('notification');
    if (this.closed) return;
    log.warn('LISTEN connection lost; reconnecting', { err });
    void client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer || this.channels.size === 0) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().then(
        () => this.resync(),
        (err) => {
          log.warn('LISTEN reconnect failed', { err, retryMs: this.retryMs });
          this.retryMs = Math.min(this.retryMs * 2, 5_000);
          this.scheduleReconnect();
        },
      );
    }, this.retryMs);
    this.retryTimer.unref();
  }

  protected async startListening(channel: string): Promise<void> {
    const client = await this.connect();
    // LISTEN is idempotent: a connection made just now may or may not have seen this channel in the map.
    await client.query(listenSql(channel));
  }

  protected async stopListening(channel: string): Promise<void> {
    await this.client?.query(unlistenSql(channel));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.connecting?.catch(() => undefined);
    const c = this.client;
    this.client = undefined;
    if (c) await c.end().catch(() => undefined);
    this.channels.clear();
  }
}

/** The PGlite instance's own notification callback, with LISTEN sent through the engine's one pooled connection. */
export class EmbeddedListener extends FanOut {
  private off: (() => void) | undefined;

  constructor(
    private readonly onNotification: (cb: (channel: string, payload: string) => void) => () => void,
    private readonly execute: (sql: string) => Promise<unknown>,
  ) {
    super();
  }

  protected async startListening(channel: string): Promise<void> {
    this.off ??= this.onNotification((ch, payload) => this.deliver(ch, payload));
    await this.execute(listenSql(channel));
  }

  protected async stopListening(channel: string): Promise<void> {
    await this.execute(unlistenSql(channel));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.off?.();
    this.off = undefined;
    this.channels.clear();
  }
}
