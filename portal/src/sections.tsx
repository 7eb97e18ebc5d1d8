// The portal's sections for the chosen asset: usage this month with a 30-day chart, top-up through Stripe Checkout and
// the banner that follows it, auto-recharge settings with the API's messages beside their fields, and transactions.
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Granularity, SummaryGroupBy, type UsageBucket } from '../../gen/tollbooth/v1/usage_pb.js';
import { EntryKind, TopUpStatus, type AccountBalance, type LedgerEntry, type TopUp } from '../../gen/tollbooth/v1/wallet_pb.js';
import { customerRef, noteProblem, usage, wallet, type AssetInfo } from './api.js';
import { add, compare, isDecimal, permille, sum } from './decimal.js';
import { formatAmount, formatDate, formatQuantity } from './format.js';

const DAY_MS = 86_400_000;

interface Row {
  key: string;
  events: bigint;
  quantity: string;
  /** Fees per asset code. */
  fees: Map<string, string>;
}

/** Buckets of several days summed per group key, exactly. */
function totals(buckets: UsageBucket[]): Row[] {
  const rows = new Map<string, Row>();
  for (const b of buckets) {
    const r = rows.get(b.key) ?? { key: b.key, events: 0n, quantity: '0', fees: new Map<string, string>() };
    r.events += b.eventCount;
    r.quantity = add(r.quantity, b.quantity);
    for (const f of b.fees) r.fees.set(f.assetCode, add(r.fees.get(f.assetCode) ?? '0', f.amount));
    rows.set(b.key, r);
  }
  return [...rows.values()].sort((a, b) => a.key.localeCompare(b.key));
}

function Fees({ fees, scales }: { fees: Map<string, string>; scales: (code: string) => number }) {
  const list = [...fees].filter(([, v]) => compare(v, '0') !== 0);
  if (list.length === 0) return <>—</>;
  return <>{list.map(([code, v]) => formatAmount(v, code, scales(code))).join(' · ')}</>;
}

interface UsageData {
  byType: Row[];
  byDimension: Row[];
  days: { start: Date; fee: string }[];
}

