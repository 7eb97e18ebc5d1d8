// The billing portal page: one customer's balances (live over WatchWallet), usage, transactions, top-up and
// auto-recharge, calling the engine with Connect-Web under the session cookie that the portal link set.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { AccountBalance } from '../../gen/tollbooth/v1/wallet_pb.js';
import { customerRef, loadSession, noteProblem, onSessionEnded, signOut, wallet, type AssetInfo, type Session } from './api.js';
import { formatAmount } from './format.js';
import { AutoRechargeSection, TopUpBanner, TopUpSection, TransactionsSection, UsageSection } from './sections.js';
import './styles.css';

type View =
  | { kind: 'loading' }
  | { kind: 'ready'; session: Session }
  | { kind: 'ended' }
  | { kind: 'signed-out'; returnUrl: string }
  | { kind: 'error'; message: string };

const body = document.body.dataset;

function Header({ title, logoUrl, children }: { title: string; logoUrl: string; children?: preact.ComponentChildren }) {
  return (
    <header class="top">
      <div class="brand">
        {logoUrl && <img src={logoUrl} alt="" class="logo" />}
        <span>{title}</span>
      </div>
      {children}
    </header>
  );
}

function Message({ heading, text, link }: { heading: string; text: string; link?: string }) {
  return (
    <>
      <Header title={body.title ?? 'Billing'} logoUrl={body.logo ?? ''} />
      <main class="message">
        <h1>{heading}</h1>
        <p>{text}</p>
        {link && (
          <p>
            <a href={link}>Go back</a>
          </p>
        )}
      </main>
    </>
  );
}

function App() {
  const [view, setView] = useState<View>({ kind: 'loading' });
  useEffect(() => {
    loadSession().then(
      (session) => setView(session ? { kind: 'ready', session } : { kind: 'ended' }),
      (err: unknown) => setView({ kind: 'error', message: err instanceof Error ? err.message : String(err) }),
    );
    return onSessionEnded(() => setView((v) => (v.kind === 'signed-out' ? v : { kind: 'ended' })));
  }, []);
  switch (view.kind) {
    case 'loading':
      return <Header title={body.title ?? 'Billing'} logoUrl={body.logo ?? ''} />;
    case 'ended':
      return (
        <Message
          heading="Your session has ended"
          text="For your security, billing sessions end after a while. Open the billing page again from the app."
        />
      );
    case 'signed-out':
      return <Message heading="You are signed out" text="You can close this page." link={view.returnUrl || undefined} />;
    case 'error':
      return <Message heading="Something went wrong" text={view.message} />;
    case 'ready':
      return <Portal session={view.session} onSignOut={() => setView({ kind: 'signed-out', returnUrl: view.session.returnUrl })} />;
  }
}

type Live = 'connecting' | 'live' | 'reconnecting';

/** Every account of the customer, kept current by WatchWallet; the stream is opened again (with backoff) when it drops. */
function useLiveWallet(customerId: string): { accounts: AccountBalance[]; live: Live } {
  const [accounts, setAccounts] = useState<AccountBalance[]>([]);
  const [live, setLive] = useState<Live>('connecting');
  useEffect(() => {
    const ac = new AbortController();
    void (async () => {
      for (let attempt = 0; !ac.signal.aborted; attempt++) {
        try {
          for await (const change of wallet.watchWallet({ customer: customerRef(customerId) }, { signal: ac.signal })) {
            attempt = 0;
            setLive('live');
            const a = change.account;
            if (a)
              setAccounts((prev) =>
                [...prev.filter((p) => p.assetCode !== a.assetCode), a].sort((x, y) => x.assetCode.localeCompare(y.assetCode)),
              );
          }
        } catch (err) {
          if (ac.signal.aborted || noteProblem(err).ended) return;
        }
        setLive('reconnecting');
        await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** attempt)));
      }
    })();
    return () => ac.abort();
  }, [customerId]);
  return { accounts, live };
}

function Balances({ accounts, assets, live }: { accounts: AccountBalance[]; assets: Map<string, AssetInfo>; live: Live }) {
  return (
    <section aria-labelledby="balance-h">
      <div class="section-head">
        <h2 id="balance-h">Balance</h2>
        <span class={`live ${live}`} role="status">
          {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
      </div>
      <div class="cards">
        {accounts.map((a) => {
          const scale = assets.get(a.assetCode)?.scale ?? 0;
          return (
            <div class="card" key={a.assetCode} data-asset={a.assetCode}>
              <div class="card-label">{assets.get(a.assetCode)?.name ?? a.assetCode}</div>
              <div class="amount-big" data-testid={`balance-${a.assetCode}`}>
                {formatAmount(a.balance, a.assetCode, scale)}
              </div>
              <dl class="pair">
                <div>
                  <dt>Held</dt>
                  <dd data-testid={`held-${a.assetCode}`}>{formatAmount(a.held, a.assetCode, scale)}</dd>
                </div>
                <div>
                  <dt>Available</dt>
                  <dd data-testid={`available-${a.assetCode}`}>{formatAmount(a.available, a.assetCode, scale)}</dd>
                </div>
              </dl>
            </div>
          );
        })}
      </div>
    </section>
  );
}

function Portal({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { accounts, live } = useLiveWallet(session.customerId);
  const assets = new Map(session.assets.map((a) => [a.code, a]));
  const [chosen, setChosen] = useState('');
  const current = accounts.find((a) => a.assetCode === chosen) ?? accounts[0];
  const info = current && assets.get(current.assetCode);
  let back: string;
  try {
    back = session.returnUrl ? new URL(session.returnUrl).host : '';
  } catch {
    back = '';
  }
  return (
    <>
      <Header title={session.title} logoUrl={session.logoUrl}>
        <nav class="actions">
          {session.returnUrl && <a href={session.returnUrl}>← Back to {back}</a>}
          <button type="button" class="link" onClick={() => void signOut().then(onSignOut)}>
            Sign out
          </button>
        </nav>
      </Header>
      <main>
        <p class="who">{session.customerName ? `Billing for ${session.customerName}` : 'Your billing'}</p>
        <TopUpBanner assets={assets} />
        <Balances accounts={accounts} assets={assets} live={live} />
        {accounts.length > 1 && (
          <div class="tabs" role="group" aria-label="Asset">
            {accounts.map((a) => (
              <button type="button" key={a.assetCode} aria-pressed={a === current} onClick={() => setChosen(a.assetCode)}>
                {a.assetCode}
              </button>
            ))}
          </div>
        )}
        {current && info && (
          <>
            <UsageSection customerId={session.customerId} asset={info} version={current.sequence} />
            {info.topUp && <TopUpSection customerId={session.customerId} asset={info} />}
            <AutoRechargeSection customerId={session.customerId} asset={info} account={current} />
            <TransactionsSection customerId={session.customerId} asset={info} sequence={current.sequence} />
          </>
        )}
      </main>
      <footer class="foot">Session ends {new Date(session.expireTime).toLocaleString()}</footer>
    </>
  );
}

render(<App />, document.getElementById('app')!);
