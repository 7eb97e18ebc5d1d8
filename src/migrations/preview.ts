// PreviewMigration: what moving a product's subscribers to another version would have done to their bills over the
// last days — computed without changing anything, from the hourly usage rollups where that is exact, else from events.
//
// Every figure is exact and equals re-rating each event one by one with the target version as ingest would
// (test/migrations/preview.test.ts proves it); when a rollup row can be re-rated as a whole is rollup-rerate.ts's rule.
// Otherwise the events are read and re-rated one by one: for a whole event type when the shapes differ, for one
// customer and type when only the rounding or the parsing is in doubt. Events of a type the target prices but some
// version of the product does not are read too (the target would charge them; the product charged nothing for them).
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { ProductVersionSchema } from '../catalog/catalog.entity.js';
import { toModels } from '../catalog/catalog.repository.js';
import type { CatalogService } from '../catalog/catalog.service.js';
import type { Clock } from '../shared/clock.js';
import { Decimal, dec, formatAmount, toLedgerScale } from '../shared/money.js';
import { decodePageToken, encodePageToken, pageSize } from '../shared/page-token.js';
import { inTransaction } from '../shared/tx.js';
import { rate } from '../usage/rating.js';
import { resolveVersions, type ResolvedVersions } from './migrations.service.js';
import {
  readOnlySnapshot,
  selectAffected,
  selectAvailable,
  selectEvents,
  selectFeeSums,
  selectRollupSums,
  type PreviewEventRow,
} from './preview.sql.js';
import { compatible, rerateRollup, sharedShape, type Shape } from './rollup-rerate.js';

const ZERO = new Decimal(0);
const DAY_MS = 86_400_000;

export interface PreviewInput {
  productCode: string;
  fromVersion: number;
  toVersion: number;
  /** 0 means 30. */
  lookbackDays: number;
  pageSize: number;
  pageToken: string;
  onlyShortenedRunway: boolean;
}

export interface AssetImpactModel {
  assetCode: string;
  actual: string;
  target: string;
  difference: string;
}

export interface RunwayModel {
  assetCode: string;
  available: string;
  burnPerDay: string;
  burnPerDayAfter: string;
  /** "" when nothing is burned. */
  days: string;
  daysAfter: string;
}

export interface CustomerImpactModel {
  customerId: string;
  externalId: string;
  subscriptionId: string;
  fromVersion: number;
  impacts: AssetImpactModel[];
  runway: RunwayModel[];
  runwayShortens: boolean;
}

export interface PreviewModel {
  toVersion: number;
  subscriptionCount: bigint;
  totals: AssetImpactModel[];
  customers: CustomerImpactModel[];
  nextPageToken: string;
  shortenedRunwayCount: bigint;
  windowStart: Date;
  windowEnd: Date;
}

/** One affected customer while the preview is computed. */
interface Row {
  customerId: string;
  externalId: string;
  subscriptionId: string;
  fromVersion: number;
  actual: Map<string, Decimal>;
  target: Map<string, Decimal>;
  burn: Map<string, Decimal>;
  available: Map<string, Decimal>;
  runway?: RunwayModel[];
  shortens?: boolean;
  /** Sort keys: largest absolute difference; shortest runway after (days) among shortened assets. */
  mover?: Decimal;
  shortest?: Decimal;
}

export class MigrationPreview {
  constructor(
    private readonly orm: MikroORM,
    private readonly catalog: CatalogService,
    private readonly clock: Clock,
  ) {}

