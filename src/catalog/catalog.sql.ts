// The catalog's SQL written out (the rest of the catalog goes through MikroORM entities, catalog.entity.ts): claiming
// an asset code or a product code (insert … on conflict do nothing, so a taken code is an answer, not an error), and
// the page of products at their latest version.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { ProductStatusModel } from './catalog.model.js';

/** Insert the asset unless its code is taken; true when this call inserted it. */
export async function claimAssetCode(em: EntityManager, a: { code: string; name: string; scale: number }): Promise<boolean> {
  const inserted = await em.getConnection().execute(
    `insert into assets (code, name, scale) values (?, ?, ?) on conflict do nothing returning code`,
    [a.code, a.name, a.scale], 'all', em.getTransactionContext(),
  );
  return inserted.length > 0;
}

/** Insert the product's head (latest version 1) unless its code is taken; true when this call inserted it. */
export async function claimProductCode(em: EntityManager, code: string): Promise<boolean> {
  const inserted = await em.getConnection().execute(
    `insert into products (code, latest_version) values (?, 1) on conflict do nothing returning code`,
    [code], 'all', em.getTransactionContext(),
  );
  return inserted.length > 0;
}

/**
 * Ids of the latest versions of the products after `afterCode`, by code, at most `limit`; `status` filters on the
 * product's status (archived, or its latest version's draft/published), or undefined for all.
 */
export async function selectLatestVersionIds(
  em: EntityManager, status: ProductStatusModel | undefined, afterCode: string, limit: number,
): Promise<{ id: string }[]> {
  const statusSql = status === 'archived' ? 'p.archived_at is not null' : status ? `p.archived_at is null and v.status = '${status}'` : 'true';
  return em.getConnection().execute<{ id: string }[]>(
    `select v.id from products p join product_versions v on v.code = p.code and v.version = p.latest_version
     where ${statusSql} and p.code > ? order by p.code limit ?`,
    [afterCode, limit],
  );
}
