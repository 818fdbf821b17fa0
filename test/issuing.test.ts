import { strict as assert } from 'node:assert';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, SAMPLES } from './helpers/paths.js';
import { filesIn, membersCsv, startService, stopService, todayNl, waitFor, workspace, type Workspace } from './helpers/service.js';
import { countDeliveries, countFiles, countInvoices, listInvoices, numberSeries } from './helpers/ledger-view.js';

const cli = (ws: Workspace, ...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args, '--config', ws.config, '--mappings', ws.mappings], { encoding: 'utf-8', timeout: 180_000 });

/** A customer whose invoices go out as Peppol UBL to a folder, without the Peppol endpoint (BT-49) the rules require. */
const UBL_CUSTOMERS = {
  defaults: { language: 'nl', paymentTermsDays: 30, routes: [{ format: 'ubl', transport: 'folder', target: 'out', profile: 'peppol' }] },
  unknownCustomers: 'default',
  customers: {
    '20001': {
      party: {
        name: 'Drukkerij Visser B.V.',
        vatId: 'NL004495445B01',
        legalId: { id: '30123457', scheme: '0106' },
        address: { line1: 'Kerkstraat 1', city: 'Utrecht', postalCode: '3511 AA', country: 'NL' },
      },
      email: 'inkoop@visser.example',
      debtorCode: '20001',
      routes: [{ format: 'ubl', transport: 'folder', target: 'out', profile: 'peppol' }],
    },
  },
};
/** Access orders for customer 20001 (order numbers from `first`); the price of one can be made bad. */
const accessOrders = (count = 1, first = 50001, badPriceOf?: number) =>
  [
    'Ordernr;Orderdatum;Debiteur;Referentie klant;Regel;Artikel;Omschrijving;Aantal;Eenheid;Prijs excl.;Korting %;BTW %',
    ...Array.from(
      { length: count },
      (_, i) => `${first + i};${todayNl()};20001;PO-${first + i};1;KOF-100;Koffiebonen 1 kg;2;kg;${first + i === badPriceOf ? 'twee' : '14,95'};;9`,
    ),
    '',
  ].join('\r\n');