  async preview(input: PreviewInput): Promise<PreviewModel> {
    const days = input.lookbackDays || 30;
    const size = pageSize(input);
    const filters = { p: input.productCode, f: input.fromVersion, t: input.toVersion, d: days, r: input.onlyShortenedRunway };
    const offset = Number(decodePageToken(input.pageToken, filters)?.[0] ?? 0);
    return inTransaction(this.orm, async (em) => {
      // One snapshot for every read, and nothing written.
      await readOnlySnapshot(em);
      const v = await resolveVersions(em, input.productCode, input.fromVersion, input.toVersion);
      const end = this.clock.now();
      const start = new Date(Math.floor(end.getTime() / 3_600_000) * 3_600_000 - days * DAY_MS);
      const rows = await this.compute(em, v, start);
      const all = [...rows.values()];
      const scales = new Map<string, number>();
      for (const r of all) {
        for (const a of [...r.actual.keys(), ...r.target.keys()]) if (!scales.has(a)) scales.set(a, await this.catalog.assetScale(em, a));
      }
      for (const r of all) this.runway(r, days, scales);
      const totals = impacts(sumMaps(all.map((r) => r.actual)), sumMaps(all.map((r) => r.target)), scales);
      const listed = input.onlyShortenedRunway
        ? all.filter((r) => r.shortens).sort((a, b) => a.shortest!.comparedTo(b.shortest!) || cmp(a.customerId, b.customerId))
        : all.sort((a, b) => b.mover!.comparedTo(a.mover!) || cmp(a.customerId, b.customerId));
      const page = listed.slice(offset, offset + size);
      return {
        toVersion: v.toVersion,
        subscriptionCount: BigInt(all.length),
        totals,
        customers: page.map((r) => ({
          customerId: r.customerId,
          externalId: r.externalId,
          subscriptionId: r.subscriptionId,
          fromVersion: r.fromVersion,
          impacts: impacts(r.actual, r.target, scales),
          runway: r.runway ?? [],
          runwayShortens: r.shortens ?? false,
        })),
        nextPageToken: offset + size < listed.length ? encodePageToken([offset + size], filters) : '',
        shortenedRunwayCount: BigInt(all.filter((r) => r.shortens).length),
        windowStart: start,
        windowEnd: end,
      };
    });
  }

  /** Per affected customer: actual fees of the product, target fees re-rated, burn and available balance. */
  private async compute(em: EntityManager, v: ResolvedVersions, start: Date): Promise<Map<string, Row>> {
    const rows = new Map<string, Row>();
    for (const a of await selectAffected(em, v)) {
      rows.set(a.customer_id, {
        customerId: a.customer_id,
        externalId: a.external_id ?? '',
        subscriptionId: a.subscription_id,
        fromVersion: a.product_version,
        actual: new Map(),
        target: new Map(),
        burn: new Map(),
        available: new Map(),
      });
    }
    if (rows.size === 0) return rows;
    for (const f of await selectFeeSums(em, v, start)) {
      const row = rows.get(f.customer_id);
      if (!row) continue;
      if (!dec(f.m).isZero()) row.actual.set(f.asset_code, dec(f.m));
      row.burn.set(f.asset_code, dec(f.b));
    }
    for (const b of await selectAvailable(em, v)) rows.get(b.customer_id)?.available.set(b.asset_code, dec(b.available));

    const versions = await toModels(em, await em.find(ProductVersionSchema, { code: v.productCode }, { orderBy: { version: 'asc' } }));
    const target = versions.find((p) => p.id === v.toVersionId)!;
    const targetTypes = new Set(target.prices.map((p) => p.eventType));
    // Event types whose rollups re-rate exactly (a shape shared by every version), and those read as events instead.
    const shapes = new Map<string, Shape | undefined>();
    const eventTypes = new Set<string>();
    for (const t of targetTypes) {
      const shape = sharedShape(versions, t);
      if (shape && target.prices.filter((p) => p.eventType === t).every((p) => compatible(p, shape))) shapes.set(t, shape);
      else eventTypes.add(t);
    }
    const addTarget = (row: Row | undefined, fees: Map<string, Decimal>) => {
      if (row) for (const [asset, fee] of fees) row.target.set(asset, (row.target.get(asset) ?? ZERO).plus(fee));
    };
    const rerate = (events: PreviewEventRow[]) => {
      for (const e of events) {
        const r = rate([target], e.event_type, e.data ?? {});
        if (r.ok) addTarget(rows.get(e.customer_id), r.fees);
      }
    };

    // A (customer, type) with any rollup row in doubt is re-rated from its events, all of them, none from rollups.
    const sums = await selectRollupSums(em, v, start);
    const computed: { c: string; t: string; fees: Map<string, Decimal> }[] = [];
    const doubtful = new Map<string, { c: string; t: string }>();
    for (const r of sums) {
      const shape = shapes.get(r.event_type);
      if (!shape) continue; // a type the target does not price (0), or one read as events
      const fees = rerateRollup(target, shape, r.event_type, r.dimension_key, dec(r.n), dec(r.q), r.s);
      if (fees) computed.push({ c: r.customer_id, t: r.event_type, fees });
      else doubtful.set(`${r.customer_id}\u0000${r.event_type}`, { c: r.customer_id, t: r.event_type });
    }
    for (const x of computed) if (!doubtful.has(`${x.c}\u0000${x.t}`)) addTarget(rows.get(x.c), x.fees);
    const pairs = [...doubtful.values()];
    rerate(await selectEvents(em, v, start, [...new Set(pairs.map((d) => d.t))], true, pairs));
    rerate(await selectEvents(em, v, start, [...eventTypes], true));
    // Types the target prices that some version did not: events the product did not rate, which the target would.
    const newTypes = [...targetTypes].filter((t) => versions.some((p) => !p.prices.some((x) => x.eventType === t)));
    rerate(await selectEvents(em, v, start, newTypes, false));
    return rows;
  }

