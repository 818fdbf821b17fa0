import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { CLI, SAMPLES } from './helpers/paths.js';
import { filesIn, membersCsv, startService, stopService, waitFor, workspace, type Workspace } from './helpers/service.js';
import { countDeliveries, countFiles, countInvoices, invoiceNumbers, listDeliveries, listEvents, listInvoices, waitForLedger } from './helpers/ledger-view.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const outputs = (ws: Workspace) => filesIn(ws.out, (n) => n.endsWith('.json'));

describe('gateway service (real files, real processes)', function () {
  this.timeout(60_000);
  let ws: Workspace;
  let service: ChildProcess | undefined;

  afterEach(async () => {
    if (service) await stopService(service);
    service = undefined;
  });

  it('takes a file written slowly in chunks only when it is complete', async () => {
    ws = workspace({ watch: { stableFor: '600ms', rescanEvery: '1s', emptyFileTimeout: '1s' } });
    service = startService(ws);
    const text = membersCsv(40);
    const path = join(ws.inbox, 'members', 'contributie_slow.csv');
    const fd = openSync(path, 'w');
    for (let i = 0; i < 8; i++) {
      writeSync(fd, text.slice((i * text.length) / 8, ((i + 1) * text.length) / 8));
      await sleep(200);
    }
    closeSync(fd);
    await waitFor('file archived', async () => (await countFiles(ws, 'done')) === 1);
    assert.equal(await countInvoices(ws), 40, 'all 40 members, not a prefix of the file');
    assert.equal(await countFiles(ws), 1);
  });

  it('ignores a temporary name and takes the file after the rename', async () => {
    ws = workspace();
    service = startService(ws);
    const tmp = join(ws.inbox, 'members', 'contributie_a.csv.tmp');
    writeFileSync(tmp, membersCsv(5));
    // A file written after the .tmp one shows that the watcher has looked at the folder since.
    writeFileSync(join(ws.inbox, 'members', 'contributie_later.csv'), membersCsv(1, 6001));
    await waitFor('the later file archived', async () => (await countFiles(ws, 'done')) === 1);
    assert.equal(await countFiles(ws), 1, 'a .tmp file is never taken');
    renameSync(tmp, join(ws.inbox, 'members', 'contributie_a.csv'));
    await waitFor('file archived', async () => (await countFiles(ws, 'done')) === 2);
    await waitFor('6 outputs', () => outputs(ws).length === 6);
  });

  it('an invoice number with a slash (EN 16931 allows any text) is kept in the invoice, and its file is named safely in the target folder', async () => {
    const route = { format: 'json', transport: 'folder', target: 'out' };
    const party = { name: 'Drukkerij Visser B.V.', address: { line1: 'Kerkstraat 1', city: 'Utrecht', postalCode: '3511 AA', country: 'NL' } };
    ws = workspace({}, { defaults: { paymentTermsDays: 30, routes: [route] }, customers: { '10003': { party, routes: [route] } } });
    service = startService(ws);
    writeFileSync(
      join(ws.inbox, 'erp', 'facturen_slash.xml'),
      '<Facturen><Factuur nummer="2026/0042" soort="FACTUUR"><Datum>2026-11-27</Datum><Vervaldatum>2026-12-27</Vervaldatum><Debiteur code="10003"/><Regels><Regel nr="1"><Omschrijving>Pen</Omschrijving><Aantal eenheid="C62">1</Aantal><Prijs>1.00</Prijs><Btw code="HOOG" perc="21"/></Regel></Regels></Factuur></Facturen>',
    );
    await waitFor('the output', () => outputs(ws).length === 1);
    const [output] = outputs(ws);
    assert.equal(basename(output!), '2026~2F0042.json');
    assert.equal(dirname(output!), ws.out, 'in the target folder, not in a folder the number names');
    assert.equal((JSON.parse(readFileSync(output!, 'utf-8')) as { number: string }).number, '2026/0042');
    assert.deepEqual(await invoiceNumbers(ws), ['2026/0042']);
  });

  it('handles 500 files dropped at once: each once, numbers without gaps, every output delivered', async () => {
    ws = workspace();
    service = startService(ws);
    for (let i = 0; i < 500; i++) writeFileSync(join(ws.inbox, 'members', `contributie_${i}.csv`), membersCsv(1, 10000 + i));
    await waitFor('500 files archived', async () => (await countFiles(ws, 'done')) === 500, 60_000);
    const numbers = await invoiceNumbers(ws);
    assert.equal(numbers.length, 500);
    assert.deepEqual(
      numbers,
      Array.from({ length: 500 }, (_, i) => `LID2027-${String(i + 1).padStart(4, '0')}`),
    );
    await waitFor('500 outputs', () => outputs(ws).length === 500, 30_000);
    assert.equal(filesIn(join(ws.inbox, 'members')).length, 0, 'nothing left in the inbox');
  });

  it('sends the same file twice only once: the second goes to duplicates/ with a note', async () => {
    ws = workspace();
    service = startService(ws);
    const text = membersCsv(3);
    writeFileSync(join(ws.inbox, 'members', 'contributie_x.csv'), text);
    await waitFor('first processed', async () => (await countFiles(ws, 'done')) === 1);
    writeFileSync(join(ws.inbox, 'members', 'contributie_x.csv'), text);
    await waitFor('second marked duplicate', async () => (await countFiles(ws, 'duplicate')) === 1);
    const notes = filesIn(join(ws.data, 'duplicates'), (n) => n.endsWith('.duplicate.txt'));
    assert.equal(notes.length, 1);
    assert.match(readFileSync(notes[0]!, 'utf-8'), /same content .* as contributie_x.csv/);
    await waitFor('3 outputs', () => outputs(ws).length === 3);
    await sleep(500);
    assert.equal(outputs(ws).length, 3);
    assert.equal(await countInvoices(ws), 3);
  });

  it('waits for the done-marker of a source that writes one', async () => {
    ws = workspace({ watch: { stableFor: '200ms', rescanEvery: '1s', emptyFileTimeout: '1s', doneMarkers: ['members-contribution'] } });
    service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(2));
    // A later file with its marker shows that the watcher has looked at the folder since.
    writeFileSync(join(ws.inbox, 'members', 'contributie_later.csv'), membersCsv(1, 6001));
    writeFileSync(join(ws.inbox, 'members', 'contributie_later.csv.done'), '');
    await waitFor('the marked file processed', async () => (await countFiles(ws, 'done')) === 1);
    assert.equal(await countFiles(ws), 1, 'no marker, no claim');
    writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv.done'), '');
    await waitFor('processed', async () => (await countFiles(ws, 'done')) === 2);
    await waitFor('marker removed', () => !existsSync(join(ws.inbox, 'members', 'contributie_m.csv.done')));
  });

  it('moves a bad file to error/ with a report for people and one for tools, and keeps running', async () => {
    ws = workspace();
    service = startService(ws);
    writeFileSync(join(ws.inbox, 'erp', 'facturen_bad.xml'), '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<Facturen/>');
    writeFileSync(join(ws.inbox, 'members', 'contributie_empty.csv'), '');
    await waitFor('both in error', async () => (await countFiles(ws, 'error')) === 2, 15_000);
    const text = readFileSync(join(ws.data, 'error', 'erp', 'facturen_bad.xml.error.txt'), 'utf-8');
    assert.match(text, /line 2: XML with a <!DOCTYPE> declaration is refused/);
    const json = JSON.parse(readFileSync(join(ws.data, 'error', 'erp', 'facturen_bad.xml.error.json'), 'utf-8')) as {
      rejected: { errors: { code: string; line: number }[] }[];
    };
    assert.equal(json.rejected[0]!.errors[0]!.line, 2);
    assert.ok(existsSync(join(ws.data, 'error', 'erp', 'facturen_bad.xml')), 'the file itself is kept in error/');
    assert.match(readFileSync(join(ws.data, 'error', 'members', 'contributie_empty.csv.error.txt'), 'utf-8'), /the file is empty/);
    writeFileSync(join(ws.inbox, 'members', 'contributie_ok.csv'), membersCsv(1));
    await waitFor('still processing files', async () => (await countFiles(ws, 'done')) === 1);
  });

  it('issues the good invoices of a file with one bad one, and reports the bad one', async () => {
    ws = workspace();
    service = startService(ws);
    const text = membersCsv(3).replace(
      '5002;A.;;Lid 5002;Dorpsstraat;2;3811 AB;Amersfoort;lid5002@example.nl;Senior;215,00',
      '5002;A.;;Lid 5002;Dorpsstraat;2;3811 AB;Amersfoort;lid5002@example.nl;Senior;twee',
    );
    writeFileSync(join(ws.inbox, 'members', 'contributie_p.csv'), text);
    await waitFor('partial', async () => (await countFiles(ws, 'partial')) === 1);
    assert.equal(await countInvoices(ws), 2);
    const report = readFileSync(join(ws.data, 'error', 'members', 'contributie_p.csv.error.txt'), 'utf-8');
    assert.match(report, /Invoice 5002.*:\n {2}- line 3, column 'Contributie', field lines\[0\]\.netPrice: not a number: "twee"/);
    const receipt = JSON.parse(readFileSync(filesIn(join(ws.data, 'archive'), (n) => n.endsWith('.receipt.json'))[0]!, 'utf-8')) as {
      issued: number;
      rejected: number;
    };
    assert.deepEqual([receipt.issued, receipt.rejected], [2, 1]);
  });

  it('holds the whole file when configured to (hold-file)', async () => {
    ws = workspace({ onRejectedInvoice: 'hold-file' });
    service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_h.csv'), membersCsv(3).replace(';215,00;2027;02-01-2027\n', ';215,00;2027;31-02-2027\n'));
    await waitFor('error', async () => (await countFiles(ws, 'error')) === 1);
    assert.equal(await countInvoices(ws), 0);
    assert.match(readFileSync(join(ws.data, 'error', 'members', 'contributie_h.csv.error.txt'), 'utf-8'), /hold-file: none of the 2 good invoice\(s\)/);
  });

  it('retries a failing delivery with back-off until the target works, then delivers once', async () => {
    ws = workspace();
    writeFileSync(ws.out, 'a file where a folder should be'); // the target cannot be written: ENOTDIR / EEXIST
    service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_r.csv'), membersCsv(1));
    await waitFor('failed at least twice', async () => (await listDeliveries(ws, { state: 'failed' })).some((d) => d.attempts >= 2));
    const [delivery] = await listDeliveries(ws);
    assert.match(delivery!.lastError!, /cannot write to/);
    const st = spawnSync(process.execPath, [CLI, 'status', '--config', ws.config, '--mappings', ws.mappings], { encoding: 'utf-8' });
    assert.match(st.stdout, /recent failures:\n {2}delivery #1 invoice LID2027-0001 json-folder-1: failed after \d attempt/);
    rmSync(ws.out);
    await waitFor('sent', async () => (await countDeliveries(ws, 'sent')) === 1, 20_000);
    assert.equal(outputs(ws).length, 1);
  });

  it('holds a webshop order until a later drop says it shipped, then numbers and sends it', async () => {
    ws = workspace();
    service = startService(ws);
    const sample = readFileSync(join(SAMPLES, 'webshop', 'orders-20261130-0600.json'), 'utf-8');
    writeFileSync(join(ws.inbox, 'webshop', 'orders-1.json'), sample);
    await waitFor('file done', async () => (await countFiles(ws, 'done')) === 1);
    assert.deepEqual(
      (await listInvoices(ws)).map((i) => [i.sourceKey, i.state, i.number ? 'numbered' : null]),
      [
        ['WS-100231', 'issued', 'numbered'],
        ['WS-100232', 'held', null],
        ['WS-100233', 'issued', 'numbered'],
      ],
    );
    const later = { ...JSON.parse(sample), orders: [{ ...JSON.parse(sample).orders[1], status: 'shipped' }] };
    writeFileSync(join(ws.inbox, 'webshop', 'orders-2.json'), JSON.stringify(later));
    await waitFor('held one issued', async () => (await countInvoices(ws, 'issued')) === 3);
    const numbers = await invoiceNumbers(ws);
    assert.deepEqual(numbers, ['2026-00001', '2026-00002', '2026-00003'], 'the held order got the next number when it was issued');
    await waitFor('3 outputs', () => outputs(ws).length === 3);
    // the drop that issued it says so
    await waitFor('the second drop done', async () => (await countFiles(ws, 'done')) === 2);
    const processed = readFileSync(join(ws.data, 'gateway.log'), 'utf-8')
      .split('\n')
      .filter((l) => l.includes('"message":"file processed"') && l.includes('orders-2.json'));
    assert.match(processed[0] ?? '', /"issued":1\b/);
  });

  it('resends an invoice only when asked, and logs it', async () => {
    ws = workspace();
    service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_s.csv'), membersCsv(1));
    await waitFor('sent', () => outputs(ws).length === 1);
    const r = spawnSync(
      process.execPath,
      [CLI, 'resend', 'LID2027-0001', '--reason', 'member lost the mail', '--config', ws.config, '--mappings', ws.mappings],
      { encoding: 'utf-8' },
    );
    assert.equal(r.status, 0, r.stderr);
    await waitFor('resent copy', () => outputs(ws).length === 2);
    assert.deepEqual(
      outputs(ws)
        .map((p) => basename(p))
        .sort(),
      ['LID2027-0001-resend-1.json', 'LID2027-0001.json'],
    );
    assert.match(JSON.stringify((await listEvents(ws, 'resend'))[0]?.detail), /member lost the mail/);
  });

  it('run-once: a bulk file processed in the foreground, progress shown, every member mailed, then it exits', async () => {
    ws = workspace({}, { defaults: { paymentTermsDays: 30, routes: [{ format: 'pdf', transport: 'email', template: 'membership' }] } });
    const file = join(ws.root, 'contributie_knop.csv');
    writeFileSync(file, membersCsv(40));
    const run = spawnSync(process.execPath, [CLI, 'run-once', file, '--config', ws.config, '--mappings', ws.mappings], { encoding: 'utf-8', timeout: 120_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /^40\/40 deliveries$/m, 'progress lines when stderr is not a terminal');
    assert.match(run.stdout, /contributie_knop\.csv: done; 40 invoice\(s\) found, 0 rejected/);
    assert.match(run.stdout, /deliveries: 40 sent, 0 failed for good/);
    const mails = filesIn(join(ws.root, 'data', 'out', 'mail'), (n) => n.endsWith('.eml'));
    assert.equal(mails.length, 40);
    assert.ok(readFileSync(mails[0]!, 'utf-8').includes('application/pdf'));
    assert.ok(existsSync(file), 'the original stays where it was');
    // pressing the button twice sends nothing twice
    const again = spawnSync(process.execPath, [CLI, 'run-once', file, '--config', ws.config, '--mappings', ws.mappings], {
      encoding: 'utf-8',
      timeout: 60_000,
    });
    assert.match(again.stdout, /duplicate/);
    assert.equal(filesIn(join(ws.root, 'data', 'out', 'mail'), (n) => n.endsWith('.eml')).length, 40);
  });

  it('stops gracefully on SIGTERM', async () => {
    ws = workspace();
    service = startService(ws);
    await waitForLedger(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_t.csv'), membersCsv(2));
    await waitFor('processed', async () => (await countFiles(ws, 'done')) === 1);
    assert.equal(await stopService(service), 0);
    service = undefined;
    assert.match(readFileSync(join(ws.data, 'gateway.log'), 'utf-8'), /"message":"stopped"/);
  });
});