describe('one issuing path: the same verdict in every mode', function () {
  this.timeout(180_000);
  let service: ChildProcess | undefined;
  afterEach(async () => {
    if (service) await stopService(service);
    service = undefined;
  });

  it('dry-run refuses what the service refuses: a UBL route whose official rules fail (PEPPOL-EN16931-R010)', async () => {
    const ws = workspace({}, UBL_CUSTOMERS);
    const file = join(ws.root, 'orders_noref.csv');
    writeFileSync(file, accessOrders());
    const dry = cli(ws, 'dry-run', file, '--folder', 'access');
    assert.equal(dry.status, 1, `dry-run must refuse it: ${dry.stderr}`);
    assert.match(dry.stderr, /PEPPOL-EN16931-R010/);
    assert.match(dry.stderr, /This was a dry run: nothing was numbered, stored or sent/);
    // the service gives the same verdict
    service = startService(ws);
    writeFileSync(join(ws.inbox, 'access', 'orders_noref.csv'), accessOrders());
    await waitFor('file in error', async () => (await countFiles(ws, 'error')) === 1, 120_000);
    assert.match(readFileSync(join(ws.data, 'error', 'access', 'orders_noref.csv.error.txt'), 'utf-8'), /PEPPOL-EN16931-R010/);
    assert.equal(await countInvoices(ws), 0);
  });

  it('a hybrid PDF is refused before numbering when the UBL inside it breaks the rules, as a UBL route would be', async () => {
    const customers = structuredClone(UBL_CUSTOMERS);
    customers.customers['20001'].routes = [{ format: 'pdf', transport: 'folder', target: 'out', hybrid: true, profile: 'peppol' } as never];
    const ws = workspace({}, customers);
    const file = join(ws.root, 'orders_hybrid.csv');
    writeFileSync(file, accessOrders());
    const dry = cli(ws, 'dry-run', file, '--folder', 'access');
    assert.equal(dry.status, 1, `dry-run must refuse it: ${dry.stderr}`);
    assert.match(dry.stderr, /PEPPOL-EN16931-R010/);
    service = startService(ws);
    writeFileSync(join(ws.inbox, 'access', 'orders_hybrid.csv'), accessOrders());
    await waitFor('file in error', async () => (await countFiles(ws, 'error')) === 1, 120_000);
    assert.match(readFileSync(join(ws.data, 'error', 'access', 'orders_hybrid.csv.error.txt'), 'utf-8'), /PEPPOL-EN16931-R010/);
    assert.equal(await countInvoices(ws), 0);
    assert.deepEqual(await numberSeries(ws), [], 'no number was taken');
  });

  it('a held invoice whose moment comes is checked like any other: refused by the UBL rules, it takes no number', async () => {
    const ws = workspace({}, UBL_CUSTOMERS);
    const mapping = join(ws.mappings, 'webshop-orders.yaml');
    writeFileSync(mapping, readFileSync(mapping, 'utf-8').replace(/send:[^\n]*\n[^\n]*when:[^\n]*\n/, 'send:\n  after: 0m\n'));
    service = startService(ws);
    const sample = JSON.parse(readFileSync(join(SAMPLES, 'webshop', 'orders-20261130-0600.json'), 'utf-8')) as { orders: Record<string, unknown>[] };
    const now = new Date().toISOString();
    // consumers have no Peppol endpoint: PEPPOL-EN16931-R010 refuses the UBL once the order is due
    const order = { ...sample.orders[0]!, created_at: now };
    writeFileSync(join(ws.inbox, 'webshop', 'orders-held.json'), JSON.stringify({ orders: [order] }));
    await waitFor('held invoice rejected when due', async () => (await countInvoices(ws, 'rejected')) === 1, 120_000);
    assert.equal(await countInvoices(ws, 'issued'), 0, 'no number was taken');
    assert.deepEqual(await numberSeries(ws), [], 'no series was advanced');
    assert.equal(await countDeliveries(ws), 0);
    const report = readFileSync(filesIn(join(ws.data, 'error', 'webshop'), (n) => n.endsWith('.error.txt'))[0]!, 'utf-8');
    assert.match(report, /PEPPOL-EN16931-R010/);
    assert.match(report, /held back \(deferred\)/);
  });

  it('run-once with an accounting route writes the batch and exits; a rejected invoice makes it exit 1 with the report path', async () => {
    const customers = structuredClone(UBL_CUSTOMERS);
    customers.customers['20001'].routes = [{ format: 'accountview', transport: 'folder', administration: 'devries' } as never];
    const ws = workspace({}, customers);
    const good = join(ws.root, 'orders_a.csv');
    writeFileSync(good, accessOrders(3));
    const run = cli(ws, 'run-once', good);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const batch = filesIn(join(ws.root, 'data', 'out', 'accounting', 'devries'), (n) => n.startsWith('accountview-') && n.endsWith('.csv'));
    assert.equal(batch.length, 1, 'the accounting file is written before run-once exits');
    assert.match(run.stdout, /deliveries: 3 sent, 0 failed for good/);

    const bad = join(ws.root, 'orders_b.csv');
    writeFileSync(bad, accessOrders(2, 60001, 60002));
    const second = cli(ws, 'run-once', bad);
    assert.equal(second.status, 1, second.stdout);
    const reportPath = /error report: (.+)$/m.exec(second.stdout)?.[1];
    assert.ok(reportPath && existsSync(reportPath), `the error report path is printed: ${second.stdout}`);
    assert.match(readFileSync(reportPath, 'utf-8'), /not a number: "twee"/);
  });
});

