// Usage rollups: the group commit adds each accepted event's charges to hourly totals per (customer, hour, event type,
// product, dimensions) — count, quantity and fees per asset — and upserts them with its one write statement, so
// GetUsageSummary reads totals that are always in step with the events, never the raw events.
import { Decimal } from '../shared/money.js';
import type { CtePart } from '../shared/tx.js';
import type { Charge } from './rating.js';
import { upsertRollups, type RollupFeeRow, type RollupRow } from './usage.sql.js';

const ZERO = new Decimal(0);

interface RollupKey {
  customerId: string;
  bucket: string;
  eventType: string;
  productCode: string;
  dimensionKey: string;
}

interface Aggregate {
  key: RollupKey;
  count: number;
  quantity: Decimal;
  /** The largest number of fractional digits of a quantity added. */
  scale: number;
  fees: Map<string, Decimal>;
}

export class Rollups {
  private readonly counts = new Map<string, Aggregate>();

  private readonly buckets = new Map<number, string>();

  add(customerId: string, occurredAt: Date, charge: Charge): void {
    const hour = Math.floor(occurredAt.getTime() / 3_600_000);
    let bucket = this.buckets.get(hour);
    if (bucket === undefined) this.buckets.set(hour, (bucket = new Date(hour * 3_600_000).toISOString()));
    const k = `${customerId}\u0000${bucket}\u0000${charge.eventType}\u0000${charge.productCode}\u0000${charge.dimensionKey}`;
    let agg = this.counts.get(k);
    if (!agg) {
      const key = { customerId, bucket, eventType: charge.eventType, productCode: charge.productCode, dimensionKey: charge.dimensionKey };
      agg = { key, count: 0, quantity: ZERO, scale: 0, fees: new Map() };
      this.counts.set(k, agg);
    }
    agg.count += 1;
    agg.quantity = agg.quantity.plus(charge.quantity);
    // A preview re-rates the summed quantity only when that equals re-rating each event (see quantity_scale).
    const scale = charge.quantity.decimalPlaces();
    if (scale > agg.scale) agg.scale = scale;
    for (const [asset, fee] of charge.fees) {
      const cur = agg.fees.get(asset);
      agg.fees.set(asset, cur ? cur.plus(fee) : fee);
    }
  }

  /** The upserts of the rollup rows and their fees, as parts of the group commit's write statement. */
  parts(): CtePart[] {
    if (this.counts.size === 0) return [];
    // Sorted, so two flushes upserting the same rows take their locks in the same order.
    const aggs = [...this.counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
    const rows: RollupRow[] = aggs.map((a) => ({
      c: a.key.customerId,
      b: a.key.bucket,
      t: a.key.eventType,
      p: a.key.productCode,
      d: a.key.dimensionKey,
      n: a.count,
      q: a.quantity.toFixed(),
      s: a.scale,
    }));
    const fees: RollupFeeRow[] = aggs.flatMap((a) =>
      [...a.fees.entries()]
        .sort(([x], [y]) => (x < y ? -1 : 1))
        .map(([asset, amount]) => ({
          c: a.key.customerId,
          b: a.key.bucket,
          t: a.key.eventType,
          p: a.key.productCode,
          d: a.key.dimensionKey,
          a: asset,
          m: amount.toFixed(),
        })),
    );
    return upsertRollups(rows, fees);
  }
}
