// Money in, assembled: Stripe client, top-up and auto-recharge services, the webhook route, the outbox relay, the
// BullMQ processors, the reconciliation schedule and the auto-recharge sweep. startApp builds one; stop() drains it.
// Nothing here blocks start-up on Redis: while Redis is down jobs wait in the outbox and the relay keeps retrying.
import type { Config } from '../config.js';
import type { Database } from '../db/orm.js';
import type { HttpRoute } from '../server/http.js';
import type { Clock } from '../shared/clock.js';
import { log } from '../shared/log.js';
import type { Ledger } from '../wallets/ledger.js';
import { OutboxRelay } from '../outbox/relay.js';
import { QueueHub } from '../queue/queues.js';
import { createStripeClient, type StripeClient } from '../stripe/client.js';
import { stripeWebhookRoute } from '../stripe/webhook.route.js';
import { AutoRechargeService } from './auto-recharge.service.js';
import { Reconciler } from './reconcile.js';
import { RechargeProcessor } from './recharge.worker.js';
import { Settlement } from './settlement.js';
import { StripeEventProcessor } from './stripe-events.worker.js';
import { TopUpService } from './topups.service.js';

/** How often accounts whose auto-recharge cooldown ended are re-armed (real time; the cooldown itself uses the clock). */
const SWEEP_MS = 15_000;

export interface MoneyIn {
  stripe: StripeClient | undefined;
  topUps: TopUpService;
  autoRecharge: AutoRechargeService;
  settlement: Settlement;
  routes: HttpRoute[];
  hub: QueueHub;
  relay: OutboxRelay;
  /** Run the auto-recharge sweep now (tests; it also runs every 15 s). */
  sweepNow(): Promise<number>;
  /** Run reconciliation now (tests; it also runs as a repeatable job). */
  reconcileNow(): Promise<number>;
  stop(graceMs?: number): Promise<void>;
}

export function startMoneyIn(config: Config, db: Database, clock: Clock, ledger: Ledger): MoneyIn {
  const orm = db.orm;
  const stripe = createStripeClient(config.stripe);
  if (!stripe) log.info('Stripe is not configured: top-ups and auto-recharge are off (set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET)');
  const settlement = new Settlement(clock, config.autoRechargeCooldownSeconds * 1000, ledger);
  const topUps = new TopUpService(orm, stripe, settlement);
  const autoRecharge = new AutoRechargeService(orm, stripe, settlement, clock);
  const events = new StripeEventProcessor(orm, stripe, settlement);
  const recharges = new RechargeProcessor(orm, stripe, settlement, clock);
  const reconcileAfterMs = config.stripe.reconcileAfterSeconds * 1000;
  const reconciler = new Reconciler(orm, stripe, settlement, events, clock, reconcileAfterMs);

  const hub = new QueueHub(config.redisUrl, config.queuePrefix);
  hub.process('stripe-webhook', (job) => events.process(job), 4);
  hub.process('recharge', (job) => recharges.process(job), 4);
  hub.process('reconcile', () => reconciler.run(), 1);
  // 'meter-forwarding' and 'outgoing-webhooks' get their processors from src/meters and src/webhooks (src/app.ts).
  if (stripe) {
    // Check pending top-ups about twice per reconciliation age (between every second and every minute).
    const every = Math.max(1_000, Math.min(60_000, Math.floor(reconcileAfterMs / 2)));
    hub.onceReady(async (h) => {
      await h
        .queue('reconcile')
        ?.upsertJobScheduler(
          'reconcile-top-ups',
          { every },
          { name: 'reconcile', opts: { attempts: 1, removeOnComplete: 100, removeOnFail: 100 } },
        );
    });
  }

  const relay = new OutboxRelay(orm, hub, { pollMs: 2_000, listen: db.listen });
  relay.start();

  let sweeping: Promise<number> | undefined;
  const sweepNow = (): Promise<number> => {
    sweeping ??= autoRecharge.sweep().finally(() => {
      sweeping = undefined;
    });
    return sweeping;
  };
  const sweepTimer = setInterval(() => void sweepNow().catch((err: unknown) => log.warn('auto-recharge sweep failed', { err })), SWEEP_MS);
  sweepTimer.unref();

  return {
    stripe,
    topUps,
    autoRecharge,
    settlement,
    hub,
    relay,
    routes: [stripeWebhookRoute(orm, config.stripe.webhookSecret)],
    sweepNow,
    reconcileNow: () => reconciler.run(),
    async stop(graceMs = 5_000) {
      clearInterval(sweepTimer);
      await sweeping?.catch(() => undefined);
      await relay.stop();
      await hub.close(graceMs);
    },
  };
}
