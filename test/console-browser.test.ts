import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, screenshotDir } from './helpers/browser.js';
import { addConsoleUser, consoleWorkspace } from './helpers/console.js';
import { membersCsv, startService, stopService, waitFor, type Workspace } from './helpers/service.js';
import { bookedNumbers, countDeliveries, countFiles, listDeliveries } from './helpers/ledger-view.js';
import { startSmtp, type TestSmtp } from './helpers/smtp.js';

/**
 * The console in a real headless Chromium against a real service and a real SMTP server: sign in,
 * see a dead delivery, retry it once the mail server is fixed and watch it become sent; find an
 * invoice and open its PDF; try a file; what a viewer cannot do; CSRF; slowed-down guessing.
 */
describe('console in a real browser (headless Chromium, real service)', function () {
  this.timeout(240_000);
  let smtp: TestSmtp;
  let ws: Workspace;
  let service: ChildProcess;
  let base: string;
  let browser: Browser;
  const shots = screenshotDir();

  const signIn = async (context: BrowserContext, name: string, password: string): Promise<Page> => {
    const page = await context.newPage();
    await page.goto(`${base}/`);
    assert.match(page.url(), /\/login\?next=/, 'a page needs a sign-in first');
    await page.fill('input[name=name]', name);
    await page.fill('input[name=password]', password);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/`);
    return page;
  };
  const shot = async (page: Page, name: string): Promise<void> => {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  };

  before(async () => {
    smtp = await startSmtp();
    // the first member's mailbox does not exist: that delivery goes dead with the server's answer
    ({ ws, base } = await consoleWorkspace(smtp));
    addConsoleUser(ws, 'olga', 'operator', 'operator-password-1', 'en');
    addConsoleUser(ws, 'vera', 'viewer', 'viewer-password-1', 'nl');
    addConsoleUser(ws, 'gast', 'viewer', 'guest-password-1', 'nl');
    service = startService(ws);
    browser = await launchChromium();
    await waitFor('the console to answer', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok);
    writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(3));
    await waitFor('one dead delivery', async () => (await countDeliveries(ws, 'dead')) === 1);
    await waitFor('the accounting file', async () => (await bookedNumbers(ws)).length === 3);
  });
  after(async () => {
    await browser?.close();
    await stopService(service);
    await smtp.close();
    process.stdout.write(`      screenshots: ${shots}\n`);
  });

  it('an operator sees the dead delivery on the overview, retries it after the mail server is fixed, and watches it become sent', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await signIn(context, 'olga', 'operator-password-1');
    const alert = page.locator('[data-alert=dead-deliveries]');
    assert.match(await alert.innerText(), /1 delivery\(ies\) failed for good/);
    await shot(page, '01-overview');
    await alert.locator('a').click();
    await page.waitForURL(/\/deliveries\?state=dead/);
    const row = page.locator('tr.state-dead');
    assert.equal(await row.count(), 1);
    assert.match(await row.innerText(), /550 No such user here/);
    await shot(page, '02-dead-delivery');
    const id = await row.getAttribute('data-delivery');
    smtp.reject = undefined; // the mailbox exists now
    await row.locator('input[type=checkbox]').check();
    await page.click('#retry-selected');
    await page.waitForURL(/\/deliveries\?state=dead/);
    assert.match(await page.locator('.flash').innerText(), /1 deliveries are due again/);
    await page.goto(`${base}/deliveries`);
    await waitFor('the delivery shown as sent', async () => {
      await page.reload();
      return (await page.locator(`tr[data-delivery="${id}"] td.state`).innerText()) === 'sent';
    });
    await shot(page, '03-deliveries-after-retry');
    assert.ok(
      smtp.received.some((m) => JSON.stringify(m.to).includes('lid5001@example.nl')),
      'the member got the mail',
    );
    await context.close();
  });

  it('finds an invoice by number and opens its PDF; the validation report lists no fatal finding', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await signIn(context, 'olga', 'operator-password-1');
    await page.click('nav >> text=Invoices');
    await page.fill('input[name=number]', 'LID2027-0002');
    await page.click('#search');
    const rows = page.locator('table.list tbody tr');
    assert.equal(await rows.count(), 1);
    await shot(page, '04-invoice-search');
    await rows.locator('a').first().click();
    await page.waitForURL(/\/invoices\/\d+$/);
    assert.match(await page.locator('h1').innerText(), /Invoice LID2027-0002/);
    const pdf = await page.request.get(`${page.url()}/pdf`);
    assert.equal(pdf.headers()['content-type'], 'application/pdf');
    assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');
    const [shown] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/pdf')), page.click('#pdf-inline summary')]);
    assert.equal(shown.headers()['content-type'], 'application/pdf', 'the PDF is shown inline');
    await shot(page, '05-invoice-pdf');
    await page.goto(page.url());
    // the first validation starts the validation engine (a JVM): wait for the page, however long that takes here
    await page.click('text=Run validation', { noWaitAfter: true });
    await waitFor('the validation report', async () => (await page.locator('#validation-clean, table.validation').count()) > 0, 180_000);
    assert.equal(await page.locator('table.validation tr.fatal').count(), 0);
    await shot(page, '05-invoice');
    await context.close();
  });

  it('tries a file: the verdict with the rejected line, and nothing is stored', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await signIn(context, 'olga', 'operator-password-1');
    const files = await countFiles(ws);
    await page.goto(`${base}/try`);
    const csv = `${membersCsv(2, 6001)}6999;B.;;Fout;Dorpsstraat;1;3811 AB;Amersfoort;lid6999@example.nl;Senior;geen-bedrag;2027;02-01-2027\n`;
    await page.setInputFiles('input[type=file]', { name: 'contributie_probeer.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.selectOption('select[name=mapping]', 'members-contribution');
    const [answer] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/try') && r.request().method() === 'POST'), page.click('#try-submit')]);
    assert.equal(answer.status(), 200, await answer.text());
    assert.match(await page.locator('.verdict').innerText(), /2 accepted, 1 rejected/);
    const error = await page.locator('table.errors tbody tr').first().innerText();
    assert.match(error, /6999\s+4\b/, `the rejected row with its line: ${error}`);
    await shot(page, '06-try-a-file');
    assert.equal(await countFiles(ws), files, 'nothing stored');
    await context.close();
  });

  it('a viewer sees no retry, and the API refuses it; an action without the CSRF token is refused', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await signIn(context, 'vera', 'viewer-password-1');
    assert.equal(await page.locator('html').getAttribute('lang'), 'nl', "vera's console is in Dutch");
    await page.goto(`${base}/deliveries`);
    assert.equal(await page.locator('#retry-selected').count(), 0, 'no retry button');
    assert.equal(await page.locator('tbody input[type=checkbox]').count(), 0, 'nothing to select');
    await shot(page, '07-viewer-deliveries-nl');
    const id = (await listDeliveries(ws))[0]!.id;
    const token = ((await (await page.request.get(`${base}/api/session`)).json()) as { csrfToken: string }).csrfToken;
    const refused = await page.request.post(`${base}/api/deliveries/retry`, { data: { ids: [id] }, headers: { 'x-csrf-token': token } });
    assert.equal(refused.status(), 403, 'the API refuses a viewer');
    await context.close();

    const operator = await browser.newContext();
    const op = await signIn(operator, 'olga', 'operator-password-1');
    const forged = await op.request.post(`${base}/deliveries/retry`, { form: { id: String(id) }, maxRedirects: 0 });
    assert.equal(forged.status(), 403, 'a form post without the CSRF token is refused');
    await operator.close();
  });

  it('five wrong passwords slow the next attempts down (the login page in the browser’s language)', async () => {
    const context = await browser.newContext({ locale: 'nl-NL' });
    const page = await context.newPage();
    for (let i = 0; i < 5; i++) {
      await page.goto(`${base}/login`);
      await page.fill('input[name=name]', 'gast');
      await page.fill('input[name=password]', `wrong-password-${i}`);
      await page.click('button[type=submit]');
      assert.match(await page.locator('.flash.error').innerText(), /Onbekende naam of verkeerd wachtwoord/);
    }
    await page.goto(`${base}/login`);
    await page.fill('input[name=name]', 'gast');
    await page.fill('input[name=password]', 'guest-password-1');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
      page.click('button[type=submit]'),
    ]);
    assert.equal(response.status(), 429);
    assert.match(await page.locator('.flash.error').innerText(), /Te veel mislukte pogingen/);
    await shot(page, '08-login-slowed-down');
    await context.close();
  });

  it('screenshots of the main pages', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await signIn(context, 'olga', 'operator-password-1');
    for (const [path, name] of [
      ['/files', '09-files'],
      ['/files/1', '10-file'],
      ['/runs', '11-runs'],
      ['/batches', '12-batches'],
      ['/batches/1', '13-batch'],
      ['/configuration', '14-configuration'],
      ['/audit', '15-audit'],
    ] as const) {
      const response = await page.goto(`${base}${path}`);
      assert.equal(response?.status(), 200, path);
      await shot(page, name);
    }
    // a bulk run that is over stays listed, with how it ended (the dead mail was retried and sent)
    await page.goto(`${base}/runs`);
    const finished = page.locator('table.runs-finished tr[data-run]');
    await finished.first().waitFor();
    assert.match(await finished.first().innerText(), /contributie_m\.csv\s+6\s+6 sent/);
    await context.close();
  });
});
