// Shared bits of the wallet tests: clients, a customer factory and error-reason extraction.
import { ConnectError } from '@connectrpc/connect';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { AdjustmentDirection, AdjustmentReason, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import type { TestEngine } from '../helpers/engine.js';
import { uniq } from '../helpers/fixtures.js';

export const byId = (id: string) => ({ ref: { case: 'id' as const, value: id } });

export function clients(engine: TestEngine) {
  return { customers: engine.connectGrpc(CustomerService), wallets: engine.connectGrpc(WalletService) };
}

export async function newCustomer(engine: TestEngine, extra: Record<string, unknown> = {}): Promise<string> {
  const { customer } = await engine.connectGrpc(CustomerService).createCustomer({ requestId: uniq('r'), externalId: uniq('u'), ...extra });
  return customer!.id;
}

export async function credit(engine: TestEngine, customerId: string, amount: string, extra: Record<string, unknown> = {}) {
  return engine.connectGrpc(WalletService).createAdjustment({
    requestId: uniq('adj'),
    customer: byId(customerId),
    amount: { assetCode: 'USD', amount },
    direction: AdjustmentDirection.CREDIT,
    reason: AdjustmentReason.CORRECTION,
    ...extra,
  });
}

export async function debit(engine: TestEngine, customerId: string, amount: string) {
  return engine.connectGrpc(WalletService).createAdjustment({
    requestId: uniq('adj'),
    customer: byId(customerId),
    amount: { assetCode: 'USD', amount },
    direction: AdjustmentDirection.DEBIT,
    reason: AdjustmentReason.CORRECTION,
  });
}

/** The call's error as { code, reason, message }, or throws if it succeeded. */
export async function failure(p: Promise<unknown>): Promise<{ code: number; reason: string; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: e.code, reason: e.findDetails(ErrorInfoSchema)[0]?.reason ?? '', message: e.rawMessage };
  }
  throw new Error('expected the call to fail');
}

export async function usd(engine: TestEngine, customerId: string) {
  const { wallet } = await engine.connectGrpc(WalletService).getWallet({ customer: byId(customerId) });
  return wallet!.accounts.find((a) => a.assetCode === 'USD')!;
}
