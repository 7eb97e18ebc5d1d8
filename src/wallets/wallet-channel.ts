// Balance-change announcements: a transaction that moves a balance or a hold NOTIFYs the customer's id on
// WALLET_CHANNEL, delivered at commit to the WatchWallet streams (watch.ts) of every engine process.
import type { EntityManager } from '@mikro-orm/postgresql';
import { pgTextArray, queryWith, type CtePart } from '../shared/tx.js';

/** Channel on which committed balance changes are announced (payload: customer id). Delivered only on commit. */
export const WALLET_CHANNEL = 'tollbooth_wallet';

/** Announce, at commit, that these customers' balances changed (WatchWallet streams listen for it). */
export async function notifyWallets(em: EntityManager, customerIds: readonly string[]): Promise<void> {
  if (customerIds.length === 0) return;
  await queryWith(em, [notifyPart('n', customerIds)], 'select count(*) from n');
}

/** notifyWallets as a part of another statement; the statement must read it (`select count(*) from <name>`) to run it. */
export function notifyPart(name: string, customerIds: readonly string[]): CtePart {
  return { name, sql: `select pg_notify('${WALLET_CHANNEL}', c) from unnest(?::text[]) as c`, params: [pgTextArray([...new Set(customerIds)])] };
}
