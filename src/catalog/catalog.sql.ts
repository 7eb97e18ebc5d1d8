// The catalog's SQL written out (the rest of the catalog goes through MikroORM entities, catalog.entity.ts): claiming
// an asset code or a product code (insert … on conflict do nothing, so a taken code is an answer, not an error), the
// page of products at their latest version, and the asset exchange rates as money-in and the portal read them.
import type { EntityManager } from '@mikro-orm/postgresql';
import { query } from '../shared/tx.js';
import type { ProductStatusModel } from './catalog.model.js';

/** Insert the asset unless its code is taken; true when this call inserted it. */
export async function claimAssetCode(em: EntityManager, a: { code: string; name: string; scale: number }): Promise<boolean> {
  const inserted = await em
    .getConnection()
    .execute(
      `insert into assets (code, name, scale) values (?, ?, ?) on conflict do nothing returning code`,
      [a.code, a.name, a.scale],
      'all',
      em.getTransactionContext(),
    );
  return inserted.length > 0;
}

/** Insert the product's head (latest version 1) unless its code is taken; true when this call inserted it. */
export async function claimProductCode(em: EntityManager, code: string): Promise<boolean> {
  const inserted = await em
    .getConnection()
    .execute(
      `insert into products (code, latest_version) values (?, 1) on conflict do nothing returning code`,
      [code],
      'all',
      em.getTransactionContext(),
    );
  return inserted.length > 0;
}

/**
 * Ids of the latest versions of the products after `afterCode`, by code, at most `limit`; `status` filters on the
 * product's status (archived, or its latest version's draft/published), or undefined for all.
 */
export async function selectLatestVersionIds(
  em: EntityManager,
  status: ProductStatusModel | undefined,
  afterCode: string,
  limit: number,
): Promise<{ id: string }[]> {
  const statusSql =
    status === 'archived' ? 'p.archived_at is not null' : status ? `p.archived_at is null and v.status = '${status}'` : 'true';
  return em.getConnection().execute<{ id: string }[]>(
    `select v.id from products p join product_versions v on v.code = p.code and v.version = p.latest_version
     where ${statusSql} and p.code > ? order by p.code limit ?`,
    [afterCode, limit],
  );
}

// ---- exchange rates (asset_exchange_rates), read by money-in and the portal ----------------------------------------

/** The asset's scale and its exchange rate for `currency` (null: none); undefined when the asset does not exist. */
export async function selectAssetRate(
  em: EntityManager,
  assetCode: string,
  currency: string,
): Promise<{ scale: number; rate: string | null } | undefined> {
  const [asset] = await query<{ scale: number; rate: string | null }>(
    em,
    `select a.scale, r.rate::text as rate from assets a left join asset_exchange_rates r on r.asset_code = a.code and r.currency = ? where a.code = ?`,
    [currency, assetCode],
  );
  return asset;
}

/** The currencies the asset has exchange rates for, in order. */
export async function selectRateCurrencies(em: EntityManager, assetCode: string): Promise<string[]> {
  const rows = await query<{ currency: string }>(em, `select currency from asset_exchange_rates where asset_code = ? order by currency`, [
    assetCode,
  ]);
  return rows.map((r) => r.currency);
}

/** Every asset, by code, with the currencies it has exchange rates for (null: none). */
export async function selectAssetsWithRates(
  em: EntityManager,
): Promise<{ code: string; name: string; scale: number; currencies: string[] | null }[]> {
  return query<{ code: string; name: string; scale: number; currencies: string[] | null }>(
    em,
    `select a.code, a.name, a.scale,
            (select array_agg(r.currency order by r.currency) from asset_exchange_rates r where r.asset_code = a.code) currencies
       from assets a order by a.code`,
  );
}
