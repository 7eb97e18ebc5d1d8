// Hold use cases (CreateHold, CaptureHold, ReleaseHold): each owns its transaction, locks the customer's accounts and
// delegates to the in-transaction primitives of holds.ts.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { CustomerLookup } from '../customers/customer.model.js';
import { once } from '../shared/idempotency.js';
import { dec } from '../shared/money.js';
import { inTransaction } from '../shared/tx.js';
import { captureHoldInTx, createHoldInTx, holdOwner, releaseHoldInTx } from './holds.js';
import { ensureCustomerAccount, lockCustomerAccounts } from './accounts.js';
import type { Ledger } from './ledger.js';
import { postedEntryModel, type CaptureModel, type HoldModel } from './wallet.model.js';
import { assetScaleOf, findCustomerWallet } from './wallets.sql.js';

export const DEFAULT_HOLD_TTL_MS = 15 * 60_000;

export interface CreateHoldInput {
  requestId: string;
  customer: CustomerLookup;
  assetCode: string;
  /** Positive decimal string. */
  amount: string;
  ttlMs: number;
  description: string;
}

export class Holds {
  constructor(
    private readonly orm: MikroORM,
    private readonly ledger: Ledger,
  ) {}

  async createHold(input: CreateHoldInput): Promise<HoldModel> {
    return inTransaction(this.orm, (em) =>
      once(em, { scope: 'CreateHold', key: input.requestId, request: input }, async () => {
        const w = await findCustomerWallet(em, input.customer);
        const scale = await assetScaleOf(em, input.assetCode, 'amount.asset_code');
        const locked = await lockCustomerAccounts(em, [w.customerId]);
        const account = locked.get(w.customerId)?.get(input.assetCode) ?? (await ensureCustomerAccount(em, w.customerId, input.assetCode));
        return createHoldInTx(em, account, { amount: dec(input.amount), ttlMs: input.ttlMs, description: input.description, scale });
      }),
    );
  }

  /** amount: decimal string in [0, hold amount]; empty captures all of it. */
  async captureHold(input: { requestId: string; holdId: string; amount: string }): Promise<CaptureModel> {
    return inTransaction(this.orm, (em) =>
      once(em, { scope: 'CaptureHold', key: input.requestId, request: input }, async () => {
        const customerId = await holdOwner(em, input.holdId);
        const locked = await lockCustomerAccounts(em, [customerId]);
        const batch = this.ledger.batch();
        const { hold, entry } = await captureHoldInTx(
          em,
          batch,
          locked.get(customerId) ?? new Map(),
          input.holdId,
          input.amount ? dec(input.amount) : undefined,
        );
        await batch.flush(em);
        const scale = await assetScaleOf(em, hold.assetCode, 'hold_id');
        return { hold, entry: entry && postedEntryModel(entry, 'hold_capture', hold.id, hold.description, scale) };
      }),
    );
  }

  async releaseHold(holdId: string): Promise<HoldModel> {
    return inTransaction(this.orm, async (em) => {
      const customerId = await holdOwner(em, holdId);
      const locked = await lockCustomerAccounts(em, [customerId]);
      return releaseHoldInTx(em, locked.get(customerId) ?? new Map(), holdId);
    });
  }
}
