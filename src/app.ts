// Composition root as a function: config → database → services → route table → servers. main.ts runs it as a process;
// tests start the very same thing on ephemeral ports.
import type { Config } from './config.js';
import type { EmbeddedPostgres } from './db/embedded.js';
import { openDatabase, type Database } from './db/orm.js';
import { ApiKeyAdmin, bootstrapAdminKey, KeyVerifier } from './auth/api-keys.service.js';
import { apiKeyBinding } from './auth/api-keys.rpc.js';
import { Pipeline, type ServiceBinding } from './server/pipeline.js';
import { startGrpcServer, type GrpcServer } from './server/grpc.js';
import { startHttpServer, type HttpRoute, type HttpServer } from './server/http.js';
import { checkPortsAvailable, configuredPorts } from './server/ports.js';
import { CatalogService } from './catalog/catalog.service.js';
import { catalogBinding } from './catalog/catalog.rpc.js';
import { CustomerService } from './customers/customers.service.js';
import { customerBinding } from './customers/customers.rpc.js';
import { bind } from './server/pipeline.js';
import { WalletService } from '../gen/tollbooth/v1/wallet_pb.js';
import { UsageService as UsageApi } from '../gen/tollbooth/v1/usage_pb.js';
import { IngestService } from './usage/ingest.js';
import { UsageService } from './usage/usage.service.js';
import { usageHandlers } from './usage/usage.rpc.js';
import { Wallets } from './wallets/wallets.service.js';
import { Holds } from './wallets/holds.service.js';
import { WalletWatch } from './wallets/watch.js';
import { WalletSweeper } from './wallets/sweeper.js';
import { walletHandlers, type AutoRechargeLookup } from './wallets/wallets.rpc.js';
import { log, setLogLevel } from './shared/log.js';
import { systemClock, type Clock } from './shared/clock.js';
import { startMoneyIn, type MoneyIn } from './topups/money-in.js';
import { autoRechargeToProto, topUpHandlers } from './topups/topups.rpc.js';
import type { AutoRechargeService } from './topups/auto-recharge.service.js';

export interface App {
  config: Config;
  db: Database;
  grpcPort: number;
  httpPort: number;
  /** A newly created first admin key, when this start created one (printed once by main). */
  createdAdminKey: string | undefined;
  /** Top-ups, auto-recharge, Stripe webhooks, outbox relay and queues. */
  moneyIn: MoneyIn;
  stop(graceMs?: number): Promise<void>;
}

export interface AppOptions {
  /** Time source for time-based policies (auto-recharge cooldowns, monthly caps, reconciliation age). */
  clock?: Clock;
  /** The embedded database, already starting (without DATABASE_URL; src/main.ts starts it first). */
  embedded?: Promise<EmbeddedPostgres>;
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
  // Busy ports first: a second engine must stop here, before it opens the database (embedded: the same directory as
  // the first one's, maybe) or Redis and warns about them. The servers bind for real at the end; a port taken in
  // between still fails there.
  await checkPortsAvailable(config.host, configuredPorts(config));
  const { databaseUrl, dataDir, dbPoolSize: poolSize } = config;
  const db = await openDatabase({ databaseUrl, dataDir, poolSize, embedded: options.embedded });
  let grpc: GrpcServer | undefined;
  let httpServer: HttpServer | undefined;
  let moneyIn: MoneyIn | undefined;
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
      apiKeyBinding(new ApiKeyAdmin(db.orm, (hash) => verifier.forget(hash))),
      catalogBinding(catalog),
      customerBinding(customers),
      bind(WalletService, { ...walletHandlers(wallets, holds, watch, { autoRecharge: policiesFrom(moneyIn.autoRecharge) }), ...topUpHandlers(moneyIn) }),
      bind(UsageApi, usageHandlers(ingest, usage, catalog, () => db.orm.em.fork())),
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
    const started = { grpc, http: httpServer, moneyIn };
    sweeper.start();
    log.info('tollbooth listening', { grpcPort: grpc.port, httpPort: httpServer.port, embeddedDb: db.embedded });
    return {
      config,
      db,
      grpcPort: grpc.port,
      httpPort: httpServer.port,
      createdAdminKey,
      moneyIn,
      async stop(graceMs = 10_000) {
        started.grpc.health.setStatus('', 'NOT_SERVING');
        // WatchWallet streams never end by themselves: end them first (UNAVAILABLE) so the servers can close at once.
        await watch.close();
        // Stop accepting, let in-flight calls finish (bounded by graceMs), then close the database.
        await Promise.all([started.grpc.close(graceMs), started.http.close(graceMs)]);
        // Then let queue workers finish their jobs (they use the database), and quit our Redis connections.
        await started.moneyIn.stop(graceMs);
        await sweeper.stop();
        await db.close();
      },
    };
  } catch (err) {
    await grpc?.close(0);
    await httpServer?.close(0);
    await moneyIn?.stop(0);
    await db.close();
    throw err;
  }
}