function Chart({ days, asset }: { days: UsageData['days']; asset: AssetInfo }) {
  const max = days.reduce((m, d) => (compare(d.fee, m) > 0 ? d.fee : m), '0');
  const total = sum(
    days.map((d) => d.fee),
    asset.scale,
  );
  const W = 300;
  const H = 100;
  const slot = W / days.length;
  const label = `Daily usage cost over the last 30 days, ${formatAmount(total, asset.code, asset.scale)} in all`;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H + 16}`} role="img" aria-label={label} preserveAspectRatio="none">
        <line x1="0" y1={H} x2={W} y2={H} class="axis" />
        {days.map((d, i) => {
          // permille is for drawing only; the amounts shown stay exact strings.
          const h = compare(max, '0') === 0 ? 0 : Math.max(compare(d.fee, '0') > 0 ? 1 : 0, (permille(d.fee, max) * H) / 1000);
          return (
            <rect key={i} x={i * slot + slot * 0.15} y={H - h} width={slot * 0.7} height={h} class="bar">
              <title>{`${formatDate(d.start, false)}: ${formatAmount(d.fee, asset.code, asset.scale)}`}</title>
            </rect>
          );
        })}
      </svg>
      <figcaption>
        <span>{formatDate(days[0].start, false)}</span>
        <span>Highest day {formatAmount(max, asset.code, asset.scale)}</span>
        <span>{formatDate(days[days.length - 1].start, false)}</span>
      </figcaption>
    </figure>
  );
}

export function UsageSection({ customerId, asset, version }: { customerId: string; asset: AssetInfo; version: bigint }) {
  const [data, setData] = useState<UsageData | null>(null);
  const [error, setError] = useState('');
  const scales = (code: string) => (code === asset.code ? asset.scale : 0);
  useEffect(() => {
    let stale = false;
    // Balance movements arrive in bursts while usage is tracked: read the summary once the burst settles.
    const timer = setTimeout(
      async () => {
        const now = new Date();
        const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
        const tomorrow = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
        const from = new Date(tomorrow.getTime() - 30 * DAY_MS);
        const ask = (start: Date, groupBy: SummaryGroupBy) =>
          usage.getUsageSummary({
            customer: customerRef(customerId),
            startTime: timestampFromDate(start),
            endTime: timestampFromDate(tomorrow),
            groupBy,
            granularity: Granularity.DAY,
          });
        try {
          const [types, dimensions, daily] = await Promise.all([
            ask(monthStart, SummaryGroupBy.EVENT_TYPE),
            ask(monthStart, SummaryGroupBy.DIMENSION),
            ask(from, SummaryGroupBy.EVENT_TYPE),
          ]);
          const days = Array.from({ length: 30 }, (_, i) => ({ start: new Date(from.getTime() + i * DAY_MS), fee: '0' }));
          for (const b of daily.buckets) {
            const i = Math.round((timestampDate(b.startTime!).getTime() - from.getTime()) / DAY_MS);
            const fee = b.fees.find((f) => f.assetCode === asset.code);
            if (days[i] && fee) days[i].fee = add(days[i].fee, fee.amount);
          }
          if (!stale) {
            setData({ byType: totals(types.buckets), byDimension: totals(dimensions.buckets).filter((r) => r.key !== ''), days });
            setError('');
          }
        } catch (err) {
          if (!stale) setError(noteProblem(err).message);
        }
      },
      data ? 400 : 0,
    );
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [customerId, asset.code, String(version)]);
  return (
    <section aria-labelledby="usage-h">
      <h2 id="usage-h">Usage this month</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {data && (
        <>
          {data.byType.length === 0 ? (
            <p class="muted">No usage yet this month.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption class="sr-only">Usage by event type</caption>
                <thead>
                  <tr>
                    <th scope="col">Event type</th>
                    <th scope="col" class="num">
                      Events
                    </th>
                    <th scope="col" class="num">
                      Quantity
                    </th>
                    <th scope="col" class="num">
                      Cost
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.byType.map((r) => (
                    <tr key={r.key} data-testid={`usage-${r.key}`}>
                      <th scope="row">{r.key}</th>
                      <td class="num">{formatQuantity(r.events.toString())}</td>
                      <td class="num">{formatQuantity(r.quantity)}</td>
                      <td class="num">
                        <Fees fees={r.fees} scales={scales} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {data.byDimension.length > 0 && (
            <div class="table-wrap">
              <table>
                <caption>By dimension</caption>
                <thead>
                  <tr>
                    <th scope="col">Dimension</th>
                    <th scope="col" class="num">
                      Events
                    </th>
                    <th scope="col" class="num">
                      Cost
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.byDimension.map((r) => (
                    <tr key={r.key}>
                      <th scope="row">{r.key}</th>
                      <td class="num">{formatQuantity(r.events.toString())}</td>
                      <td class="num">
                        <Fees fees={r.fees} scales={scales} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <h3>Last 30 days</h3>
          <Chart days={data.days} asset={asset} />
        </>
      )}
    </section>
  );
}

/** The top-up started on this page before Checkout, kept for the banner on the way back. */
const PENDING_KEY = 'tollbooth.portal.topUp';

function presets(topUp: NonNullable<AssetInfo['topUp']>): string[] {
  const base = topUp.decimals === 0 ? ['1000', '2500', '5000', '10000'] : ['10', '25', '50', '100'];
  return base.filter((p) => compare(p, topUp.minimum) >= 0).slice(0, 3);
}

export function TopUpSection({ customerId, asset }: { customerId: string; asset: AssetInfo }) {
  const t = asset.topUp!;
  const choices = presets(t);
  const [amount, setAmount] = useState(choices[0] ?? '');
  const [custom, setCustom] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    if (!isDecimal(amount, t.decimals)) {
      setError(`Enter an amount such as ${t.decimals === 0 ? '1000' : '20.00'}`);
      return;
    }
    setBusy(true);
    try {
      const { topUp } = await wallet.createTopUp({
        requestId: crypto.randomUUID(),
        customer: customerRef(customerId),
        amount: amount.trim(),
        currency: t.currency,
        assetCode: asset.code,
        returnUrl: `${location.origin}/portal/?checkout=return`,
      });
      sessionStorage.setItem(PENDING_KEY, topUp!.id);
      location.assign(topUp!.redirectUrl);
    } catch (err) {
      setError(noteProblem(err).message);
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="topup-h">
      <h2 id="topup-h">Add funds</h2>
      <form onSubmit={(e) => void submit(e)} class="topup">
        <div class="choices" role="group" aria-label="Amount">
          {choices.map((p) => (
            <button
              type="button"
              key={p}
              aria-pressed={!custom && amount === p}
              onClick={() => (setCustom(false), setAmount(p), setError(''))}
            >
              {formatAmount(p, t.currency, t.decimals)}
            </button>
          ))}
          <button type="button" aria-pressed={custom} onClick={() => (setCustom(true), setAmount(''), setError(''))}>
            Other
          </button>
        </div>
        {custom && (
          <div class="field">
            <label for="topup-amount">Amount ({t.currency})</label>
            <input
              id="topup-amount"
              inputMode="decimal"
              autoComplete="off"
              value={amount}
              aria-invalid={!!error}
              aria-describedby="topup-amount-error"
              onInput={(e) => setAmount((e.target as HTMLInputElement).value)}
              autoFocus
            />
          </div>
        )}
        {error && (
          <p class="error" id="topup-amount-error" role="alert">
            {error}
          </p>
        )}
        <p class="muted">
          {asset.code === t.currency ? '' : `Paid in ${t.currency}. `}Minimum {formatAmount(t.minimum, t.currency, t.decimals)}. You pay
          securely on Stripe and come back here.
        </p>
        <button type="submit" class="primary" disabled={busy || amount === ''}>
          {busy ? 'Opening payment…' : 'Continue to payment'}
        </button>
      </form>
    </section>
  );
}

/** After Checkout: follows the top-up this page started until it is SUCCEEDED or FAILED. */
export function TopUpBanner({ assets }: { assets: Map<string, AssetInfo> }) {
  const [topUp, setTopUp] = useState<TopUp | null>(null);
  const [waitedLong, setWaitedLong] = useState(false);
  const [hidden, setHidden] = useState(false);
  const id = useRef<string | null>(null);
  useEffect(() => {
    const params = new URLSearchParams(location.search);
    if (params.get('checkout') !== 'return') return;
    history.replaceState(null, '', '/portal/');
    id.current = sessionStorage.getItem(PENDING_KEY);
    if (!id.current) return;
    let stop = false;
    const started = Date.now();
    void (async () => {
      for (let i = 0; !stop; i++) {
        try {
          const { topUp: t } = await wallet.getTopUp({ id: id.current! });
          setTopUp(t ?? null);
          if (t && t.status !== TopUpStatus.PENDING) {
            sessionStorage.removeItem(PENDING_KEY);
            return;
          }
        } catch (err) {
          if (noteProblem(err).ended) return;
        }
        if (Date.now() - started > 30_000) setWaitedLong(true);
        await new Promise((r) => setTimeout(r, i < 60 ? 1000 : 5000));
      }
    })();
    return () => {
      stop = true;
    };
  }, []);
  if (!id.current || hidden) return null;
  let kind = 'pending';
  let text = 'Waiting for your payment to be confirmed…';
  if (topUp?.status === TopUpStatus.SUCCEEDED) {
    const c = topUp.credit!;
    kind = 'success';
    text = `Payment received: ${formatAmount(c.amount, c.assetCode, assets.get(c.assetCode)?.scale ?? 0)} was added to your balance.`;
  } else if (topUp?.status === TopUpStatus.FAILED) {
    kind = 'failure';
    text = `The top-up did not go through${topUp.failureMessage ? `: ${topUp.failureMessage}` : '.'}`;
  } else if (topUp?.status === TopUpStatus.REFUNDED) {
    kind = 'failure';
    text = 'This top-up was refunded.';
  } else if (waitedLong) {
    text = 'Still waiting for the payment. If you left the payment page without paying, nothing was charged.';
  }
  return (
    <div class={`banner ${kind}`} role="status" aria-live="polite" data-testid="topup-banner" data-status={kind}>
      <span>{text}</span>
      {kind !== 'pending' && (
        <button type="button" class="link" onClick={() => setHidden(true)} aria-label="Dismiss">
          ×
        </button>
      )}
    </div>
  );
}

type ArField = 'threshold' | 'amount' | 'target' | 'cap' | 'form';
const FIELD_OF: Record<string, ArField> = {
  'auto_recharge.threshold': 'threshold',
  'auto_recharge.amount': 'amount',
  'auto_recharge.target_balance': 'target',
  'auto_recharge.monthly_cap': 'cap',
};

function Field(props: { id: string; label: string; value: string; onInput: (v: string) => void; error?: string; hint?: string }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        inputMode="decimal"
        autoComplete="off"
        value={props.value}
        aria-invalid={!!props.error}
        aria-describedby={`${props.id}-error`}
        onInput={(e) => props.onInput((e.target as HTMLInputElement).value)}
      />
      {props.error ? (
        <p class="error" id={`${props.id}-error`} role="alert">
          {props.error}
        </p>
      ) : (
        props.hint && (
          <p class="hint" id={`${props.id}-error`}>
            {props.hint}
          </p>
        )
      )}
    </div>
  );
}

export function AutoRechargeSection({ customerId, asset, account }: { customerId: string; asset: AssetInfo; account: AccountBalance }) {
  const p = account.autoRecharge;
  const fromPolicy = () => ({
    enabled: p?.enabled ?? false,
    threshold: p?.threshold ?? '',
    mode: p?.size.case === 'targetBalance' ? 'target' : 'amount',
    size: (p?.size.value as string | undefined) ?? '',
    cap: p?.monthlyCap ?? '',
  });
  const [form, setForm] = useState(fromPolicy);
  const [errors, setErrors] = useState<Partial<Record<ArField, string>>>({});
  const [saved, setSaved] = useState<AccountBalance['autoRecharge'] | null>(null);
  const [status, setStatus] = useState('');
  useEffect(() => setForm(fromPolicy()), [asset.code]);
  const policy = saved ?? p;
  const set = (k: keyof ReturnType<typeof fromPolicy>) => (v: string | boolean) => {
    setForm((f) => ({ ...f, [k]: v }));
    setStatus('');
  };
  const save = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setStatus('Saving…');
    const keep = !form.enabled && form.threshold === '' && form.size === '';
    try {
      const { account: a } = await wallet.updateAutoRecharge({
        customer: customerRef(customerId),
        assetCode: asset.code,
        autoRecharge: {
          enabled: form.enabled,
          threshold: form.threshold.trim(),
          monthlyCap: form.cap.trim(),
          size: keep
            ? { case: undefined }
            : form.mode === 'target'
              ? { case: 'targetBalance', value: form.size.trim() }
              : { case: 'amount', value: form.size.trim() },
        },
      });
      setSaved(a?.autoRecharge ?? null);
      setStatus('Saved');
    } catch (err) {
      const problem = noteProblem(err);
      let field: ArField = FIELD_OF[problem.field] ?? 'form';
      if (field === 'amount' && form.mode === 'target') field = 'target';
      setErrors({ [field]: problem.message });
      setStatus('');
    }
  };
  const s = asset.scale;
  return (
    <section aria-labelledby="ar-h">
      <h2 id="ar-h">Auto-recharge</h2>
      <p class="muted">When usage takes your balance below the threshold, the card you last paid with is charged automatically.</p>
      {policy?.paused && <p class="error">Paused after repeated failed charges. Save the settings with auto-recharge on to resume.</p>}
      {policy?.lastFailureMessage && !policy.paused && <p class="hint">Last attempt failed: {policy.lastFailureMessage}</p>}
      <form onSubmit={(e) => void save(e)} class="ar" noValidate>
        <label class="check">
          <input
            type="checkbox"
            id="ar-enabled"
            checked={form.enabled}
            onChange={(e) => set('enabled')((e.target as HTMLInputElement).checked)}
          />
          Recharge automatically
        </label>
        <Field
          id="ar-threshold"
          label={`When the balance falls below (${asset.code})`}
          value={form.threshold}
          onInput={set('threshold')}
          error={errors.threshold}
        />
        <fieldset class="mode">
          <legend>Recharge by</legend>
          <label class="check">
            <input type="radio" name="ar-mode" checked={form.mode === 'amount'} onChange={() => set('mode')('amount')} /> a fixed amount
          </label>
          <label class="check">
            <input type="radio" name="ar-mode" checked={form.mode === 'target'} onChange={() => set('mode')('target')} /> up to a balance
          </label>
        </fieldset>
        {form.mode === 'amount' ? (
          <Field id="ar-amount" label={`Amount (${asset.code})`} value={form.size} onInput={set('size')} error={errors.amount} />
        ) : (
          <Field id="ar-target" label={`Target balance (${asset.code})`} value={form.size} onInput={set('size')} error={errors.target} />
        )}
        <Field
          id="ar-cap"
          label={`Monthly limit (${asset.code}, optional)`}
          value={form.cap}
          onInput={set('cap')}
          error={errors.cap}
          hint={policy?.monthToDate ? `${formatAmount(policy.monthToDate, asset.code, s)} recharged this month` : undefined}
        />
        {errors.form && (
          <p class="error" role="alert">
            {errors.form}
          </p>
        )}
        <div class="row">
          <button type="submit" class="primary">
            Save
          </button>
          <span role="status" class="muted" data-testid="ar-status">
            {status}
          </span>
        </div>
      </form>
    </section>
  );
}

const KIND: Record<EntryKind, string> = {
  [EntryKind.UNSPECIFIED]: 'Entry',
  [EntryKind.USAGE]: 'Usage',
  [EntryKind.ADJUSTMENT]: 'Adjustment',
  [EntryKind.HOLD_CAPTURE]: 'Reserved usage',
  [EntryKind.TOP_UP]: 'Top-up',
  [EntryKind.REFUND]: 'Refund',
  [EntryKind.EXPIRY]: 'Expired credit',
};
const PAGE = 10n;

/** An entry's description for its owner: the engine's usage descriptions end with the customer id, which says nothing here. */
function describe(e: LedgerEntry, customerId: string): string {
  return e.description.endsWith(` of ${customerId}`) ? e.description.slice(0, -(customerId.length + 4)) : e.description;
}

/** The account's ledger, newest first, ten at a time: pages are sequence ranges, since the feed has no gaps. */
export function TransactionsSection({ customerId, asset, sequence }: { customerId: string; asset: AssetInfo; sequence: bigint }) {
  // null: follow the newest entries as they arrive; else the highest sequence of the page shown.
  const [anchor, setAnchor] = useState<bigint | null>(null);
  const [entries, setEntries] = useState<LedgerEntry[]>([]);
  const [error, setError] = useState('');
  const upper = anchor ?? sequence;
  const lower = upper > PAGE ? upper - PAGE : 0n;
  useEffect(() => setAnchor(null), [asset.code]);
  useEffect(() => {
    if (upper === 0n) {
      setEntries([]);
      return;
    }
    let stale = false;
    wallet
      .listTransactions({ customer: customerRef(customerId), assetCode: asset.code, afterSequence: lower, pageSize: Number(upper - lower) })
      .then(
        (r) => stale || (setEntries([...r.entries].reverse()), setError('')),
        (err: unknown) => stale || setError(noteProblem(err).message),
      );
    return () => {
      stale = true;
    };
  }, [customerId, asset.code, String(upper)]);
  return (
    <section aria-labelledby="tx-h">
      <h2 id="tx-h">Transactions</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {upper === 0n ? (
        <p class="muted">No transactions yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="tx">
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">What</th>
                <th scope="col" class="num">
                  Amount
                </th>
                <th scope="col" class="num">
                  Balance
                </th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.sequence.toString()} data-sequence={e.sequence.toString()}>
                  <td class="when">{e.createTime ? formatDate(timestampDate(e.createTime)) : ''}</td>
                  <td class="what">
                    <span class="kind">{KIND[e.kind]}</span>
                    {describe(e, customerId) && <span class="desc"> · {describe(e, customerId)}</span>}
                  </td>
                  <td class={`num amount ${e.amount.startsWith('-') ? 'debit' : 'credit'}`}>
                    {formatAmount(e.amount, asset.code, asset.scale, { signed: true })}
                  </td>
                  <td class="num after">
                    <span class="sr-only">Balance </span>
                    {formatAmount(e.balanceAfter, asset.code, asset.scale)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {upper > 0n && (
        <div class="pager">
          <button
            type="button"
            disabled={anchor === null}
            onClick={() => setAnchor(anchor !== null && anchor + PAGE < sequence ? anchor + PAGE : null)}
          >
            ← Newer
          </button>
          <span class="muted">{`${(sequence - upper + 1n).toString()}–${(sequence - lower).toString()} of ${sequence.toString()}`}</span>
          <button type="button" disabled={lower === 0n} onClick={() => setAnchor(lower)}>
            Older →
          </button>
        </div>
      )}
    </section>
  );
}
