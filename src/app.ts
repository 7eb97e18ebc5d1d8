// Composition root as a function: config → database → services → route table → servers. main.ts runs it as a process;
// tests start the very same thing on ephemeral ports.
import type { Config } from './config.js';
import type { EmbeddedPostgres } from './db/embedded.js';
import { openDatabase, type Database } from './db/orm.js';
import { ApiKeyAdmin, bootstrapAdminKey, KeyVerifier } from './auth/api-keys.service.js';
import { CustomerCredentials, ownersOf } from './auth/customer-credentials.js';
import { loadPortalBundle } from './portal/bundle.js';
import { portalCookieCredential, portalRoutes } from './portal/portal.http.js';
import { apiKeyRoutes } from './auth/api-keys.routes.js';
import { Pipeline } from './server/pipeline.js';
import type { ServiceBinding } from './server/binding.js';
import { startGrpcServer, type GrpcServer } from './server/grpc.js';
import { startHttpServer, type HttpRoute, type HttpServer } from './server/http.js';
import { checkPortsAvailable, configuredPorts } from './server/ports.js';
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
import { setHoldsExpiredHook } from './wallets/accounts.js';
import { walletRoutes } from './wallets/wallets.routes.js';
import { log, setLogLevel } from './shared/log.js';
import { systemClock, type Clock } from './shared/clock.js';
import { startMoneyIn, type MoneyIn } from './topups/money-in.js';
import { triggerRecharges } from './topups/recharge-trigger.js';
import { moneyInPort } from './topups/topups.rpc.js';
import { Migrations } from './migrations/migrations.service.js';
import { MigrationProcessor } from './migrations/migration.worker.js';
import { MigrationPreview } from './migrations/preview.js';
import { migrationRoutes } from './migrations/migrations.routes.js';
import { Readiness } from './ops/readiness.js';
import { probeRoute } from './ops/probes.js';
import { queueDashboard } from './ops/queue-dashboard.js';
import { startOpsServer } from './ops/server.js';
import { attachSources } from './ops/metrics.js';
import { metricSources } from './ops/sources.js';
import { startTracing, stopTracing } from './ops/tracing.js';
import { balanceAlertHook, emitHoldsExpired } from './wallets/wallet.events.js';
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
  /** Subscriber migrations (tests run the sweep with sweepNow). */
  migrations: Migrations;
  /** Port of GET /metrics (and the probes) when METRICS_PORT is set. */
  metricsPort: number | undefined;
  /** Whether this process should get traffic (GET /readyz, gRPC health). */
  readiness: Readiness;
  /** Outbound webhooks: endpoints, delivery, the delivery log's prune. */
  webhooks: Webhooks;
  /** Stripe meter forwarding. */
  meters: MeterForwarding;
  stop(graceMs?: number): Promise<void>;
}

export interface AppOptions {
  /** Time source for time-based policies (auto-recharge cooldowns, monthly caps, reconciliation age, webhook endpoint health). */
  clock?: Clock;
  /** The embedded database, already starting (without DATABASE_URL; src/main.ts starts it first). */
  embedded?: Promise<EmbeddedPostgres>;
  /** Webhook retry timing (tests compress the 3-day schedule). */
  webhooks?: WebhookTuning;
  /** Meter forwarding retry timing (tests compress it). */
  meters?: MeterTuning;
}

