import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadYaml } from '../src/config/yaml-file.js';
import type { AdministrationConfig } from '../src/formats/accounting/admin.js';
import { importFile, neutraliseFormula, type AccountingFormat } from '../src/formats/accounting/batch.js';
import { ExportError } from '../src/formats/accounting/admin.js';
import Database from 'better-sqlite3';
import type { CalculatedInvoice } from '../src/model/invoice.js';
import { checkXsd, type XsdVerdict } from '../src/service/xsd-check.js';
import { standardsHome } from '../src/validation/artefacts.js';
import { prepareAll } from './helpers/config.js';
import { CLI, GOLDEN, ROOT, SAMPLES } from './helpers/paths.js';
import { filesIn, membersAreCustomers, membersCsv, startService, stopService, waitFor, workspace } from './helpers/service.js';
import { bookedNumbers, countDeliveries, listEvents } from './helpers/ledger-view.js';

const require = createRequire(import.meta.url);
const { validateXML } = require('xsd-schema-validator') as { validateXML(xml: string, schema: string): Promise<{ valid: boolean }> };
const admin = loadYaml<{ administrations: Record<string, AdministrationConfig> }>(join(ROOT, 'config', 'accounting.yaml'), 'accounting').value.administrations[
  'devries'
]!;
const ctx = { name: 'devries', admin, debtorCodes: {} };

/** Our sample invoices: 9% and 21% lines, a reverse-charge invoice, a credit note, an exempt member invoice. */
async function sampleInvoices(): Promise<CalculatedInvoice[]> {
  const out: CalculatedInvoice[] = [];
  let n = 0;
  for (const sample of ['access/orders_20261130.csv', 'erp/facturen_20261130.xml']) {
    const file = join(SAMPLES, sample);
    for (const item of await prepareAll(file, undefined, { folder: basename(dirname(file)) })) {
      if (item.ok) out.push({ ...item.invoice, number: item.invoice.number ?? `2026-${String(++n).padStart(5, '0')}` });
    }
  }
  return out;
}

