// The billing portal in a real browser (Debian's chromium driven by playwright-core) against a running engine with real
// Postgres, Redis and the fake Stripe: a fresh link shows GetWallet's balance and follows usage live, a top-up through
// the fake Checkout comes back with a banner and exactly the amount added, auto-recharge settings reach the API and its
// validation messages come back beside the field, links that do not work show an HTML page, and an app's own page on
// an allowed origin reads its wallet with a browser token while another origin is refused. Screenshots (desktop and
// 375 px) go to test-results/screenshots/.
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import type { ServiceError } from '@grpc/grpc-js';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CatalogService, UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';
import { AdjustmentDirection, AdjustmentReason } from '../../gen/tollbooth/v1/wallet_pb.js';
import { UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { dec } from '../../src/shared/money.js';
import { freePort, REPO_ROOT } from '../process/spawn.js';
import type { GrpcClient } from '../helpers/engine.js';
import { uniq } from '../helpers/fixtures.js';
import { checkLedgerInvariants } from '../helpers/invariants.js';
import { byId, ManualClock, startMoneyEngine, type MoneyEngine } from '../topups/support.js';

const SHOTS = path.join(REPO_ROOT, 'test-results', 'screenshots');
const clock = new ManualClock(Date.now());
let m: MoneyEngine;
let browser: Browser;
let desktop: BrowserContext;
let appServer: http.Server;
let appPort: number;
let engineUrl: string;
let customerId: string;
let usageApi: GrpcClient<typeof UsageService>;

/** The app's own page (test/portal/browser-app.mjs, bundled) served from another origin than the engine's. */
async function startAppServer(port: number): Promise<http.Server> {
  const bundle = await build({
    entryPoints: [path.join(REPO_ROOT, 'test/portal/browser-app.mjs')],
    bundle: true,
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  const js = bundle.outputFiles[0].contents;
  const server = http.createServer((req, res) => {
    if (req.url === '/app.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><meta charset="utf-8"><pre id="out">loading</pre><script type="module" src="/app.js"></script>');
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

async function balanceOf(): Promise<string> {
  const { wallet } = await m.wallet.getWallet({ customer: byId(customerId) });
  return wallet!.accounts.find((a) => a.assetCode === 'USD')!.balance;
}

async function track(n: number, size = 'small'): Promise<void> {
  const events = Array.from({ length: n }, () => ({ id: uniq('evt'), eventType: 'image_generated', data: { size } }));
  const { results } = await usageApi.trackEvents({ customer: byId(customerId), events });
  expect(results.every((r) => r.status === 1)).toBe(true);
}

async function openPortal(context: BrowserContext, ttlSeconds?: number): Promise<Page> {
  const { url } = await m.customers.createPortalSession({
    customer: byId(customerId),
    returnUrl: 'https://app.example.com/account',
    ...(ttlSeconds ? { ttl: { seconds: BigInt(ttlSeconds) } } : {}),
  });
  const page = await context.newPage();
  await page.goto(url);
  expect(new URL(page.url()).pathname).toBe('/portal/');
  return page;
}

const text = (page: Page, selector: string) => page.locator(selector).first().textContent();

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  appPort = await freePort();
  const httpPort = await freePort();
  engineUrl = `http://127.0.0.1:${httpPort}`;
  m = await startMoneyEngine(
    {
      HTTP_PORT: String(httpPort),
      PUBLIC_URL: engineUrl,
      TOLLBOOTH_CORS_ORIGINS: `http://127.0.0.1:${appPort}`,
      TOLLBOOTH_PORTAL_TITLE: 'Acme Images',
    },
    clock,
  );
  appServer = await startAppServer(appPort);
  usageApi = m.engine.grpc(UsageService);
  const code = uniq('img');
  await m.engine.grpc(CatalogService).createProduct({
    requestId: uniq('p'),
    code,
    name: 'Images',
    publish: true,
    prices: [
      {
        name: 'Images',
        eventType: 'image_generated',
        calculation: UsageCalculation.UNIT,
        dimensionKeys: ['size'],
        rates: [
          { dimensions: { size: 'small' }, unitPrices: [{ assetCode: 'USD', amount: '0.05' }] },
          { dimensions: { size: 'large' }, unitPrices: [{ assetCode: 'USD', amount: '0.25' }] },
        ],
      },
    ],
  });
  const { customer } = await m.customers.createCustomer({
    requestId: uniq('c'),
    externalId: uniq('jane'),
    name: 'Jane Doe',
    productCodes: [code],
  });
  customerId = customer!.id;
  await m.wallet.createAdjustment({
    requestId: uniq('g'),
    customer: byId(customerId),
    amount: { assetCode: 'USD', amount: '1250' },
    direction: AdjustmentDirection.CREDIT,
    reason: AdjustmentReason.GRANT,
    description: 'Welcome credit',
  });
  await track(3);
  await track(2, 'large');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  desktop = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => (appServer ? appServer.close(r) : r(undefined)));
  if (!m) return;
  await m.fake.flush();
  const report = await checkLedgerInvariants(m.engine.app.db.orm.em.fork());
  expect(report.violations).toEqual([]);
  await m.stop();
});

describe('the billing portal in a browser', () => {
  let page: Page;

  it('opens from a fresh link and shows the balance GetWallet answers, then follows new usage without a reload', async () => {
    page = await openPortal(desktop);
    const balance = await balanceOf();
    expect(balance).toBe('1249.35');
    await page.locator('[data-testid="balance-USD"]').waitFor();
    await expect.poll(() => text(page, '[data-testid="balance-USD"]')).toBe('$1,249.35');
    expect(await page.title()).toBe('Acme Images');
    await page.evaluate(() => ((globalThis as { notReloaded?: boolean }).notReloaded = true));
    await track(4);
    await expect.poll(() => text(page, '[data-testid="balance-USD"]')).toBe('$1,249.15');
    expect(await balanceOf()).toBe('1249.15');
    expect(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded)).toBe(true);
    // Usage this month by event type and by dimension, exact.
    await expect.poll(() => text(page, '[data-testid="usage-image_generated"]')).toContain('$0.85');
    expect(await text(page, '[data-testid="usage-image_generated"]')).toMatch(/9\s*9\s*\$0\.85/);
    await expect
      .poll(() => page.locator('table:has(caption:text("By dimension")) tbody tr').allTextContents())
      .toEqual(['size=large2$0.50', 'size=small7$0.35']);
    expect(await page.locator('.chart rect.bar').count()).toBe(30);
    // Newest first, with what each entry was.
    const rows = await page.locator('table.tx tbody tr').allTextContents();
    expect(rows[rows.length - 1]).toContain('Adjustment · Welcome credit');
    expect(rows[0]).toContain('Usage');
    expect(rows[0]).toContain('-$0.20');
    await page.screenshot({ path: path.join(SHOTS, 'portal-desktop.png'), fullPage: true });
  });

  it('tops up through Checkout: back on the portal the banner follows it to SUCCEEDED; the balance rose by the amount', async () => {
    const before = await balanceOf();
    // With the keyboard: "Other" is pressed, the amount typed, the form submitted with Enter.
    await page.getByRole('button', { name: 'Other' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('#topup-amount').fill('0.10');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => text(page, '#topup-amount-error'))
      .toBe('amount: must be at least 0.50 USD (Stripe\'s minimum charge in USD), got "0.10"');
    await page.locator('#topup-amount').fill('25.00');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/pay\/cs_test_/);
    expect(await text(page, '#amount')).toBe('25.00 USD');
    await page.locator('#pay').click();
    await page.waitForURL(`${engineUrl}/portal/`);
    await expect.poll(() => page.locator('[data-testid="topup-banner"]').getAttribute('data-status'), { timeout: 20_000 }).toBe('success');
    expect(await text(page, '[data-testid="topup-banner"]')).toContain('Payment received: $25.00 was added to your balance.');
    const after = await balanceOf();
    expect(dec(after).minus(dec(before)).toFixed(2)).toBe('25.00');
    await expect
      .poll(() => text(page, '[data-testid="balance-USD"]'))
      .toBe(
        `$${dec(after)
          .toFixed(2)
          .replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`,
      );
    await expect.poll(async () => (await page.locator('table.tx tbody tr').first().textContent()) ?? '').toContain('Top-up');
  });

  it('follows a top-up that is never paid to FAILED', async () => {
    await page.getByRole('button', { name: '$10.00' }).click();
    await page.getByRole('button', { name: 'Continue to payment' }).click();
    await page.waitForURL(/\/pay\/cs_test_/);
    const session = page.url();
    await page.locator('#cancel').click();
    await page.waitForURL(`${engineUrl}/portal/`);
    await expect.poll(() => page.locator('[data-testid="topup-banner"]').getAttribute('data-status')).toBe('pending');
    await m.fake.expire(session);
    await expect.poll(() => page.locator('[data-testid="topup-banner"]').getAttribute('data-status'), { timeout: 20_000 }).toBe('failure');
    expect(await text(page, '[data-testid="topup-banner"]')).toContain('the Checkout session expired before payment');
  });

  it("saves auto-recharge settings that GetWallet then shows, and puts the API's message beside an invalid field", async () => {
    await page.locator('#ar-enabled').check();
    await page.locator('#ar-threshold').fill('5');
    await page.locator('#ar-amount').fill('0.10');
    await page.locator('#ar-cap').fill('100');
    await page.getByRole('button', { name: 'Save' }).click();
    const apiMessage = await m.wallet
      .updateAutoRecharge({
        customer: byId(customerId),
        assetCode: 'USD',
        autoRecharge: { enabled: true, threshold: '5', size: { case: 'amount', value: '0.10' } },
      })
      .then(
        () => 'accepted',
        (err: ServiceError) => err.details.replace(/^\d+ [A-Z_]+: /, ''),
      );
    await expect.poll(() => text(page, '#ar-amount-error')).toBe(apiMessage);
    expect(apiMessage).toContain('auto_recharge.amount: must be at least 0.50');
    await page.locator('#ar-threshold').fill('five');
    await page.locator('#ar-amount').fill('20');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => text(page, '#ar-threshold-error')).toContain('auto_recharge.threshold: must be a plain decimal string');
    expect(await page.locator('#ar-amount-error').count()).toBe(0);
    await page.locator('#ar-threshold').fill('5');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => text(page, '[data-testid="ar-status"]')).toBe('Saved');
    const { wallet } = await m.wallet.getWallet({ customer: byId(customerId) });
    expect(wallet!.accounts.find((a) => a.assetCode === 'USD')!.autoRecharge).toMatchObject({
      enabled: true,
      threshold: '5.00',
      size: { case: 'amount', value: '20.00' },
      monthlyCap: '100.00',
    });
  });

  it('works at 375 px wide', async () => {
    const phone = await browser.newContext({
      locale: 'en-US',
      viewport: { width: 375, height: 740 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    const p = await openPortal(phone);
    await expect.poll(() => text(p, '[data-testid="balance-USD"]')).toBe(`$${(await balanceOf()).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`);
    // Nothing wider than the screen: the page does not scroll sideways.
    // The callback runs in the page (only its own code goes there), whose globals this tsconfig has no DOM types for.
    type InPage = { document: { documentElement: { scrollWidth: number } } };
    expect(await p.evaluate(() => (globalThis as unknown as InPage).document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await p.locator('table.tx tbody tr').first().waitFor();
    await p.screenshot({ path: path.join(SHOTS, 'portal-375.png'), fullPage: true });
    await phone.close();
  });

  it('signs out: the session ends and the page says so', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => text(page, 'h1')).toBe('You are signed out');
    await page.goto(`${engineUrl}/portal/`);
    await expect.poll(() => text(page, 'h1')).toBe('Your session has ended');
  });
});

describe('links that do not work', () => {
  it('shows an HTML page, not JSON, for an expired, a used, an unknown and a forged link', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const p = await context.newPage();
    const { url: expiring } = await m.customers.createPortalSession({ customer: byId(customerId), ttl: { seconds: 60n } });
    const { url: used } = await m.customers.createPortalSession({ customer: byId(customerId) });
    await (await context.newPage()).goto(used);
    const fresh = await browser.newContext();
    const tries: [string, number, string][] = [
      [used, 410, 'This link has already been used'],
      [`${engineUrl}/portal/s/tbl_${'x'.repeat(43)}`, 404, 'This link is not valid'],
      [`${engineUrl}/portal/s/${encodeURIComponent('<script>alert(1)</script>')}`, 404, 'This link is not valid'],
    ];
    for (const [url, status, heading] of tries) {
      const res = await (await fresh.newPage()).goto(url);
      expect([res!.status(), res!.headers()['content-type']], url).toEqual([status, 'text/html; charset=utf-8']);
      expect(await res!.text()).toContain(`<h1>${heading}</h1>`);
    }
    clock.advance(61_000);
    const res = await p.goto(expiring);
    expect([res!.status(), res!.headers()['content-type']]).toEqual([410, 'text/html; charset=utf-8']);
    expect(await text(p, 'h1')).toBe('This link has expired');
    expect(res!.headers()['content-security-policy']).toContain("script-src 'self'");
    await p.setViewportSize({ width: 375, height: 600 });
    await p.screenshot({ path: path.join(SHOTS, 'portal-expired-375.png') });
    await context.close();
    await fresh.close();
  });
});

describe("an app's own page with a browser token (Connect-Web)", () => {
  it("reads its customer's wallet from an allowed origin, and is refused from another", async () => {
    const { token } = await m.customers.createBrowserToken({ customer: byId(customerId) });
    const fragment = `#engine=${encodeURIComponent(engineUrl)}&customer=${customerId}&token=${token}`;
    const context = await browser.newContext();
    const allowed = await context.newPage();
    await allowed.goto(`http://127.0.0.1:${appPort}/app.html${fragment}`);
    await expect.poll(() => allowed.locator('#out').getAttribute('data-state')).toBe('ok');
    expect(await text(allowed, '#out')).toBe(await balanceOf());
    const other = await context.newPage();
    await other.goto(`http://localhost:${appPort}/app.html${fragment}`);
    await expect.poll(() => other.locator('#out').getAttribute('data-state')).toBe('error');
    expect(await text(other, '#out')).toMatch(/fetch/i);
    await context.close();
  });
});
