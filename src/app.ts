// Composition root as a function: config → database → services → route table → servers. main.ts runs it as a process;
// tests start the very same thing on ephemeral ports.
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/orm.js';
import { ApiKeyAdmin, bootstrapAdminKey, KeyVerifier } from './auth/api-keys.service.js';
import { apiKeyRoutes } from './auth/api-keys.routes.js';
import { Pipeline } from './server/pipeline.js';
import { bind, type ServiceBinding } from './server/binding.js';
import { startGrpcServer, type GrpcServer } from './server/grpc.js';
import { startHttpServer, type HttpRoute, type HttpServer } from './server/http.js';
import { CatalogService } from './catalog/catalog.service.js';
import { catalogRoutes } from './catalog/catalog.routes.js';
import { CustomerService } from './customers/customers.service.js';
import { customerRoutes } from './customers/customers.routes.js';
import { WalletService } from '../gen/tollbooth/v1/wallet_pb.js';
import { IngestService } from './usage/ingest.js';
import { UsageService } from './usage/usage.service.js';
import { usageRoutes } from './usage/usage.routes.js';
import { Wallets } from './wallets/wallets.service.js';
import { Holds } from './wallets/holds.service.js';
import { WalletWatch } from './wallets/watch.js';
import { WalletSweeper } from './wallets/sweeper.js';
import type { AutoRechargeLookup } from './wallets/wallets.rpc.js';
import { walletRoutes } from './wallets/wallets.routes.js';
import { log, setLogLevel } from './shared/log.js';
import { systemClock, type Clock } from './shared/clock.js';
import { startMoneyIn, type MoneyIn } from './topups/money-in.js';
import { autoRechargeToProto } from './topups/topups.rpc.js';
import { topUpRoutes } from './topups/topups.routes.js';
import type { AutoRechargeService } from './topups/auto-recharge.service.js';
import { Readiness } from './ops/readiness.js';
import { probeRoute } from './ops/probes.js';
import { queueDashboard } from './ops/queue-dashboard.js';
import { startOpsServer } from './ops/server.js';
import { attachSources } from './ops/metrics.js';
import { metricSources } from './ops/sources.js';
import { startTracing, stopTracing } from './ops/tracing.js';

export interface App {
  config: Config;
  db: Database;
  grpcPort: number;
  httpPort: number;
  /** Every service's RPC table: which scope, validator and handler each RPC has. */
  bindings: readonly ServiceBinding[];
  /** A newly created first admin key, when this start created one (printed once by main). */
  createdAdminKey: string | undefined;
  /** Top-ups, auto-recharge, Stripe webhooks, outbox relay and queues. */
  moneyIn: MoneyIn;
  /** Port of GET /metrics (and the probes) when METRICS_PORT is set. */
  metricsPort: number | undefined;
  /** Whether this process should get traffic (GET /readyz, gRPC health). */
  readiness: Readiness;
  stop(graceMs?: number): Promise<void>;
}

export interface AppOptions {
  /** Time source for time-based policies (auto-recharge cooldowns, monthly caps, reconciliation age). */
  clock?: Clock;
}

/** GetWallet and WatchWallet show each account's auto-recharge policy, which money-in owns. */
function policiesFrom(autoRecharge: AutoRechargeService): AutoRechargeLookup {
  return async (accounts) => {
    const found = await autoRecharge.policiesOf(accounts.map((a) => a.accountId));
    return new Map(accounts.flatMap((a) => {
      const p = found.get(a.accountId);
      return p ? [[a.accountId, autoRechargeToProto(p, a.scale)] as const] : [];
    }));
  };
}

export async function startApp(config: Config, options: AppOptions = {}): Promise<App> {
  setLogLevel(config.logLevel);
  const readiness = new Readiness();
  // The metrics port first: its /readyz answers (503) while the database opens and migrations run.
  const ops = config.metrics.port !== undefined ? await startOpsServer(config.metrics.host, config.metrics.port, readiness) : undefined;
  let db: Database;
  try {
    await startTracing(config.otel);
    db = await openDatabase({
      databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize,
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
  let detachMetrics: (() => void) | undefined;
  try {
    const createdAdminKey = await bootstrapAdminKey(db.orm, config.adminKey);
    const catalog = new CatalogService(db.orm);
    const customers = new CustomerService(db.orm, catalog);
    // Each flush holds one connection; leave the rest of the pool for reads and other writes. Embedded: one.
    const ingest = new IngestService(db.orm, catalog, db.embedded ? 1 : Math.max(1, Math.min(4, config.dbPoolSize - 2)));
    const usage = new UsageService(db.orm, catalog);
    const wallets = new Wallets(db.orm);
    const holds = new Holds(db.orm);
    const watch = new WalletWatch(db.orm, db.listen);
    const sweeper = new WalletSweeper(db.orm);
    moneyIn = startMoneyIn(config, db, options.clock ?? systemClock);
    const verifier = new KeyVerifier(db.orm);
    const bindings: ServiceBinding[] = [
      apiKeyRoutes(new ApiKeyAdmin(db.orm, (hash) => verifier.forget(hash))),
      catalogRoutes(catalog),
      customerRoutes(customers),
      bind(WalletService, {
        ...walletRoutes(wallets, holds, watch, { autoRecharge: policiesFrom(moneyIn.autoRecharge) }),
        ...topUpRoutes(moneyIn),
      }),
      usageRoutes(ingest, usage, catalog, () => db.orm.em.fork()),
    ];
    const pipeline = new Pipeline(verifier);
    const routes: HttpRoute[] = [
      (req, res) => {
        if (req.method !== 'GET' || req.url !== '/healthz') return false;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"SERVING"}');
        return true;
      },
      probeRoute(readiness),
      queueDashboard(moneyIn.hub, verifier),
      ...moneyIn.routes,
    ];
    detachMetrics = attachSources(metricSources(db, moneyIn.hub));
    grpc = await startGrpcServer(pipeline, bindings, config.host, config.grpcPort);
    httpServer = await startHttpServer(pipeline, bindings, routes, config.host, config.httpPort);
    const started = { grpc, http: httpServer, moneyIn };
    // gRPC health follows readiness: every service (and "") NOT_SERVING while the database is away or the process drains.
    const services = ['', ...bindings.map((b) => b.service.typeName)];
    readiness.onChange((ready) => {
      for (const s of services) started.grpc.health.setStatus(s, ready ? 'SERVING' : 'NOT_SERVING');
    });
    readiness.phase = 'serving';
    sweeper.start();
    log.info('tollbooth listening', { grpcPort: grpc.port, httpPort: httpServer.port, metricsPort: ops?.port, embeddedDb: db.embedded });
    return {
      config,
      db,
      grpcPort: grpc.port,
      httpPort: httpServer.port,
      bindings,
      createdAdminKey,
      moneyIn,
      metricsPort: ops?.port,
      readiness,
      async stop(graceMs = 10_000) {
        readiness.phase = 'stopping'; // /readyz 503 and gRPC health NOT_SERVING: balancers stop sending new calls
        // WatchWallet streams never end by themselves: end them first (UNAVAILABLE) so the servers can close at once.
        await watch.close();
        // Stop accepting, let in-flight calls finish (bounded by graceMs), then close the database.
        await Promise.all([started.grpc.close(graceMs), started.http.close(graceMs)]);
        // Then let queue workers finish their jobs (they use the database), and quit our Redis connections.
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
    await moneyIn?.stop(0);
    detachMetrics?.();
    await db.close();
    readiness.close();
    await ops?.close();
    await stopTracing();
    throw err;
  }
}
