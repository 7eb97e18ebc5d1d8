// Usage reads and the gate: Check (what would this action cost, may it happen now; optionally reserve it as a hold),
// ListEvents, GetUsageSummary.
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { CatalogService } from '../catalog/catalog.service.js';
import { customerNotFound, lookupKey, type CustomerLookup } from '../customers/customer.model.js';
import { invalid } from '../shared/errors.js';
import { once } from '../shared/idempotency.js';
import { Decimal, dec, formatAmount } from '../shared/money.js';
import { decodePageToken, encodePageToken, pageSize, type PageRequest } from '../shared/page-token.js';
import { inTransaction } from '../shared/tx.js';
import { createHoldInTx } from '../wallets/holds.js';
import { lockCustomerAccounts, type AccountState } from '../wallets/accounts.js';
import { coverable, loadCustomerContexts, type CustomerContext } from './customer-context.js';
import { rate, type Properties } from './rating.js';
import { versionRefModel, type AmountModel, type RejectReason, type StoredResultEntry, type VersionRefModel } from './usage.model.js';
import { selectEvents, selectRollupTotals } from './usage.sql.js';

export interface CheckInput {
  customer: CustomerLookup;
  eventType: string;
  data: Properties;
  quantity: Decimal | undefined;
}

export interface CheckResult {
  allowed: boolean;
  reason: RejectReason | '';
  customerId: string;
  estimatedCost: AmountModel[];
  available: AmountModel[];
  /** Exact estimated fees, for a hold. */
  fees: Map<string, Decimal>;
}

/** Check with hold = true; plain JSON (it is stored for request_id replay). */
export interface CheckHoldResult {
  allowed: boolean;
  reason: RejectReason | '';
  estimatedCost: AmountModel[];
  available: AmountModel[];
  /** The hold made; "" when none was (not allowed, or zero cost). */
  holdId: string;
}

/** A not-allowed answer of checkWithHold: thrown to roll back the request_id claim, then returned. */
class Refusal extends Error {
  constructor(readonly answer: CheckHoldResult) {
    super('check refused');
  }
}

export interface RecordedEventModel {
  customerId: string;
  eventId: string;
  eventType: string;
  subject: string;
  occurredAt: Date;
  receivedAt: Date;
  data: Properties;
  result: StoredResultEntry[];
  transactionId: string;
  ratedBy: VersionRefModel[];
  meterForwards: MeterForwardModel[];
}

export interface MeterForwardModel {
  eventName: string;
  identifier: string;
  value: string;
  status: 'pending' | 'forwarded' | 'failed';
  failureReason: string;
  attempts: number;
}

export interface SummaryBucket {
  start: Date;
  key: string;
  eventCount: bigint;
  quantity: string;
  fees: AmountModel[];
}

/**
 * The gate's reads, grouped: Checks that arrive while the gate's queries are all busy wait and are answered together by
 * the next query (the lookup takes any number of customers). A lone Check goes out at once; under load one round trip
 * serves many, which is where the gate's CPU went — a Postgres round trip costs the engine more than the rest of a
 * Check (docs/performance.md). Read-only and unlocked, like a single Check.
 */
class GateReads {
  private queue: { lookup: CustomerLookup; resolve(r: GateRead): void; reject(err: unknown): void }[] = [];
  private active = 0;

  constructor(
    private readonly orm: MikroORM,
    private readonly catalog: CatalogService,
    private readonly concurrency = 2,
  ) {}

