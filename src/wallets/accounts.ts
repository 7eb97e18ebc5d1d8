// Customer ledger accounts: one per wallet × asset, created with the wallet and lazily for assets defined later, and
// locked (FOR UPDATE, in id order) with their running state before any posting: every writer of balances or holds
// goes through lockCustomerAccounts, which also releases the holds whose time ran out, so `held` is current once locked.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Decimal, dec } from '../shared/money.js';
import { newId } from '../shared/ids.js';
import { pgTextArray, query, queryWith, type CtePart } from '../shared/tx.js';
import { notifyWallets } from './wallet-channel.js';

/** Create the customer's "default" wallet with one account per existing asset. Returns the wallet id. */
export async function createDefaultWallet(em: EntityManager, customerId: string): Promise<string> {
  const walletId = newId('wal');
  await query(em, `insert into wallets (id, customer_id, name) values (?, ?, 'default')`, [walletId, customerId]);
  const assets = await query<{ code: string }>(em, `select code from assets order by code`);
  const values = assets.map(() => `(?, ?, ?, ?, 'customer')`).join(', ');
  await query(em, `insert into accounts (id, wallet_id, customer_id, asset_code, type) values ${values}`, assets.flatMap((a) => [newId('acc'), walletId, customerId, a.code]));
  return walletId;
}

/** A locked customer account with its running state. */
export interface AccountState {
  id: string;
  customerId: string;
  walletId: string;
  assetCode: string;
  balance: Decimal;
  held: Decimal;
  granted: Decimal;
  sequence: bigint;
  /** Set by LedgerBatch when it changes the account. */
  dirty?: boolean;
  debited?: Decimal;
  /** The part of `debited` that draws down grants (an expiring grant's own remainder does not draw down others). */
  drawsGrants?: Decimal;
  /** Auto-recharge: the armed threshold (null when the account has no policy, or one is paused or in flight). */
  rechargeThreshold?: Decimal | null;
}

interface AccountRow {
  id: string;
  customer_id: string;
  wallet_id: string;
  asset_code: string;
  balance: string;
  held: string;
  granted: string;
  sequence: string;
  recharge_threshold: string | null;
}

/**
 * The parts of a statement that lock (FOR UPDATE, in id order, so concurrent lockers never deadlock) the customer
 * accounts of the customers `customerIdsSql` selects, and expire their holds whose time ran out; select
 * LOCKED_COLUMNS from them and pass the row to lockedAccounts. lockCustomerAccounts is the statement on its own; the
 * ingest's group commit adds its customer lookup and duplicate check to the same round trip.
 */
export function lockAccountsParts(customerIdsSql: string, params: unknown[]): CtePart[] {
  return [
    {
      name: 'locked',
      sql: `select a.id, a.customer_id, a.wallet_id, a.asset_code, a.balance::text as balance, a.held::text as held,
                   a.granted::text as granted, a.sequence::text as sequence, a.recharge_threshold::text as recharge_threshold
              from accounts a where a.customer_id in (${customerIdsSql}) and a.type = 'customer' order by a.id for update of a`,
      params,
    },
    {
      name: 'expired',
      sql: `update holds set status = 'expired', settled_at = now()
             where account_id in (select id from locked) and status = 'active' and expires_at <= now()
         returning account_id, amount`,
      params: [],
    },
  ];
}

export const LOCKED_COLUMNS = `(select coalesce(json_agg(locked), '[]') from locked) as accounts,
  (select coalesce(json_agg(r), '[]') from (select account_id, sum(amount)::text as amount from expired group by account_id) r) as released`;

export interface LockedRow {
  accounts: AccountRow[];
  released: ReleasedHold[];
}

/** The locked accounts' states (customerId → assetCode → state), with holds that ran out taken off `held`. */
export async function lockedAccounts(em: EntityManager, row: LockedRow): Promise<Map<string, Map<string, AccountState>>> {
  const out = accountStates(row.accounts);
  await applyReleasedHolds(em, row.released, out);
  return out;
}

/**
 * Lock the customer accounts of these customers and release their expired holds (lockAccountsParts), so `held` is
 * always current once locked. Returns customerId → assetCode → state.
 */
export async function lockCustomerAccounts(em: EntityManager, customerIds: readonly string[]): Promise<Map<string, Map<string, AccountState>>> {
  const [row] = await queryWith<LockedRow>(em, lockAccountsParts('select unnest(?::text[])', [pgTextArray([...new Set(customerIds)])]), `select ${LOCKED_COLUMNS}`);
  return lockedAccounts(em, row);
}

function accountStates(rows: readonly AccountRow[]): Map<string, Map<string, AccountState>> {
  const out = new Map<string, Map<string, AccountState>>();
  for (const r of rows) {
    let m = out.get(r.customer_id);
    if (!m) out.set(r.customer_id, (m = new Map()));
    m.set(r.asset_code, {
      id: r.id, customerId: r.customer_id, walletId: r.wallet_id, assetCode: r.asset_code,
      balance: dec(r.balance), held: dec(r.held), granted: dec(r.granted), sequence: BigInt(r.sequence),
      rechargeThreshold: r.recharge_threshold === null ? null : dec(r.recharge_threshold),
    });
  }
  return out;
}

interface ReleasedHold {
  account_id: string;
  amount: string;
}

/** Take released holds off the (locked) accounts' `held`, in memory and in their rows. */
async function applyReleasedHolds(em: EntityManager, released: readonly ReleasedHold[], states: Map<string, Map<string, AccountState>>): Promise<void> {
  if (released.length === 0) return;
  const byId = new Map<string, AccountState>();
  for (const m of states.values()) for (const a of m.values()) byId.set(a.id, a);
  for (const r of released) {
    const a = byId.get(r.account_id)!;
    a.held = a.held.minus(r.amount);
    await query(em, `update accounts set held = held - ?::numeric where id = ?`, [r.amount, r.account_id]);
  }
  // held changed even if the caller posts nothing: WatchWallet streams must hear of it.
  await notifyWallets(em, released.map((r) => byId.get(r.account_id)!.customerId));
}

/** Create the customer's account for an asset defined after the wallet was made; returns it locked. */
export async function ensureCustomerAccount(em: EntityManager, customerId: string, assetCode: string): Promise<AccountState> {
  await query(
    em,
    `insert into accounts (id, wallet_id, customer_id, asset_code, type)
       select ?, w.id, w.customer_id, ?, 'customer' from wallets w where w.customer_id = ? and w.name = 'default'
     on conflict do nothing`,
    [newId('acc'), assetCode, customerId],
  );
  const locked = await lockCustomerAccounts(em, [customerId]);
  const a = locked.get(customerId)?.get(assetCode);
  if (!a) throw new Error(`no account for ${customerId}/${assetCode}`);
  return a;
}
