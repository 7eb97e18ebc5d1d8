// The ledger's invariants (scripts/ledger-invariants.ts, shared with the bench), checked through a test's EntityManager.
// Call it after any test that moves money (hammer, faults).
import type { EntityManager } from '@mikro-orm/postgresql';
import { expect } from 'vitest';
import type { TestEngine } from './engine.js';
import { query } from '../../src/shared/tx.js';
import { ledgerInvariants, type InvariantReport } from '../../scripts/ledger-invariants.js';

export type { InvariantReport };

export function checkLedgerInvariants(em: EntityManager): Promise<InvariantReport> {
  return ledgerInvariants((sql) => query(em, sql));
}

/** The afterAll of a test file that moves money: the ledger invariants hold over everything it did, then the engine stops. */
export async function expectSoundLedgerThenStop(engine: TestEngine | undefined): Promise<void> {
  if (!engine) return;
  const report = await checkLedgerInvariants(engine.app.db.orm.em.fork());
  expect(report.violations).toEqual([]);
  await engine.stop();
}
