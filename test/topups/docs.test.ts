// What the README and wallet.proto tell a user about money in is what the engine does: the Stripe events to subscribe
// to are exactly the ones it acts on, and the card currencies and minimum charges are its own table.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { CHARGE_CURRENCIES, formatMinor, minimumCharge } from '../../src/stripe/currency.js';
import { Settlement } from '../../src/topups/settlement.js';
import { STRIPE_EVENTS, StripeEventProcessor } from '../../src/topups/stripe-events.worker.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
const proto = readFileSync(new URL('../../proto/tollbooth/v1/wallet.proto', import.meta.url), 'utf8').replace(/\s*\/\/\s*/g, ' ');

/** The currency codes of the first "charged in A, B, … and Z" list after `anchor`. */
function currencyList(text: string, anchor: string): string[] {
  const from = text.indexOf(anchor);
  const m = /charged in ((?:[A-Z]{3}, )+[A-Z]{3} and [A-Z]{3})/.exec(text.slice(from));
  return m ? m[1].split(/, | and /) : [];
}

describe('the docs', () => {
  it('list exactly the Stripe events the engine handles', async () => {
    const paragraph = readme.slice(
      readme.indexOf('**Stripe webhooks.**'),
      readme.indexOf('STRIPE_WEBHOOK_SECRET', readme.indexOf('**Stripe webhooks.**')),
    );
    expect([...paragraph.matchAll(/`([a-z_.]+)`/g)].map((x) => x[1]).sort()).toEqual([...STRIPE_EVENTS].sort());

    // Each listed event is acted on; anything else is ignored. (Objects that name no Tollbooth top-up stop before
    // any database or Stripe access.)
    const events = new StripeEventProcessor(
      undefined as never,
      undefined,
      new Settlement({ now: () => new Date() }, 0, undefined as never),
    );
    const handle = (type: string) =>
      events.handle({
        type,
        data: { object: { metadata: {}, client_reference_id: null, payment_intent: null } },
      } as unknown as Stripe.Event);
    for (const type of STRIPE_EVENTS) expect(await handle(type), type).not.toMatch(/^ignored/);
    expect(await handle('customer.created')).toBe('ignored customer.created');
  });

  it('list exactly the currencies cards are charged in, with their minimum charges', () => {
    expect(currencyList(readme, '**Card payments.**')).toEqual([...CHARGE_CURRENCIES].sort());
    expect(currencyList(proto, 'message AutoRecharge')).toEqual([...CHARGE_CURRENCIES].sort());
    // Every "minimum ... (USD 0.50, EUR 0.50, GBP 0.30, JPY 50, …)" example is the engine's own minimum.
    let checked = 0;
    for (const doc of [readme, proto]) {
      for (const [, examples] of doc.matchAll(/minimum[^(]{0,80}\(((?:[A-Z]{3} \d+(?:\.\d+)?, )+)/g)) {
        for (const [, c, amount] of examples.matchAll(/([A-Z]{3}) (\d+(?:\.\d+)?)/g)) {
          expect(`${c} ${amount}`).toBe(`${c} ${formatMinor(minimumCharge(c, 'currency'), c)}`);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(12);
  });
});