describe('accounting import files', function () {
  this.timeout(120_000);

  for (const format of ['exact-online', 'exact-globe', 'accountview'] as AccountingFormat[]) {
    it(`${format}: golden file (credit note, reverse charge, 9% and 21%)${format.startsWith('exact') ? ', valid against the Exact XSD' : ''}`, async () => {
      const file = importFile(format, await sampleInvoices(), ctx);
      const golden = join(GOLDEN, 'accounting', `${format}.${file.extension}`);
      if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(golden, file.content);
      assert.ok(existsSync(golden), `golden file missing: ${golden}`);
      assert.equal(file.content.toString('latin1'), readFileSync(golden).toString('latin1'));
      assert.equal(file.summary.entries, 6);
      assert.equal(file.summary.totalVat, '412.44', 'VAT of all invoices, the credit note subtracted');
      if (format !== 'accountview') {
        const xsd = join(standardsHome(), 'exact', format === 'exact-online' ? 'exact-online-eExact-XML.xsd' : 'exact-globe-eExact-Schema.xsd');
        assert.equal((await validateXML(file.content.toString('utf-8'), xsd)).valid, true);
      }
    });
  }

  it('refuses what cannot be expressed instead of cutting it: a long invoice number, a VAT rate without a code', async () => {
    const [first] = await sampleInvoices();
    assert.throws(
      () => importFile('accountview', [{ ...first!, number: '2026-000000001' }], ctx),
      (e: unknown) => e instanceof ExportError && /longer than AccountView's 12 characters/.test(e.message),
    );
    const odd = {
      ...first!,
      lines: first!.lines.map((l) => ({ ...l, vatRate: '13' })),
      vatBreakdown: [{ category: 'S' as const, rate: '13', taxableAmount: '1.00', taxAmount: '0.13' }],
    };
    assert.throws(() => importFile('exact-online', [odd], ctx), /no VAT code for category S at 13%/);
  });

  it('the Exact XSD check whose JVM dies says so and leaves the gateway running (no stray pipe error)', async () => {
    const schema = join(standardsHome(), 'exact', 'exact-online-eExact-XML.xsd');
    // a document big enough that the JVM is still reading it when it is killed
    const xml = `<?xml version="1.0"?><eExact>${'<GLTransactions>'.repeat(1)}${'<!-- filler -->'.repeat(400_000)}</GLTransactions></eExact>`;
    const checking = checkXsd(xml, schema);
    let verdict: XsdVerdict | undefined;
    void checking.then((v) => (verdict = v));
    while (!verdict) {
      spawnSync('pkill', ['-KILL', '-f', 'support.XMLValidator']);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok('failed' in verdict || 'valid' in verdict, JSON.stringify(verdict));
    // a check afterwards runs normally: the process lives on
    assert.deepEqual(await checkXsd('<eExact xmlns="urn:x"/>', schema).then((v) => 'failed' in v), false);
  });

  it('neutralises CSV formula injection', () => {
    for (const bad of ['=HYPERLINK("x")', '+31 6', '-2+3', '@SUM(A1)']) assert.equal(neutraliseFormula(bad), `'${bad}`);
    assert.equal(neutraliseFormula('Koffie'), 'Koffie');
  });

  it('200 invoices across two administrations: two files per run, summary totals equal the invoices, nothing exported twice, reexport explicit', async () => {
    const customers = {
      defaults: { paymentTermsDays: 30, routes: [{ format: 'exact-online', transport: 'folder', administration: 'devries' }] },
      customers: {},
    };
    const ws = workspace({}, customers);
    const acc = parse(readFileSync(join(ws.config, 'accounting.yaml'), 'utf-8')) as { administrations: Record<string, AdministrationConfig> };
    acc.administrations['devries']!.pickupFolder = join(ws.out, 'devries');
    acc.administrations['lobbers'] = { ...acc.administrations['devries']!, pickupFolder: join(ws.out, 'lobbers'), journal: '80' };
    writeFileSync(join(ws.config, 'accounting.yaml'), stringify(acc));
    // members of the club go to the club's own administration
    const mapping = join(ws.mappings, 'members-contribution.yaml');
    writeFileSync(mapping, readFileSync(mapping, 'utf-8'));
    const custFile = join(ws.config, 'customers.yaml');
    const byAdmin = (n: number, admin: string) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [
          String(admin === 'devries' ? 7000 + i : 8000 + i),
          {
            party: { name: `Lid ${i}`, address: { city: 'Amersfoort', country: 'NL' } },
            debtorCode: `D${admin === 'devries' ? 7000 + i : 8000 + i}`,
            routes: [{ format: 'exact-online', transport: 'folder', administration: admin }],
          },
        ]),
      );
    writeFileSync(custFile, stringify({ ...customers, customers: { ...byAdmin(120, 'devries'), ...byAdmin(80, 'lobbers') } }));
    const csv = (first: number, count: number) =>
      membersCsv(count, first)
        .replace(/^(\d+);/gm, (m) => m)
        .replace('Lidnummer;', 'Lidnummer;');
    const membersMapping = readFileSync(mapping, 'utf-8').replace(
      '  buyerReference: { template: "Lid {Lidnummer}" }',
      '  buyerReference: { template: "Lid {Lidnummer}" }\n  customer: { column: Lidnummer }',
    );
    writeFileSync(mapping, membersMapping);
    let service = startService(ws);
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_a.csv'), csv(7000, 120));
      writeFileSync(join(ws.inbox, 'members', 'contributie_b.csv'), csv(8000, 80));
      await waitFor('200 exported', async () => (await bookedNumbers(ws)).length === 200, 60_000, 100);
    } finally {
      await stopService(service);
    }
    const xml = (admin: string) => filesIn(join(ws.out, admin), (n) => n.endsWith('.xml'));
    assert.equal(xml('devries').length + xml('lobbers').length >= 2, true);
    const summaries = [
      ...filesIn(join(ws.out, 'devries'), (n) => n.endsWith('.summary.txt')),
      ...filesIn(join(ws.out, 'lobbers'), (n) => n.endsWith('.summary.txt')),
    ].map((p) => readFileSync(p, 'utf-8'));
    const entries = summaries.reduce((n, s) => n + Number(/Entries: (\d+)/.exec(s)![1]), 0);
    const totals = summaries.reduce((n, s) => n + Number(/Total excl. VAT: ([\d.]+)/.exec(s)![1]!.replace('.', '')), 0);
    assert.equal(entries, 200);
    assert.equal(totals, 200 * 21500, 'the summaries add up to the invoices (200 × 215.00, in cents)');
    assert.equal(xml('devries').length, 1, 'one file per run for devries');
    assert.equal(xml('lobbers').length, 1, 'one file per run for lobbers');

    // a second run exports nothing twice
    service = startService(ws);
    await new Promise((r) => setTimeout(r, 2500));
    await stopService(service);
    assert.equal(xml('devries').length + xml('lobbers').length, 2);

    // an explicit reexport puts one invoice in the next file, and is logged
    const [booked] = await bookedNumbers(ws, 'lobbers');
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        'reexport',
        booked!,
        '--format',
        'exact-online',
        '--administration',
        'lobbers',
        '--reason',
        'import failed',
        '--config',
        ws.config,
        '--mappings',
        ws.mappings,
      ],
      { encoding: 'utf-8' },
    );
    assert.equal(r.status, 0, r.stderr);
    service = startService(ws);
    try {
      await waitFor('a third file', () => xml('lobbers').length === 2, 30_000);
    } finally {
      await stopService(service);
    }
    assert.match(JSON.stringify((await listEvents(ws, 'reexport'))[0]?.detail), /import failed/);
  });

  it('a crash between writing the file and recording it: finished on restart, no second file', async () => {
    const route = { format: 'accountview', transport: 'folder', administration: 'devries' };
    const members = Object.fromEntries(
      Array.from({ length: 5 }, (_, i) => [String(5001 + i), { party: { name: `Lid ${i}`, address: { city: 'Amersfoort', country: 'NL' } }, routes: [route] }]),
    );
    const ws = workspace({}, { defaults: { paymentTermsDays: 30, routes: [route] }, customers: members });
    membersAreCustomers(ws);
    const acc = parse(readFileSync(join(ws.config, 'accounting.yaml'), 'utf-8')) as { administrations: Record<string, AdministrationConfig> };
    acc.administrations['devries']!.pickupFolder = join(ws.out, 'devries');
    writeFileSync(join(ws.config, 'accounting.yaml'), stringify(acc));
    // run once so invoices and deliveries exist, then simulate the crash: a batch recorded, its file written, not finished
    let service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_c.csv'), membersCsv(5).replace(/;Amersfoort;/g, ';Amersfoort;'));
    await waitFor('exported', async () => (await bookedNumbers(ws)).length === 5, 30_000);
    await stopService(service);
    const files = filesIn(join(ws.out, 'devries'), (n) => n.endsWith('.csv'));
    assert.equal(files.length, 1);
    // roll the ledger back to "file written, not recorded"
    const db = new Database(join(ws.data, 'ledger.sqlite'));
    db.exec(
      "DELETE FROM exports; UPDATE export_batches SET state = 'writing', finished_at = NULL; UPDATE deliveries SET state = 'sending', result = NULL, sent_at = NULL;",
    );
    db.close();
    service = startService(ws);
    try {
      await waitFor('recovered', async () => (await bookedNumbers(ws)).length === 5, 30_000);
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await stopService(service);
    }
    assert.equal(filesIn(join(ws.out, 'devries'), (n) => n.endsWith('.csv')).length, 1, 'no second file');
    assert.equal(await countDeliveries(ws, 'sent'), 5);
  });
});
