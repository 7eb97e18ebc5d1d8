// WatchWallet streams. One LISTEN per process on WALLET_CHANNEL (payload: customer id, sent inside the transactions
// that move balances or holds and delivered at commit) wakes the streams watching that customer; each re-reads the
// customer's accounts and yields those whose balance, held or sequence changed since it last yielded them.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { CustomerLookup } from '../customers/customer.model.js';
import type { Database } from '../db/orm.js';
import { AppError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { WALLET_CHANNEL } from './ledger.sql.js';
import type { AccountBalanceModel } from './account-balance.model.js';
import { findCustomerWallet, readAccounts, type AccountRead } from './wallets.sql.js';

export interface WalletChange {
  account: AccountBalanceModel;
  /** Ledger transaction behind the change; empty for the initial state and for changes of held only. */
  transactionId: string;
  changedAt: Date;
}

interface Subscriber {
  dirty: boolean;
  wake: (() => void) | undefined;
}

const stateKey = (a: AccountRead): string => `${a.balance.toFixed()}|${a.held.toFixed()}|${a.sequence}`;

export class WalletWatch {
  private readonly subs = new Map<string, Set<Subscriber>>();
  private listening: Promise<() => Promise<void>> | undefined;
  private closing = false;

  constructor(
    private readonly orm: MikroORM,
    private readonly listen: Database['listen'],
  ) {}

  private touch(subs: Iterable<Subscriber> | undefined): void {
    for (const s of subs ?? []) {
      s.dirty = true;
      s.wake?.();
    }
  }

  private async ensureListening(): Promise<void> {
    this.listening ??= this.listen(
      WALLET_CHANNEL,
      (customerId) => this.touch(this.subs.get(customerId)),
      // Notifications may have been lost while the listening connection was down: every stream re-reads.
      () => {
        for (const subs of this.subs.values()) this.touch(subs);
      },
    );
    try {
      await this.listening;
    } catch (err) {
      this.listening = undefined;
      throw new AppError('UNAVAILABLE', 'cannot watch balances right now; retry', {}, { cause: err });
    }
  }

  /** The current state of every account, then one change per account whose state moved; ends when `signal` aborts. */
  async *watch(lookup: CustomerLookup, signal: AbortSignal): AsyncGenerator<WalletChange> {
    if (this.closing) throw shuttingDown();
    const em = this.orm.em.fork();
    const wallet = await findCustomerWallet(em, lookup);
    await this.ensureListening();
    const sub: Subscriber = { dirty: false, wake: undefined };
    let set = this.subs.get(wallet.customerId);
    if (!set) this.subs.set(wallet.customerId, (set = new Set()));
    set.add(sub);
    const onAbort = (): void => sub.wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      // Subscribed before the first read, so nothing committed after it can be missed.
      const last = new Map<string, AccountRead>();
      const now = new Date();
      for (const a of await readAccounts(em, wallet)) {
        last.set(a.assetCode, a);
        yield { account: a, transactionId: '', changedAt: now };
      }
      for (;;) {
        if (!sub.dirty && !signal.aborted && !this.closing) await new Promise<void>((resolve) => (sub.wake = resolve));
        sub.wake = undefined;
        if (signal.aborted) return;
        if (this.closing) throw shuttingDown();
        sub.dirty = false;
        const changedAt = new Date();
        // Re-read the customer too: the overdraft limit shown with the accounts may have been updated.
        const current = await findCustomerWallet(em, { id: wallet.customerId });
        for (const a of await readAccounts(em, current)) {
          const before = last.get(a.assetCode);
          if (before && stateKey(before) === stateKey(a)) continue;
          last.set(a.assetCode, a);
          yield { account: a, transactionId: before?.sequence !== a.sequence ? a.lastTransactionId : '', changedAt };
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      set.delete(sub);
      if (set.size === 0 && this.subs.get(wallet.customerId) === set) this.subs.delete(wallet.customerId);
    }
  }

  /** End every stream (UNAVAILABLE: the client should watch again elsewhere) and stop listening. */
  async close(): Promise<void> {
    this.closing = true;
    for (const subs of this.subs.values()) this.touch(subs);
    const unlisten = await this.listening?.catch(() => undefined);
    this.listening = undefined;
    await unlisten?.().catch((err) => log.warn('UNLISTEN failed', { err }));
  }
}

function shuttingDown(): AppError {
  return new AppError('UNAVAILABLE', 'the server is shutting down; watch again to resume');
}
