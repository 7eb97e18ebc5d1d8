// The hammer: 32 concurrent clients × 300 events on ONE wallet, over two transports, with retried calls, while 8
// holders create and capture holds on the same wallet. The balance must come out exact, no client may see an error
// (no deadlock or serialization failure may surface), and the ledger invariants must hold.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../../gen/tollbooth/v1/catalog_pb.js';
import { CustomerService } from '../../gen/tollbooth/v1/customer_pb.js';
import { EventStatus, UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { HoldStatus, WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';
import { startTestEngine, type EitherClient, type TestEngine } from '../helpers/engine.js';
import { imageProduct, uniq } from '../helpers/fixtures.js';
import { balanceOf, fund } from '../helpers/money.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';

const CLIENTS = 32;
const EVENTS_PER_CLIENT = 300;
const HOLDERS = 8;
const HOLDS_PER_HOLDER = 10;

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine();
});
afterAll(async () => {
  await engine?.stop();
});

describe('hammer: one wallet, many writers', () => {
  it('32 clients × 300 events + 8 holders × 10 hold/capture → balance exactly 880, no errors, invariants clean', async () => {
    const p = imageProduct(uniq('hammer'), '0.01');
    await engine.grpc(CatalogService).createProduct(p);
    const customer = (
      await engine.grpc(CustomerService).createCustomer({ requestId: uniq('r'), externalId: uniq('hammer'), productCodes: [p.code] })
    ).customer!;
    await fund(engine, customer.id, '1000');
    const ref = { ref: { case: 'id' as const, value: customer.id } };

    // Half the clients speak grpc-js, half connect-node's gRPC protocol, all against the same server.
    const usageClients = Array.from({ length: CLIENTS }, (_, c) =>
      c % 2 === 0 ? engine.grpc(UsageService) : engine.connectGrpc(UsageService),
    ) as EitherClient<typeof UsageService>[];
    const walletClients = Array.from({ length: HOLDERS }, (_, h) =>
      h % 2 === 0 ? engine.grpc(WalletService) : engine.connectGrpc(WalletService),
    ) as EitherClient<typeof WalletService>[];

    const counts = { accepted: 0, duplicate: 0, rejected: 0 };
    const errors: unknown[] = [];
    const sizes = [1, 3, 10, 1, 5];

    const trackers = usageClients.map(async (client, c) => {
      let sent = 0;
      let call = 0;
      while (sent < EVENTS_PER_CLIENT) {
        const n = Math.min(sizes[call % sizes.length], EVENTS_PER_CLIENT - sent);
        const events = Array.from({ length: n }, (_, k) => ({
          id: `c${c}-e${sent + k}`,
          eventType: 'image_generated',
          subject: `client-${c}`,
        }));
        try {
          const first = await client.trackEvents({ customer: ref, events });
          for (const r of first.results)
            counts[r.status === EventStatus.ACCEPTED ? 'accepted' : r.status === EventStatus.DUPLICATE ? 'duplicate' : 'rejected']++;
          // Every fourth call is retried, as a client that lost the response would: each event must come back DUPLICATE
          // with the original fee and balance.
          if (call % 4 === 0) {
            const again = await client.trackEvents({ customer: ref, events });
            again.results.forEach((r, k) => {
              expect(r.status).toBe(EventStatus.DUPLICATE);
              expect(r.fees).toEqual(first.results[k].fees);
              expect(r.balancesAfter).toEqual(first.results[k].balancesAfter);
            });
          }
        } catch (err) {
          errors.push(err);
        }
        sent += n;
        call++;
      }
    });

    const holdErrors: unknown[] = [];
    const holders = walletClients.map(async (wallet, h) => {
      for (let k = 0; k < HOLDS_PER_HOLDER; k++) {
        try {
          const { hold } = await wallet.createHold({
            requestId: `hold-${h}-${k}-${customer.id}`,
            customer: ref,
            amount: { assetCode: 'USD', amount: '0.50' },
            ttl: { seconds: 300n },
            description: 'hammer',
          });
          const captured = await wallet.captureHold({ requestId: `capture-${h}-${k}-${customer.id}`, holdId: hold!.id, amount: '0.30' });
          expect(captured.hold!.status).toBe(HoldStatus.CAPTURED);
          expect(captured.hold!.capturedAmount).toBe('0.30');
        } catch (err) {
          holdErrors.push(err);
        }
      }
    });

    await Promise.all([...trackers, ...holders]);

    expect(errors).toEqual([]);
    expect(holdErrors).toEqual([]);
    expect(counts).toEqual({ accepted: CLIENTS * EVENTS_PER_CLIENT, duplicate: 0, rejected: 0 });
    // 9,600 events × 0.01 = 96.00, 80 captures × 0.30 = 24.00: 1000 − 120 = 880.
    expect(await balanceOf(engine, customer.id)).toBe('880.000000000000');
    const wallet = (await engine.grpc(WalletService).getWallet({ customer: ref })).wallet!;
    const usd = wallet.accounts.find((b) => b.assetCode === 'USD');
    expect(usd).toEqual(expect.objectContaining({ balance: '880.00', held: '0.00', available: '880.00' }));

    const report = await checkLedgerInvariants(engine.app.db.orm.em.fork());
    expect(report.violations).toEqual([]);
  }, 300_000);
});
