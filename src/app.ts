// Composition root as a function: config → database → services → route table → servers. main.ts runs it as a process;
// tests start the very same thing on ephemeral ports.
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/orm.js';
import { ApiKeyAdmin, bootstrapAdminKey, KeyVerifier } from './auth/api-keys.service.js';
import { apiKeyRoutes } from './auth/api-keys.routes.js';
import { Pipeline } from './server/pipeline.js';
import type { ServiceBinding } from './server/binding.js';
import { startGrpcServer, type GrpcServer } from './server/grpc.js';
import { startHttpServer, type HttpRoute, type HttpServer } from './server/http.js';
import { CatalogService } from './catalog/catalog.service.js';
import { catalogRoutes } from './catalog/catalog.routes.js';
import { CustomerService } from './customers/customers.service.js';
import { customerRoutes } from './customers/customers.routes.js';
import { IngestService } from './usage/ingest.js';
import { UsageService } from './usage/usage.service.js';
import { usageRoutes } from './usage/usage.routes.js';
import { Wallets } from './wallets/wallets.service.js';
import { Holds } from './wallets/holds.service.js';
import { WalletWatch } from './wallets/watch.js';
import { WalletSweeper } from './wallets/sweeper.js';
import { Ledger } from './wallets/ledger.js';
import { walletRoutes } from './wallets/wallets.routes.js';
import { log, setLogLevel } from './shared/log.js';
import { systemClock, type Clock } from './shared/clock.js';
import { startMoneyIn, type MoneyIn } from './topups/money-in.js';
import { triggerRecharges } from './topups/recharge-trigger.js';
import { moneyInPort } from './topups/topups.rpc.js';
import { balanceAlertHook } from './wallets/wallet.events.js';
import { startWebhooks, type WebhookTuning, type Webhooks } from './webhooks/webhooks.js';
import { webhookRoutes } from './webhooks/webhooks.routes.js';
import { startMeterForwarding, type MeterForwarding, type MeterTuning } from './meters/meters.js';

export interface App {
  config: Config;
  db: Database;
  /** The ledger with its hooks, as every service posts through it (tests post directly with it too). */
  ledger: Ledger;
  grpcPort: number;
  httpPort: number;
  /** Every service's RPC table: which scope, validator and handler each RPC has. */
  bindings: readonly ServiceBinding[];
  /** A newly created first admin key, when this start created one (printed once by main). */
  createdAdminKey: string | undefined;
  /** Top-ups, auto-recharge, Stripe webhooks, outbox relay and queues. */
  moneyIn: MoneyIn;
  /** Outbound webhooks: endpoints, delivery, the delivery log's prune. */
  webhooks: Webhooks;
  /** Stripe meter forwarding. */
  meters: MeterForwarding;
  stop(graceMs?: number): Promise<void>;
}

export interface AppOptions {
  /** Time source for time-based policies (auto-recharge cooldowns, monthly caps, reconciliation age, webhook endpoint health). */
  clock?: Clock;
  /** Webhook retry timing (tests compress the 3-day schedule). */
  webhooks?: WebhookTuning;
  /** Meter forwarding retry timing (tests compress it). */
  meters?: MeterTuning;
}

export async function startApp(config: Config, options: AppOptions = {}): Promise<App> {
  setLogLevel(config.logLevel);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize });
  let grpc: GrpcServer | undefined;
  let httpServer: HttpServer | undefined;
  let moneyIn: MoneyIn | undefined;
  let webhooks: Webhooks | undefined;
  let meters: MeterForwarding | undefined;
  try {
    const createdAdminKey = await bootstrapAdminKey(db.orm, config.adminKey);
    const catalog = new CatalogService(db.orm);
    // A usage debit that leaves an account below its armed threshold starts an auto-recharge in the debit's transaction;
    // a posting that crosses a balance alert level emits its webhook event in the batch's one write.
    const ledger = new Ledger({ afterDebit: triggerRecharges, balanceAlerts: balanceAlertHook((em, asset) => catalog.assetScale(em,
      asset)) });
    const customers = new CustomerService(db.orm, catalog);
    // Each flush holds one connection; leave the rest of the pool for reads and other writes. Embedded: one.
    const ingest = new IngestService(db.orm, catalog, ledger, db.embedded ? 1 : Math.max(1, Math.min(4, config.dbPoolSize - 2)));
    const usage = new UsageService(db.orm, catalog);
    const wallets = new Wallets(db.orm, ledger);
    const holds = new Holds(db.orm, ledger);
    const watch = new WalletWatch(db.orm, db.listen);
    const sweeper = new WalletSweeper(db.orm, ledger);
    const clock = options.clock ?? systemClock;
    moneyIn = startMoneyIn(config, db, clock, ledger);
    webhooks = startWebhooks(config, db, moneyIn.hub, clock, options.webhooks);
    meters = startMeterForwarding(db, moneyIn.hub, moneyIn.stripe, options.meters);
    const verifier = new KeyVerifier(db.orm);
    const bindings: ServiceBinding[] = [
      apiKeyRoutes(new ApiKeyAdmin(db.orm, (hash) => verifier.forget(hash))),
      catalogRoutes(catalog),
      customerRoutes(customers),
      // WalletService is wallets'; its top-up and auto-recharge RPCs are served by money-in, through wallets' port.
      walletRoutes(wallets, holds, watch, moneyInPort(moneyIn)),
      usageRoutes(ingest, usage, catalog, () => db.orm.em.fork()),
      webhookRoutes(webhooks.service),
    ];
    const pipeline = new Pipeline(verifier);
    const routes: HttpRoute[] = [
      (req, res) => {
        if (req.method !== 'GET' || req.url !== '/healthz') return false;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"SERVING"}');
        return true;
      },
      ...moneyIn.routes,
    ];
    grpc = await startGrpcServer(pipeline, bindings, config.host, config.grpcPort);
    httpServer = await startHttpServer(pipeline, bindings, routes, config.host, config.httpPort);
    const started = { grpc, http: httpServer, moneyIn, webhooks, meters };
    sweeper.start();
    log.info('tollbooth listening', { grpcPort: grpc.port, httpPort: httpServer.port, embeddedDb: db.embedded });
    return {
      config,
      db,
      ledger,
      grpcPort: grpc.port,
      httpPort: httpServer.port,
      bindings,
      createdAdminKey,
      moneyIn,
      webhooks,
      meters,
      async stop(graceMs = 10_000) {
        started.grpc.health.setStatus('', 'NOT_SERVING');
        // WatchWallet streams never end by themselves: end them first (UNAVAILABLE) so the servers can close at once.
        await watch.close();
        // Stop accepting, let in-flight calls finish (bounded by graceMs), then close the database.
        await Promise.all([started.grpc.close(graceMs), started.http.close(graceMs)]);
        // Then let queue workers finish their jobs (they use the database), and quit our Redis connections.
        // The meter forwarder first: it stops between two requests to Stripe, so the queues close without waiting on it.
        await started.webhooks.stop();
        await started.meters.stop();
        await started.moneyIn.stop(graceMs);
        await sweeper.stop();
        await db.close();
      },
    };
  } catch (err) {
    await grpc?.close(0);
    await httpServer?.close(0);
    await webhooks?.stop();
    await meters?.stop();
    await moneyIn?.stop(0);
    await db.close();
    throw err;
  }
}