  private runway(r: Row, days: number, scales: Map<string, number>): void {
    const out: RunwayModel[] = [];
    let shortens = false;
    let shortest: Decimal | undefined;
    let mover = ZERO;
    for (const asset of [...new Set([...r.actual.keys(), ...r.target.keys()])].sort()) {
      const actual = r.actual.get(asset) ?? ZERO;
      const target = r.target.get(asset) ?? ZERO;
      if (target.minus(actual).abs().gt(mover)) mover = target.minus(actual).abs();
      const burn = (r.burn.get(asset) ?? ZERO).div(days);
      const after = (r.burn.get(asset) ?? ZERO).minus(actual).plus(target).div(days);
      if (burn.isZero() && after.lte(0)) continue;
      const available = r.available.get(asset) ?? ZERO;
      const runDays = (b: Decimal) =>
        available.lte(0) ? ZERO : b.lte(0) ? undefined : available.div(b).toDecimalPlaces(2, Decimal.ROUND_DOWN);
      const before = runDays(burn);
      const afterDays = runDays(after);
      const scale = scales.get(asset) ?? 0;
      out.push({
        assetCode: asset,
        available: formatAmount(available, scale),
        burnPerDay: formatAmount(toLedgerScale(burn), scale),
        burnPerDayAfter: formatAmount(toLedgerScale(after), scale),
        days: before?.toFixed() ?? '',
        daysAfter: afterDays?.toFixed() ?? '',
      });
      if (afterDays !== undefined && (before === undefined || afterDays.lt(before))) {
        shortens = true;
        if (!shortest || afterDays.lt(shortest)) shortest = afterDays;
      }
    }
    r.runway = out;
    r.shortens = shortens;
    r.shortest = shortest;
    r.mover = mover;
  }
}

function sumMaps(maps: readonly Map<string, Decimal>[]): Map<string, Decimal> {
  const out = new Map<string, Decimal>();
  for (const m of maps) for (const [k, v] of m) out.set(k, (out.get(k) ?? ZERO).plus(v));
  return out;
}

function impacts(actual: Map<string, Decimal>, target: Map<string, Decimal>, scales: Map<string, number>): AssetImpactModel[] {
  return [...new Set([...actual.keys(), ...target.keys()])].sort().map((asset) => {
    const a = actual.get(asset) ?? ZERO;
    const t = target.get(asset) ?? ZERO;
    const scale = scales.get(asset) ?? 0;
    const difference = formatAmount(t.minus(a), scale);
    return { assetCode: asset, actual: formatAmount(a, scale), target: formatAmount(t, scale), difference };
  });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