export async function startApp(config: Config, options: AppOptions = {}): Promise<App> {
  setLogLevel(config.logLevel);
  // Busy ports first: a second engine must stop here, before it opens the database (embedded: the same directory as
  // the first one's, maybe) or Redis and warns about them. The servers bind for real at the end; a port taken in
  // between still fails there.
  await checkPortsAvailable(config.host, configuredPorts(config));
  const readiness = new Readiness();
  // The metrics port first: its /readyz answers (503) while the database opens and migrations run.
  const ops = config.metrics.port !== undefined ? await startOpsServer(config.metrics.host, config.metrics.port, readiness) : undefined;
  let db: Database;
  try {
    await startTracing(config.otel);
    const { databaseUrl, dataDir, dbPoolSize: poolSize } = config;
    db = await openDatabase({
      databaseUrl,
      dataDir,
      poolSize,
      embedded: options.embedded,
      onMigrating: () => (readiness.phase = 'migrating'),
    });
  } catch (err) {
    readiness.close();
    await ops?.close();
    await stopTracing();
    throw err;
  }
  let grpc: GrpcServer | undefined;
  let httpServer: HttpServer | undefined;
  let moneyIn: MoneyIn | undefined;
  let migrations: Migrations | undefined;
  let detachMetrics: (() => void) | undefined;
  let webhooks: Webhooks | undefined;
  let meters: MeterForwarding | undefined;
  try {
    const createdAdminKey = await bootstrapAdminKey(db.orm, config.adminKey);
    const catalog = new CatalogService(db.orm);
    // A usage debit that leaves an account below its armed threshold starts an auto-recharge in the debit's transaction;
    // a posting that crosses a balance alert level emits its webhook event in the batch's one write.
    const ledger = new Ledger({
      afterDebit: triggerRecharges,
      balanceAlerts: balanceAlertHook((em, asset) => catalog.assetScale(em, asset)),
    });
    // A lock that releases holds whose time ran out emits their hold.expired events in its transaction.
    setHoldsExpiredHook(emitHoldsExpired);
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
    // Subscriber migrations run as jobs on the `migrations` queue; the sweep starts scheduled ones and resumes the rest.
    migrations = new Migrations(db.orm, clock, config.migrations);
    const migrationJobs = new MigrationProcessor(migrations);
    moneyIn.hub.process('migrations', (job) => migrationJobs.process(job), 2);
    webhooks = startWebhooks(config, db, moneyIn.hub, clock, options.webhooks);
    meters = startMeterForwarding(db, moneyIn.hub, moneyIn.stripe, options.meters);
    // Customer credentials revoked through this process stop working here at once (elsewhere within the cache TTL).
    const credentials = new CustomerCredentials(db.orm, clock, config.publicUrl, (hashes) => hashes.forEach((h) => verifier.forget(h)));
    const verifier = new KeyVerifier(db.orm, undefined, { credentials, clock });
    const bindings: ServiceBinding[] = [
      apiKeyRoutes(new ApiKeyAdmin(db.orm, (hash) => verifier.forget(hash))),
      catalogRoutes(catalog),
      customerRoutes(customers, credentials, migrationRoutes(migrations, new MigrationPreview(db.orm, catalog, clock))),
      // WalletService is wallets'; its top-up and auto-recharge RPCs are served by money-in, through wallets' port.
      walletRoutes(wallets, holds, watch, moneyInPort(moneyIn)),
      usageRoutes(ingest, usage, catalog, () => db.orm.em.fork()),
      webhookRoutes(webhooks.service),
    ];
    const pipeline = new Pipeline(verifier, ownersOf(db.orm));
    const bundle = loadPortalBundle();
    if (!bundle) log.warn('the billing portal page is not built (node scripts/build-portal.mjs); /portal/ answers 503 until it is');
    const routes: HttpRoute[] = [
      (req, res) => {
        if (req.method !== 'GET' || req.url !== '/healthz') return false;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"SERVING"}');
        return true;
      },
      probeRoute(readiness),
      queueDashboard(moneyIn.hub, verifier),
      ...moneyIn.routes,
      portalRoutes({ orm: db.orm, credentials, verifier, config, bundle }),
    ];
    detachMetrics = attachSources(metricSources(db, moneyIn.hub));
    grpc = await startGrpcServer(pipeline, bindings, config.host, config.grpcPort);
    httpServer = await startHttpServer(pipeline, bindings, routes, config.host, config.httpPort, {
      corsOrigins: config.corsOrigins,
      cookieCredential: portalCookieCredential(config.publicUrl),
    });
    const started = { grpc, http: httpServer, moneyIn, migrations, webhooks, meters };
    // gRPC health follows readiness: every service (and "") NOT_SERVING while the database is away or the process drains.
    const services = ['', ...bindings.map((b) => b.service.typeName)];
    readiness.onChange((ready) => {
      for (const s of services) started.grpc.health.setStatus(s, ready ? 'SERVING' : 'NOT_SERVING');
    });
    readiness.phase = 'serving';
    sweeper.start();
    migrations.start();
    log.info('tollbooth listening', { grpcPort: grpc.port, httpPort: httpServer.port, metricsPort: ops?.port, embeddedDb: db.embedded });
    return {
      config,
      db,
      ledger,
      grpcPort: grpc.port,
      httpPort: httpServer.port,
      bindings,
      createdAdminKey,
      moneyIn,
      migrations,
      metricsPort: ops?.port,
      readiness,
      webhooks,
      meters,
      async stop(graceMs = 10_000) {
        readiness.phase = 'stopping'; // /readyz 503 and gRPC health NOT_SERVING: balancers stop sending new calls
        // WatchWallet streams never end by themselves: end them first (UNAVAILABLE) so the servers can close at once.
        await watch.close();
        // Stop accepting, let in-flight calls finish (bounded by graceMs), then close the database.
        await Promise.all([started.grpc.close(graceMs), started.http.close(graceMs)]);
        // Then let queue workers finish their jobs (they use the database; a migration's job ends after its current
        // batch and resumes on the next start), and quit our Redis connections. The meter forwarder stops between two
        // requests to Stripe, so the queues close without waiting on it.
        await started.migrations.stop();
        await started.webhooks.stop();
        await started.meters.stop();
        await started.moneyIn.stop(graceMs);
        await sweeper.stop();
        detachMetrics?.();
        await db.close();
        readiness.close();
        await ops?.close();
        await stopTracing();
      },
    };
  } catch (err) {
    await grpc?.close(0);
    await httpServer?.close(0);
    await migrations?.stop();
    await webhooks?.stop();
    await meters?.stop();
    await moneyIn?.stop(0);
    detachMetrics?.();
    await db.close();
    readiness.close();
    await ops?.close();
    await stopTracing();
    throw err;
  }
}
