// Request validators for the balance, adjustment, hold and watch RPCs of WalletService (run by the pipeline before any
// service code). Top-up and auto-recharge requests are validated in src/topups.
import type { Duration } from '@bufbuild/protobuf/wkt';
import type { Money } from '../../gen/tollbooth/v1/common_pb.js';
import {
  AdjustmentDirection,
  AdjustmentReason,
  type CaptureHoldRequest,
  type CreateAdjustmentRequest,
  type CreateHoldRequest,
  type GetWalletRequest,
  type ListTransactionsRequest,
  type SetBalanceAlertRequest,
  type WatchWalletRequest,
} from '../../gen/tollbooth/v1/wallet_pb.js';
import { invalid } from '../shared/errors.js';
import { assetCode, customerRef, decimal, enumSet, intRange, requestId, str } from '../server/rules.js';

const MIN_TTL_S = 1;
const MAX_TTL_S = 7 * 86_400;

function money(m: Money | undefined, field: string): void {
  if (!m) throw invalid(field, 'is required');
  assetCode(m.assetCode, `${field}.asset_code`);
  decimal(m.amount, `${field}.amount`, { positive: true });
}

function knownEnum(v: number, values: object, field: string): void {
  enumSet(v, field);
  if (!Object.values(values).includes(v)) throw invalid(field, `unknown value ${v}`);
}

function ttl(d: Duration | undefined, field: string): void {
  if (!d) return;
  const s = Number(d.seconds) + d.nanos / 1e9;
  if (!(s >= MIN_TTL_S && s <= MAX_TTL_S)) throw invalid(field, 'must be between 1 second and 7 days');
}

const holdId = (v: string): void => str(v, 'hold_id', { min: 1, max: 64 });

export const walletValidators = {
  getWallet: (req: GetWalletRequest) => customerRef(req.customer),
  setBalanceAlert: (req: SetBalanceAlertRequest) => {
    customerRef(req.customer);
    assetCode(req.assetCode, 'asset_code');
    decimal(req.lowBalanceLevel, 'low_balance_level', { required: false });
  },
  listTransactions: (req: ListTransactionsRequest) => {
    customerRef(req.customer);
    assetCode(req.assetCode, 'asset_code');
    intRange(req.pageSize, 'page_size', 0, 1000);
    str(req.pageToken, 'page_token', { max: 1000 });
    if (req.afterSequence < 0n) throw invalid('after_sequence', `must be at least 0, got ${req.afterSequence}`);
  },
  createAdjustment: (req: CreateAdjustmentRequest) => {
    requestId(req.requestId);
    customerRef(req.customer);
    money(req.amount, 'amount');
    knownEnum(req.direction, AdjustmentDirection, 'direction');
    knownEnum(req.reason, AdjustmentReason, 'reason');
    str(req.description, 'description', { max: 500 });
    if (req.reason === AdjustmentReason.GRANT) {
      if (req.direction !== AdjustmentDirection.CREDIT)
        throw invalid('direction', 'a GRANT is a credit; take granted money back with a CORRECTION debit');
      intRange(req.priority, 'priority', 0, 100);
    } else {
      if (req.expireTime) throw invalid('expire_time', 'only GRANT credits expire');
      if (req.priority !== 0) throw invalid('priority', 'only GRANT credits have a priority');
    }
  },
  createHold: (req: CreateHoldRequest) => {
    requestId(req.requestId);
    customerRef(req.customer);
    money(req.amount, 'amount');
    ttl(req.ttl, 'ttl');
    str(req.description, 'description', { max: 500 });
  },
  captureHold: (req: CaptureHoldRequest) => {
    requestId(req.requestId);
    holdId(req.holdId);
    decimal(req.amount, 'amount', { required: false, min: '0' });
  },
  releaseHold: (req: { holdId: string }) => holdId(req.holdId),
  watchWallet: (req: WatchWalletRequest) => customerRef(req.customer),
};
