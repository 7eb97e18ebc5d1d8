// Wallet use cases: GetWallet, ListTransactions and CreateAdjustment. Each public method owns its transaction; every
// movement is posted through LedgerBatch on locked accounts.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { CustomerLookup } from '../customers/customer.model.js';
import type { Page } from '../catalog/catalog.service.js';
import { AppError, invalid } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { once } from '../shared/idempotency.js';
import { dec } from '../shared/money.js';
import { decodePageToken, encodePageToken, pageSize, type PageRequest } from '../shared/page-token.js';
import { inTransaction } from '../shared/tx.js';
import { ensureCustomerAccount, lockCustomerAccounts } from './accounts.js';
import type { Ledger } from './ledger.js';
import {
  postedEntryModel,
  type AdjustmentDirection,
  type AdjustmentModel,
  type AdjustmentReason,
  type LedgerEntryModel,
  type WalletModel,
} from './wallet.model.js';
import { addGranted, updateBalanceAlert } from './ledger.sql.js';
import { alertStateOf } from './balance-alerts.js';
import type { AccountBalanceModel } from './account-balance.model.js';
import { assetScaleOf, findCustomerWallet, insertGrant, listEntries, readAccounts, selectAccountId } from './wallets.sql.js';

export interface CreateAdjustmentInput {
  requestId: string;
  customer: CustomerLookup;
  assetCode: string;
  /** Positive decimal string. */
  amount: string;
  direction: AdjustmentDirection;
  reason: AdjustmentReason;
  description: string;
  /** Grants only. */
  expiresAt: Date | null;
  /** Grants only, 0-100. */
  priority: number;
}

function sequenceOf(v: unknown): bigint {
  if (typeof v !== 'string' || !/^\d{1,19}$/.test(v))
    throw new AppError('INVALID_PAGE_TOKEN', 'page_token: is not a token this server issued', { field: 'page_token' });
  return BigInt(v);
}

export class Wallets {
  constructor(
    private readonly orm: MikroORM,
    private readonly ledger: Ledger,
  ) {}

  async getWallet(lookup: CustomerLookup): Promise<WalletModel> {
    const em = this.orm.em.fork();
    const w = await findCustomerWallet(em, lookup);
    return { id: w.walletId, customerId: w.customerId, name: w.walletName, accounts: await readAccounts(em, w) };
  }

  /**
   * Set (or clear, with null) an account's low-balance level. Under the account's lock its alert state is re-read
   * against the new level, without an event: the next crossing is reported (balance-alerts.ts).
   */
  async setBalanceAlert(lookup: CustomerLookup, assetCode: string, level: string | null): Promise<AccountBalanceModel> {
    return inTransaction(this.orm, async (em) => {
      const w = await findCustomerWallet(em, lookup);
      await assetScaleOf(em, assetCode, 'asset_code');
      const locked = await lockCustomerAccounts(em, [w.customerId]);
      const account = locked.get(w.customerId)?.get(assetCode) ?? (await ensureCustomerAccount(em, w.customerId, assetCode));
      const lvl = level === null ? null : dec(level);
      await updateBalanceAlert(
        em,
        account.id,
        lvl?.toFixed() ?? null,
        alertStateOf(account.balance.minus(account.held), lvl, account.alertFloor),
      );
      return (await readAccounts(em, w)).find((a) => a.assetCode === assetCode)!;
    });
  }

  async listTransactions(
    lookup: CustomerLookup,
    assetCode: string,
    afterSequence: bigint,
    page: PageRequest,
  ): Promise<Page<LedgerEntryModel>> {
    const size = pageSize(page, 100, 1000);
    const filters = { customer: lookup, assetCode };
    const token = decodePageToken(page.pageToken, filters);
    const after = token ? sequenceOf(token[0]) : afterSequence;
    const em = this.orm.em.fork();
    const w = await findCustomerWallet(em, lookup);
    const scale = await assetScaleOf(em, assetCode, 'asset_code');
    const accountId = await selectAccountId(em, w.walletId, assetCode);
    if (!accountId) return { items: [], nextPageToken: '' };
    const rows = await listEntries(em, accountId, assetCode, scale, after, size + 1);
    const items = rows.slice(0, size);
    return { items, nextPageToken: rows.length > size ? encodePageToken([items[items.length - 1].sequence], filters) : '' };
  }

  async createAdjustment(input: CreateAdjustmentInput): Promise<AdjustmentModel> {
    return inTransaction(this.orm, (em) =>
      once(em, { scope: 'CreateAdjustment', key: input.requestId, request: input }, async () => {
        // Checked here rather than in the validator so that a retry after the expiry time still replays.
        if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw invalid('expire_time', 'must be in the future');
        const w = await findCustomerWallet(em, input.customer);
        const scale = await assetScaleOf(em, input.assetCode, 'amount.asset_code');
        const locked = await lockCustomerAccounts(em, [w.customerId]);
        const account = locked.get(w.customerId)?.get(input.assetCode) ?? (await ensureCustomerAccount(em, w.customerId, input.assetCode));

        const adjustmentId = newId('adj');
        const amount = dec(input.amount);
        const signed = input.direction === 'credit' ? amount : amount.negated();
        const batch = this.ledger.batch();
        const txn = batch.begin('adjustment', adjustmentId, input.description);
        const posted = batch.customer(txn, account, signed);
        batch.systemEntry(txn, 'adjustments', input.assetCode, signed.negated());
        if (input.reason === 'grant') {
          // The grant row shares the adjustment's id; granted tracks the sum of unexpired remainders.
          await insertGrant(em, {
            id: adjustmentId,
            accountId: account.id,
            amount: amount.toFixed(),
            priority: input.priority,
            expiresAt: input.expiresAt,
          });
          account.granted = account.granted.plus(amount);
          await addGranted(em, account.id, amount.toFixed());
        }
        await batch.flush(em);
        return { adjustmentId, entry: postedEntryModel(posted, 'adjustment', adjustmentId, input.description, scale) };
      }),
    );
  }
}