  load(lookup: CustomerLookup): Promise<GateRead> {
    return new Promise((resolve, reject) => {
      this.queue.push({ lookup, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.active < this.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_GATE_GROUP);
      this.active++;
      // One kind of key per query: mixing ids and external ids needs an OR that costs Postgres 3×.
      const byKind = [batch.filter((b) => 'id' in b.lookup), batch.filter((b) => !('id' in b.lookup))].filter((g) => g.length > 0);
      void Promise.all(
        byKind.map(async (group) => {
          try {
            const em = this.orm.em.fork();
            const found = await loadCustomerContexts(
              em,
              this.catalog,
              group.map((g) => g.lookup),
              true,
            );
            for (const g of group) g.resolve({ ctx: found.get(lookupKey(g.lookup)), em });
          } catch (err) {
            for (const g of group) g.reject(err);
          }
        }),
      ).finally(() => {
        this.active--;
        this.pump();
      });
    }
  }
}

const MAX_GATE_GROUP = 500;

/** A gate read's answer, with the group's EntityManager: rating reuses it for the (rare) catalog cache miss. */
interface GateRead {
  ctx: CustomerContext | undefined;
  em: EntityManager;
}

export class UsageService {
  private readonly gate: GateReads;

  constructor(
    private readonly orm: MikroORM,
    private readonly catalog: CatalogService,
  ) {
    this.gate = new GateReads(orm, catalog);
  }

  /** The customer's policy and subscribed products (no balances), or CUSTOMER_NOT_FOUND. */
  async customerContext(lookup: CustomerLookup): Promise<CustomerContext> {
    const em = this.orm.em.fork();
    const ctx = (await loadCustomerContexts(em, this.catalog, [lookup])).get(lookupKey(lookup));
    if (!ctx) throw customerNotFound(lookup);
    return ctx;
  }

  /** Read-only: rates the would-be event and compares with available balance (expired holds excluded). One query, shared with concurrent Checks. */
  async check(input: CheckInput): Promise<CheckResult> {
    const lookup = input.customer;
    const { ctx, em } = await this.gate.load(lookup);
    if (!ctx) throw customerNotFound(lookup);
    return this.estimate(em, ctx, input, ctx.balances ?? new Map());
  }

  /**
   * Check with hold = true: in one transaction, idempotent by request_id, the customer's accounts locked, the same
   * estimate as check() — and when it is allowed, a hold of the estimated cost. A hold never reaches into overdraft:
   * when available balance cannot cover the cost the answer is not allowed (INSUFFICIENT_BALANCE) and no hold is made.
   * A zero cost is allowed without a hold (hold_id ""). A cost in more than one asset cannot be one hold:
   * INVALID_ARGUMENT naming "hold". Only an allowed answer uses up the request_id (and is replayed to a retry); a
   * refusal leaves no trace, so the same request_id may be sent again, e.g. after a top-up.
   */
  async checkWithHold(input: CheckInput & { requestId: string; ttlMs: number }): Promise<CheckHoldResult> {
    const request = {
      customer: input.customer,
      eventType: input.eventType,
      data: input.data,
      quantity: input.quantity?.toFixed() ?? '',
      ttlMs: input.ttlMs,
    };
    try {
      return await inTransaction(this.orm, (em) =>
        once(em, { scope: 'Check', key: input.requestId, request }, async () => {
          const lookup = input.customer;
          const ctx = (await loadCustomerContexts(em, this.catalog, [lookup])).get(lookupKey(lookup));
          if (!ctx) throw customerNotFound(lookup);
          const accounts = (await lockCustomerAccounts(em, [ctx.id])).get(ctx.id) ?? new Map<string, AccountState>();
          const r = await this.estimate(em, ctx, input, accounts);
          const answer: CheckHoldResult = {
            allowed: r.allowed,
            reason: r.reason,
            estimatedCost: r.estimatedCost,
            available: r.available,
            holdId: '',
          };
          const costs = [...r.fees.entries()].filter(([, fee]) => !fee.isZero());
          if (costs.length > 1) {
            const assets = costs
              .map(([a]) => a)
              .sort()
              .join(', ');
            throw invalid(
              'hold',
              `the estimated cost is in more than one asset (${assets}); a hold reserves one asset, so create one hold per asset with CreateHold`,
            );
          }
          if (!r.allowed) throw new Refusal(answer);
          if (costs.length === 0) return answer;
          const [asset, fee] = costs[0];
          const account = accounts.get(asset);
          // Holds never go into overdraft, whatever the policy allows the action itself.
          if (!account || account.balance.minus(account.held).lt(fee))
            throw new Refusal({ ...answer, allowed: false, reason: 'INSUFFICIENT_BALANCE' });
          const hold = await createHoldInTx(em, account, {
            amount: fee,
            ttlMs: input.ttlMs,
            description: `Check ${input.eventType}`,
            scale: await this.catalog.assetScale(em, asset),
          });
          return { ...answer, holdId: hold.id };
        }),
      );
    } catch (err) {
      // A refusal rolled back the request_id claim with everything else: it is answered, not recorded.
      if (err instanceof Refusal) return err.answer;
      throw err;
    }
  }

  /** The estimate of Check: fees of the would-be event against these balances (held current). */
  private async estimate(
    em: EntityManager,
    ctx: CustomerContext,
    input: CheckInput,
    byAsset: Map<string, Pick<AccountState, 'balance' | 'held'>>,
  ): Promise<CheckResult> {
    const rating = rate(ctx.products, input.eventType, input.data, input.quantity);
    const fmt = async (asset: string, d: Decimal) => ({
      assetCode: asset,
      amount: formatAmount(d, await this.catalog.assetScale(em, asset)),
    });
    if (!rating.ok) {
      return { allowed: false, reason: rating.reason, customerId: ctx.id, estimatedCost: [], available: [], fees: new Map() };
    }
    let allowed = true;
    const estimatedCost: AmountModel[] = [];
    const available: AmountModel[] = [];
    for (const [asset, fee] of [...rating.fees.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const state = byAsset.get(asset);
      if (!fee.isZero() && !coverable(ctx, state, fee)) allowed = false;
      estimatedCost.push(await fmt(asset, fee));
      available.push(await fmt(asset, state ? state.balance.minus(state.held) : new Decimal(0)));
    }
    return { allowed, reason: allowed ? '' : 'INSUFFICIENT_BALANCE', customerId: ctx.id, estimatedCost, available, fees: rating.fees };
  }

  async listEvents(
    customer: CustomerLookup,
    page: PageRequest,
    filter: { eventType: string; start?: Date; end?: Date },
  ): Promise<{ items: RecordedEventModel[]; nextPageToken: string }> {
    const ctx = await this.customerContext(customer);
    const size = pageSize(page, 100);
    const filters = { c: ctx.id, t: filter.eventType, s: filter.start?.toISOString() ?? null, e: filter.end?.toISOString() ?? null };
    const after = decodePageToken(page.pageToken, filters);
    const position: [string, string] | undefined = after ? [String(after[0]), String(after[1])] : undefined;
    const rows = await selectEvents(this.orm.em.fork(), ctx.id, { ...filter, after: position }, size + 1);
    const items = rows.slice(0, size).map((r) => ({
      customerId: r.customer_id,
      eventId: r.event_id,
      eventType: r.event_type,
      subject: r.subject,
      occurredAt: new Date(r.occurred_at),
      receivedAt: new Date(r.received_at),
      data: r.data,
      result: r.result,
      transactionId: r.transaction_id ?? '',
      ratedBy: (r.rated_by ?? []).map(versionRefModel),
      meterForwards: (r.meter_forwards ?? []).map((f) => ({
        eventName: f.n,
        identifier: f.i,
        value: f.v,
        status: f.f ? ('failed' as const) : f.p ? ('pending' as const) : ('forwarded' as const),
        failureReason: (f.f ?? f.p)?.r ?? '',
        attempts: (f.f ?? f.p)?.a ?? 0,
      })),
    }));
    const last = items[items.length - 1];
    return { items, nextPageToken: rows.length > size ? encodePageToken([last.occurredAt.toISOString(), last.eventId], filters) : '' };
  }

  /** Totals per bucket and group, summed from the hourly rollups that ingest keeps in step (never from raw events). */
  async summary(
    customer: CustomerLookup,
    start: Date,
    end: Date,
    groupBy: 'event_type' | 'product' | 'dimension',
    granularity: 'hour' | 'day',
  ): Promise<SummaryBucket[]> {
    const ctx = await this.customerContext(customer);
    const em = this.orm.em.fork();
    const keyCol = groupBy === 'product' ? 'product_code' : groupBy === 'dimension' ? 'dimension_key' : 'event_type';
    const trunc = granularity === 'hour' ? 'hour' : 'day';
    const { counts, fees } = await selectRollupTotals(em, ctx.id, start, end, keyCol, trunc);
    const out: SummaryBucket[] = [];
    for (const c of counts) {
      const b = new Date(c.b);
      const f = fees.filter((x) => new Date(x.b).getTime() === b.getTime() && x.k === c.k);
      const feeModels: AmountModel[] = [];
      for (const x of f) feeModels.push({ assetCode: x.a, amount: formatAmount(dec(x.m), await this.catalog.assetScale(em, x.a)) });
      out.push({ start: b, key: c.k, eventCount: BigInt(c.n), quantity: dec(c.q).toFixed(), fees: feeModels });
    }
    return out;
  }
}