describe('a corrected file issues only what was not issued before', function () {
  this.timeout(120_000);
  let service: ChildProcess | undefined;
  afterEach(async () => {
    if (service) await stopService(service);
    service = undefined;
  });
  const withBadPrice = (csv: string) =>
    csv.replace(
      '5002;A.;;Lid 5002;Dorpsstraat;2;3811 AB;Amersfoort;lid5002@example.nl;Senior;215,00',
      '5002;A.;;Lid 5002;Dorpsstraat;2;3811 AB;Amersfoort;lid5002@example.nl;Senior;twee',
    );

  it('drops with one bad line, then the corrected file: the good invoices are not issued twice', async () => {
    const ws = workspace();
    service = startService(ws);
    const first = withBadPrice(membersCsv(3));
    writeFileSync(join(ws.inbox, 'members', 'contributie_1.csv'), first);
    await waitFor('partial', async () => (await countFiles(ws, 'partial')) === 1);
    const report = readFileSync(join(ws.data, 'error', 'members', 'contributie_1.csv.error.txt'), 'utf-8');
    assert.match(report, /are recognised in the corrected file by their key and are not issued again/);
    assert.match(report, /dropped again unchanged is a duplicate/);

    writeFileSync(join(ws.inbox, 'members', 'contributie_1_corrected.csv'), membersCsv(3));
    await waitFor('corrected file done', async () => (await countFiles(ws, 'done')) === 1);
    assert.deepEqual(
      (await listInvoices(ws)).sort((a, b) => (a.number ?? '').localeCompare(b.number ?? '')).map((i) => [i.sourceKey, i.number ?? null]),
      [
        ['5001', 'LID2027-0001'],
        ['5003', 'LID2027-0002'],
        ['5002', 'LID2027-0003'],
      ],
    );
    await waitFor('3 outputs, one per member', () => filesIn(ws.out).length === 3);
    const receipt = JSON.parse(
      readFileSync(filesIn(join(ws.data, 'archive'), (n) => n.startsWith('contributie_1_corrected') && n.endsWith('.receipt.json'))[0]!, 'utf-8'),
    ) as { issued: number; issuedBefore: number; invoices: { key: string; state: string }[] };
    assert.equal(receipt.issued, 1);
    assert.equal(receipt.issuedBefore, 2);
    assert.deepEqual(
      receipt.invoices.map((i) => `${i.key}: ${i.state}`),
      ['5001: issued before as LID2027-0001', '5002: issued', '5003: issued before as LID2027-0002'],
    );

    // the first file once more, unchanged: a duplicate, as its report said
    writeFileSync(join(ws.inbox, 'members', 'contributie_1_again.csv'), first);
    await waitFor('duplicate', async () => (await countFiles(ws, 'duplicate')) === 1);
    assert.equal(await countInvoices(ws), 3);
    // a second failure of the same name keeps the first report
    writeFileSync(join(ws.inbox, 'members', 'contributie_1.csv'), withBadPrice(membersCsv(3, 5001)).replace('5003', '5004'));
    await waitFor('second partial', async () => (await countFiles(ws, 'partial')) === 2);
    assert.deepEqual(
      readdirSync(join(ws.data, 'error', 'members'))
        .filter((n) => n.endsWith('.error.txt'))
        .sort(),
      ['contributie_1.2.csv.error.txt', 'contributie_1.csv.error.txt'],
    );
  });

  it('a mapping with onIssuedBefore: issue-again issues a re-dropped invoice again (a deliberate reissue)', async () => {
    const ws = workspace();
    appendFileSync(join(ws.mappings, 'members-contribution.yaml'), '\nonIssuedBefore: issue-again\n');
    service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_x.csv'), membersCsv(2));
    await waitFor('first done', async () => (await countFiles(ws, 'done')) === 1);
    writeFileSync(join(ws.inbox, 'members', 'contributie_y.csv'), `${membersCsv(2)}\n`);
    await waitFor('second done', async () => (await countFiles(ws, 'done')) === 2);
    assert.equal(await countInvoices(ws, 'issued'), 4);
  });

  it("next season's run for the same members is a new invoice: the invoicing period is part of the key", async () => {
    const ws = workspace();
    service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_2027.csv'), membersCsv(2, 5001, '2027'));
    await waitFor('first done', async () => (await countFiles(ws, 'done')) === 1);
    writeFileSync(join(ws.inbox, 'members', 'contributie_2026.csv'), membersCsv(2, 5001, '2026'));
    await waitFor('second done', async () => (await countFiles(ws, 'done')) === 2);
    assert.equal(await countInvoices(ws, 'issued'), 4);
  });
});
