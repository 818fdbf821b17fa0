import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, tempDir } from './helpers/paths.js';
import { filesIn, stopService, waitFor } from './helpers/service.js';
import { freePort } from './helpers/net.js';
import { ApiClient } from './helpers/console.js';
import { buildOfficialMirror, MirrorServer } from './helpers/artefact-mirror.js';
import { standardsHome } from '../src/validation/artefacts.js';
import { manifest } from '../src/validation/manifest.js';

/** An amount as shown, in Dutch ("€ 1.234,50", "€ -5,00") or English ("€1,234.50", "-€5.00") notation, as cents. */
function cents(shown: string, language: 'nl' | 'en'): number {
  const digits = shown.replace(/[€\s]/g, '');
  const plain = language === 'nl' ? digits.replace(/\./g, '').replace(',', '.') : digits.replace(/,/g, '');
  return Math.round(Number(plain) * 100);
}

/**
 * The console's invoice page shows every amount of the PDF, in the PDF's order, and they add up: the
 * subtotal with the document's charges and discounts to the total excluding VAT, the VAT per rate to
 * the total including VAT, what was paid already to what is due. (The console speaks the reader's
 * language, here English; the PDF the customer's, Dutch: the amounts are the same.)
 */
async function theInvoicePageShowsWhatThePdfShows(base: string, cookie: string, number: string): Promise<void> {
  const found = (await (await fetch(`${base}/api/invoices?number=${number}`, { headers: { cookie } })).json()) as { items: { id: number }[] };
  const id = found.items[0]!.id;
  const html = await (await fetch(`${base}/invoices/${id}`, { headers: { cookie } })).text();
  const rows = [
    ...html.matchAll(
      /<tr class="total( strong)?"><td colspan="6">(?:<b>)?(.*?)(?:<\/b>)?<\/td><td class="num" data-total="\d+">(?:<b>)?(.*?)(?:<\/b>)?<\/td><\/tr>/g,
    ),
  ].map((m) => ({ label: m[2]!, cents: cents(m[3]!, 'en') }));
  const labels = rows.map((r) => r.label);
  const at = (label: string) => labels.indexOf(label);
  for (const shown of ['Subtotal', 'Total excl. VAT', 'Total incl. VAT', 'Amount due']) assert.ok(at(shown) >= 0, `${shown} in ${labels.join(' | ')}`);
  assert.ok(at('Total excl. VAT') > at('Subtotal') + 1, `the order's charges and discounts are shown: ${labels.join(' | ')}`);
  const sum = (from: number, to: number) => rows.slice(from, to).reduce((s, r) => s + r.cents, 0);
  assert.equal(sum(at('Subtotal'), at('Total excl. VAT')), rows[at('Total excl. VAT')]!.cents, 'subtotal, charges and discounts add up');
  assert.equal(sum(at('Total excl. VAT'), at('Total incl. VAT')), rows[at('Total incl. VAT')]!.cents, 'VAT per rate adds up');
  assert.equal(sum(at('Total incl. VAT'), at('Amount due')), rows[at('Amount due')]!.cents, 'what was paid already, and what is due');
  // the PDF's rows from its subtotal to what is due: the same amounts, in the same order
  const pdf = join(tempDir('igw-demo-pdf-'), `${number}.pdf`);
  writeFileSync(pdf, Buffer.from(await (await fetch(`${base}/invoices/${id}/pdf`, { headers: { cookie } })).arrayBuffer()));
  const lines = spawnSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf-8' }).stdout.split('\n');
  const from = lines.findIndex((l) => /^\s*Subtotaal\s/.test(l));
  const to = lines.findIndex((l, i) => i > from && /^\s*Te betalen\s/.test(l));
  const inPdf = lines
    .slice(from, to + 1)
    .map((l) => /(€\s?-?[\d.,]+)\s*$/.exec(l)?.[1])
    .filter((a): a is string => a !== undefined)
    .map((a) => cents(a, 'nl'));
  assert.deepEqual(
    rows.map((r) => r.cents),
    inPdf,
    'the console and the PDF show the same amounts in the same order',
  );
}

/**
 * The README's first command: `npm start` runs `invoice-gateway run --demo` on the bundled samples with the
 * embedded defaults. Here on a copy of config/ and mappings/, so that its data/demo is the test's own.
 */
describe('the demo (npm start) on the bundled inbox-sample', function () {
  this.timeout(180_000);

  it('on a machine with nothing installed and only a local mirror (STANDARDS_MIRROR): installs the artefacts, then processes every sample file: mails, UBL in the SFTP folders, accounting files, nothing failed', async () => {
    const root = tempDir('igw-demo-');
    // the official downloads, as their publishers ship them, on a web server on 127.0.0.1
    const mirrorDir = tempDir('igw-demo-mirror-');
    await buildOfficialMirror(mirrorDir);
    const mirror = new MirrorServer(mirrorDir);
    await mirror.start();
    cpSync(join(ROOT, 'config'), join(root, 'config'), { recursive: true });
    cpSync(join(ROOT, 'mappings'), join(root, 'mappings'), { recursive: true });
    const args = ['--config', join(root, 'config'), '--mappings', join(root, 'mappings')];
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'run', '--demo', '--quiet', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, IGW_CONSOLE_PORT: String(port), STANDARDS_HOME: join(root, 'standards'), STANDARDS_MIRROR: mirror.url },
    });
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const demo = join(root, 'data', 'demo');
    const status = (): { files: Record<string, number>; invoices: Record<string, number>; deliveries: Record<string, number> } | undefined => {
      if (!existsSync(join(demo, 'ledger.sqlite'))) return undefined;
      const run = spawnSync(process.execPath, [CLI, 'status', '--demo', '--json', ...args], { cwd: root, encoding: 'utf-8' });
      return run.status === 0 ? JSON.parse(run.stdout) : undefined;
    };
    try {
      // everything that can go now has gone: only the webshop order that has not shipped is held back
      await waitFor(
        'the demo to finish',
        () => {
          const s = status();
          const pending = Object.entries(s?.deliveries ?? {}).filter(([state]) => state !== 'sent').length;
          return (
            s && s.files['done'] === 6 && (s.deliveries['sent'] ?? 0) > 300 && pending === 0 && filesIn(join(demo, 'out', 'accounting', 'devries')).length === 6
          );
        },
        150_000,
        500,
      );
      // the console is on, and the printed link signs in once
      const link = /^console: (http:\/\/127\.0\.0\.1:\d+\/login\/once\/\S+)$/m.exec(stdout)?.[1];
      assert.ok(link !== undefined && link.includes(`:${port}/`), stdout);
      const signedIn = await fetch(link, { redirect: 'manual' });
      assert.equal(signedIn.status, 302);
      const cookie = signedIn.headers.getSetCookie()[0]!.split(';')[0]!;
      const overview = await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie } });
      assert.equal(overview.status, 200);
      assert.match(await overview.text(), /<h1>Overview/);
      assert.equal((await fetch(link, { redirect: 'manual' })).status, 410, 'the link works once');
      await theInvoicePageShowsWhatThePdfShows(`http://127.0.0.1:${port}`, cookie, '2026-00001');
      // signed out (the link is spent), someone can still get in: a user of the running demo's console
      const added = spawnSync(process.execPath, [CLI, 'console-user', 'add', 'anna', '--role', 'operator', '--password-stdin', '--demo', ...args], {
        cwd: root,
        input: 'demo-password-1\n',
        encoding: 'utf-8',
      });
      assert.equal(added.status, 0, added.stderr);
      const anna = new ApiClient(`http://127.0.0.1:${port}`);
      assert.equal(await anna.login('anna', 'demo-password-1'), 200);
    } finally {
      await stopService(child);
      await mirror.stop();
    }
    assert.match(stdout, /^demo: 6 sample files copied into data\/demo\/inbox/);
    const components = Object.keys(manifest().components).length;
    assert.match(stdout, new RegExp(`^validation artefacts: ${components} components installed into .*standards, every file checked by SHA-256$`, 'm'));
    const s = status()!;
    assert.deepEqual(s.files, { done: 6 });
    assert.equal(s.invoices['held'], 1, 'the webshop order that has not shipped yet waits');
    const mails = filesIn(join(demo, 'out', 'mail')).map((p) => p.split('/').pop()!);
    assert.ok(mails.length > 300, `${mails.length} mails`);
    assert.ok(mails.includes('devries.OFF2026-0001.pdf-email-1.eml') && mails.includes('lobbers.LID2027-0001.pdf-email-1.eml'));
    // the pickup copy keeps the archive Bcc for the server that sends it (the envelope is in the headers)
    assert.match(readFileSync(join(demo, 'out', 'mail', 'lobbers.LID2027-0001.pdf-email-1.eml'), 'utf-8'), /^Bcc: archief@/m);
    assert.ok(filesIn(join(demo, 'out', 'sftp', 'jansen'), (n) => n.endsWith('.xml')).length >= 3);
    assert.equal(filesIn(join(demo, 'out', 'sftp', 'gemeente'), (n) => n.endsWith('.xml')).length, 1);
    const accounting = filesIn(join(demo, 'out', 'accounting', 'devries')).map((p) => p.split('/').pop()!);
    for (const kind of ['exact-online', 'exact-globe', 'accountview'])
      assert.equal(accounting.filter((n) => n.startsWith(kind) && !n.endsWith('.summary.txt')).length, 1, kind);
    assert.equal(existsSync(join(demo, 'error')) ? filesIn(join(demo, 'error')).length : 0, 0, 'no sample file is refused');
  });

  it('without the validation artefacts: one paragraph says so, UBL-routed files wait (none refused) and go on once they are installed', async () => {
    const root = tempDir('igw-demo-bare-');
    cpSync(join(ROOT, 'config'), join(root, 'config'), { recursive: true });
    cpSync(join(ROOT, 'mappings'), join(root, 'mappings'), { recursive: true });
    const args = ['--config', join(root, 'config'), '--mappings', join(root, 'mappings')];
    // a machine with nothing installed and no source of the artefacts
    const nowhere = tempDir('igw-empty-mirror-');
    const env = { ...process.env, STANDARDS_HOME: join(root, 'standards'), STANDARDS_MIRROR: nowhere, IGW_CONSOLE_PORT: String(await freePort()) };
    const child = spawn(process.execPath, [CLI, 'run', '--demo', '--quiet', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const demo = join(root, 'data', 'demo');
    const status = (): { files: Record<string, number> } | undefined => {
      if (!existsSync(join(demo, 'ledger.sqlite'))) return undefined;
      const run = spawnSync(process.execPath, [CLI, 'status', '--demo', '--json', ...args], { cwd: root, encoding: 'utf-8', env });
      return run.status === 0 ? JSON.parse(run.stdout) : undefined;
    };
    const refused = () => (existsSync(join(demo, 'error')) ? filesIn(join(demo, 'error')).length : 0);
    try {
      await waitFor('the paragraph', () => stderr.includes('are not installed'));
      assert.match(stderr, /files whose invoices go out as UBL wait in the inbox/);
      assert.match(stderr, /npx invoice-gateway install-standards --from/);
      await waitFor('the files without a UBL route processed', () => (status()?.files['done'] ?? 0) >= 2, 120_000, 500);
      assert.equal(refused(), 0, 'nothing refused for a missing installation');
      // the machine's own source (CI: the shared offline mirror), else the copy this checkout has installed (laid out as installed)
      const source = process.env['STANDARDS_MIRROR'] || standardsHome();
      const install = spawnSync(process.execPath, [CLI, 'install-standards', '--from', source], { encoding: 'utf-8', env });
      assert.equal(install.status, 0, install.stderr);
      await waitFor('every sample file done once the artefacts are there', () => status()?.files['done'] === 6, 150_000, 500);
    } finally {
      await stopService(child);
    }
    assert.equal(refused(), 0, 'no sample file is refused');
  });
});
