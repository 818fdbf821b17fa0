import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import Database from 'better-sqlite3';
import {
  closeSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { openDropped, UnsafeFileError } from '../src/util/safe-open.js';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { CLI, ROOT, tempDir } from './helpers/paths.js';
import { filesIn, membersCsv, startService, stopService, todayNl, waitFor, workspace, type Workspace } from './helpers/service.js';
import { countDeliveries, countFiles, countInvoices, invoiceNumbers, listDeliveries, listFiles, listInvoices, waitForLedger } from './helpers/ledger-view.js';

const cli = (ws: Workspace, ...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args, '--config', ws.config, '--mappings', ws.mappings], { encoding: 'utf-8', timeout: 60_000 });

/** A small disk of its own (tmpfs) at `dir`; false where this process may not mount (it needs root, as CI has). */
function smallDisk(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0;
}

/** Fills the disk under `dir` to the last byte (a file of its own, returned so it can be removed). */
function fillDisk(dir: string): string {
  const filler = join(dir, `.filler-${Date.now()}`);
  const fd = openSync(filler, 'w');
  for (const chunk of [256 * 1024, 4096, 1])
    try {
      for (;;) writeSync(fd, Buffer.alloc(chunk));
    } catch {
      // ENOSPC: full at this chunk size
    }
  closeSync(fd);
  return filler;
}

/** The verdicts of the issuing step on a file, without storing anything. */

describe('no poison files, no silent loops', function () {
  this.timeout(60_000);
  let service: ChildProcess | undefined;
  afterEach(async () => {
    if (service) await stopService(service);
    service = undefined;
  });

  it('XML nested deeper than the parser allows becomes a located report in error/, not a file stuck in processing/', async () => {
    const ws = workspace();
    service = startService(ws);
    const deep = `<?xml version="1.0"?><Facturen><Factuur nummer="1">${'<x>'.repeat(150)}${'</x>'.repeat(150)}</Factuur></Facturen>`;
    writeFileSync(join(ws.inbox, 'erp', 'facturen_deep.xml'), deep);
    await waitFor('file in error/', async () => (await countFiles(ws, 'error')) === 1);
    const report = readFileSync(join(ws.data, 'error', 'erp', 'facturen_deep.xml.error.txt'), 'utf-8');
    assert.match(report, /XML could not be read: Maximum nested tags exceeded \(more than 100 elements inside each other at <x>\)/);
    // the place: line 1, the column of the 99th <x>, the 101st element down (two wrapper elements come first)
    const column = deep.indexOf('<x>') + 98 * 3 + 1;
    assert.match(report, new RegExp(`line 1[:, ]+(column )?${column}\\b`), report);
    assert.deepEqual(filesIn(join(ws.inbox, '.processing')), []);
    assert.match(cli(ws, 'status').stdout, /files in error[^\n]*\n\s+#1 erp\/facturen_deep\.xml .*XML could not be read/);
  });

  it('a junk file of thousands of rejected rows: its report counts them all, the log holds the first hundred and one line for the rest', async () => {
    const ws = workspace();
    service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_junk.csv'), membersCsv(3000).replace(/;215,00;/g, ';twee vijftien;'));
    await waitFor('the file in error/', async () => (await countFiles(ws, 'error')) === 1, 60_000);
    const log = readFileSync(join(ws.data, 'gateway.log'), 'utf-8');
    assert.equal(log.split('\n').filter((l) => l.includes('"message":"invoice rejected"')).length, 100);
    assert.match(log, /more invoices rejected than are logged one by one[^\n]*"notLogged":2900/);
    assert.match(readFileSync(join(ws.data, 'error', 'members', 'contributie_junk.csv.error.txt'), 'utf-8'), /rejected: 3000/);
  });

  it('an unexpected failure while processing a file: tried once more, then set aside in error/ with the stack, never looping', async () => {
    const ws = workspace();
    service = startService(ws);
    await waitForLedger(ws);
    // a fault no input causes: the ledger refuses every invoice (a trigger put there by the test)
    const db = new Database(join(ws.data, 'ledger.sqlite'), { timeout: 10_000 });
    db.exec("CREATE TRIGGER injected_fault BEFORE INSERT ON invoices BEGIN SELECT RAISE(ABORT, 'injected fault'); END;");
    writeFileSync(join(ws.inbox, 'members', 'contributie_fault.csv'), membersCsv(2));
    await waitFor('set aside in error/', async () => (await countFiles(ws, 'error')) === 1);
    const report = JSON.parse(readFileSync(join(ws.data, 'error', 'members', 'contributie_fault.csv.error.json'), 'utf-8')) as {
      rejected: { errors: { error: string; message: string; stack?: string }[] }[];
    };
    const error = report.rejected[0]!.errors[0]!;
    assert.equal(error.error, 'InternalError');
    assert.match(error.message, /injected fault.*a fault of invoice-gateway, not of the export/);
    assert.match(error.stack ?? '', /\n\s+at /, 'the stack is in the report');
    const log = readFileSync(join(ws.data, 'gateway.log'), 'utf-8');
    assert.equal((log.match(/trying once more/g) ?? []).length, 1, 'retried exactly once');
    db.exec('DROP TRIGGER injected_fault');
    db.close();
    writeFileSync(join(ws.inbox, 'members', 'contributie_after.csv'), membersCsv(2, 7001));
    await waitFor('the next file goes through', async () => (await countFiles(ws, 'done')) === 1);
  });

  it('a regular expression that backtracks for ever: its file is stopped after the deadline and refused; other files and the service go on', async () => {
    const ws = workspace({ mappingDeadlines: { stalled: '3s' } });
    const mapping = join(ws.mappings, 'members-contribution.yaml');
    writeFileSync(
      mapping,
      readFileSync(mapping, 'utf-8').replace(
        'buyerReference: { template: "Lid {Lidnummer}" }',
        `buyerReference: { expr: "$exists($match(Achternaam, /^(a+)+$/)) ? 'x' : 'Lid ' & Lidnummer" }`,
      ),
    );
    service = startService(ws);
    await waitForLedger(ws);
    // one member whose name makes the pattern try 2^40 ways before it fails
    writeFileSync(join(ws.inbox, 'members', 'contributie_evil.csv'), membersCsv(2).replace('Lid 5002', `${'a'.repeat(40)}!`));
    await waitFor('the evil file taken', async () => (await listFiles(ws)).filter((f) => f.name === 'contributie_evil.csv').length === 1);
    // meanwhile another file goes through: the service is not frozen
    writeFileSync(join(ws.inbox, 'members', 'contributie_good.csv'), membersCsv(2, 6001));
    await waitFor('the good file done', async () => (await countFiles(ws, 'done')) === 1, 120_000);
    await waitFor('the evil file refused', async () => (await countFiles(ws, 'error')) === 1, 60_000);
    assert.match(
      readFileSync(join(ws.data, 'error', 'members', 'contributie_evil.csv.error.txt'), 'utf-8'),
      /a mapping expression ran for 3 s without finishing an invoice and was stopped \(a regular expression that backtracks/,
    );
    assert.equal((await listInvoices(ws, { number: 'LID' })).length, 2, 'only the good file issued');
    const started = Date.now();
    assert.equal(await stopService(service), 0);
    assert.ok(Date.now() - started < 15_000, 'the stop is prompt');
    service = undefined;
  });

  it('a JSONata expression that never ends is stopped for its record; the service stays responsive to SIGTERM', async () => {
    const ws = workspace();
    const mapping = join(ws.mappings, 'members-contribution.yaml');
    writeFileSync(
      mapping,
      readFileSync(mapping, 'utf-8').replace(
        'buyerReference: { template: "Lid {Lidnummer}" }',
        'buyerReference: { expr: "($f := function($x) { $f($x) + 1 }; $f(1))" }',
      ),
    );
    service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_loop.csv'), membersCsv(2));
    await waitFor('file in error/', async () => (await countFiles(ws, 'error')) === 1);
    assert.match(
      readFileSync(join(ws.data, 'error', 'members', 'contributie_loop.csv.error.txt'), 'utf-8'),
      /field buyerReference: expression failed: it (ran longer than|nested deeper than) .* and was stopped/,
    );
    assert.equal(await stopService(service), 0);
    service = undefined;
  });
});

describe('one target down does not stop the others', function () {
  this.timeout(90_000);
  let service: ChildProcess | undefined;
  let blackhole: Server | undefined;
  afterEach(async () => {
    if (service) await stopService(service);
    service = undefined;
    blackhole?.close();
  });

  it('an SFTP server that accepts and never answers: its sends time out and are retried, the folder deliveries all arrive, SIGTERM stops at once', async () => {
    const sockets: import('node:net').Socket[] = [];
    blackhole = createServer((s) => sockets.push(s)); // accepts, says nothing
    await new Promise<void>((r) => blackhole!.listen(0, '127.0.0.1', r));
    const port = (blackhole.address() as import('node:net').AddressInfo).port;
    const ws = workspace(
      {
        outbox: {
          maxAttempts: 2,
          firstRetryAfter: '200ms',
          maxRetryAfter: '1s',
          concurrency: 4,
          perTargetConcurrency: 2,
          sendTimeout: '3s',
          pollInterval: '100ms',
        },
        targets: {
          out: { kind: 'folder', path: join(tempDir(), 'unused') },
          blackhole: { kind: 'sftp', host: '127.0.0.1', port, user: 'x', password: 'x', folder: '/in', hostKeySha256: 'SHA256:x', timeoutMs: 800 },
        },
      },
      {
        defaults: {
          paymentTermsDays: 30,
          routes: [
            { format: 'json', transport: 'sftp', target: 'blackhole' },
            { format: 'json', transport: 'folder', target: 'out2' },
          ],
        },
      },
    );
    const out2 = join(ws.root, 'out2');
    const gateway = readFileSync(join(ws.config, 'gateway.yaml'), 'utf-8');
    writeFileSync(join(ws.config, 'gateway.yaml'), gateway.replace('targets:\n', `targets:\n  out2:\n    kind: folder\n    path: ${out2}\n`));
    service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_t.csv'), membersCsv(30));
    await waitFor('30 folder deliveries', () => filesIn(out2).length === 30, 60_000);
    await waitFor(
      'sftp sends abandoned and waiting for a retry',
      async () => (await listDeliveries(ws, { state: 'failed' })).filter((d) => d.routeId.startsWith('json-sftp') && d.attempts >= 2).length >= 2,
      60_000,
    );
    assert.equal(await countDeliveries(ws, 'dead'), 0, 'a target that is down is not a reason to give up (maxAttempts is for faults)');
    const failed = (await listDeliveries(ws)).find((d) => d.routeId.startsWith('json-sftp') && d.lastError);
    assert.match(failed!.lastError!, /no answer|no connection came free|Timed out|timed out/i);
    const stopped = Date.now();
    assert.equal(await stopService(service), 0);
    service = undefined;
    assert.ok(Date.now() - stopped < 20_000, 'SIGTERM does not hang on the dead target');
    for (const s of sockets) s.destroy();
  });

  it('a full output disk: the delivery waits, leaves no temporary file behind, and arrives once there is space', async function () {
    const ws = workspace({ outbox: { maxAttempts: 2, firstRetryAfter: '100ms', maxRetryAfter: '300ms', concurrency: 2, pollInterval: '50ms' } });
    if (!smallDisk(ws.out, '1m')) this.skip();
    try {
      const filler = fillDisk(ws.out);
      service = startService(ws);
      writeFileSync(join(ws.inbox, 'members', 'contributie_full.csv'), membersCsv(3));
      await waitFor('3 attempts on the full disk', async () => {
        const deliveries = await listDeliveries(ws);
        return deliveries.length > 0 && deliveries.every((d) => d.attempts >= 3);
      });
      const [delivery] = await listDeliveries(ws);
      assert.match(delivery!.lastError!, /ENOSPC|no space/i);
      assert.equal(await countDeliveries(ws, 'dead'), 0);
      assert.deepEqual(
        readdirSync(ws.out).filter((n) => n.endsWith('.tmp')),
        [],
        'no temporary files left behind',
      );
      rmSync(filler);
      await waitFor('3 delivered', async () => (await countDeliveries(ws, 'sent')) === 3);
      assert.equal(filesIn(ws.out, (n) => n.endsWith('.json')).length, 3);
      await stopService(service);
      service = undefined;
    } finally {
      spawnSync('umount', ['-l', ws.out]);
    }
  });

  it('a folder target that cannot be written waits past maxAttempts instead of going dead', async () => {
    const ws = workspace({ outbox: { maxAttempts: 2, firstRetryAfter: '100ms', maxRetryAfter: '200ms', concurrency: 2, pollInterval: '50ms' } });
    writeFileSync(ws.out, 'a file where the folder should be');
    service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_w.csv'), membersCsv(1));
    await waitFor('5 attempts', async () => (await listDeliveries(ws)).some((d) => d.attempts >= 5));
    assert.equal(await countDeliveries(ws, 'dead'), 0);
    assert.deepEqual(
      filesIn(join(ws.root), (n) => n.endsWith('.tmp')),
      [],
      'no temporary files left behind',
    );
  });
});

describe('the process survives its environment', function () {
  this.timeout(60_000);
  let service: ChildProcess | undefined;
  afterEach(async () => {
    if (service) await stopService(service);
    service = undefined;
  });

  it('a second process on the same ledger is refused with a clear message; the first keeps running', async () => {
    const ws = workspace();
    service = startService(ws);
    await waitForLedger(ws);
    await waitFor('lock taken', () => existsSync(join(ws.data, 'ledger.sqlite.lock')));
    const second = spawnSync(process.execPath, [CLI, 'run', '--config', ws.config, '--mappings', ws.mappings, '--quiet'], {
      encoding: 'utf-8',
      timeout: 30_000,
    });
    assert.equal(second.status, 2);
    assert.match(second.stderr, /another invoice-gateway process is already running on the ledger/);
    // status and other read commands still work beside the service
    const status = cli(ws, 'status');
    assert.equal(status.status, 0);
    assert.match(status.stdout, /service: a gateway process is running on this ledger/);
    // status where no gateway has run yet: said plainly, without a stack trace
    const fresh = workspace();
    const none = cli(fresh, 'status');
    assert.equal(none.status, 2);
    assert.match(none.stderr, /no ledger at .*: the gateway has not run with this configuration yet/);
    assert.doesNotMatch(none.stderr, /\n\s+at /);
    writeFileSync(join(ws.inbox, 'members', 'contributie_l.csv'), membersCsv(1));
    await waitFor('first still works', async () => (await countFiles(ws, 'done')) === 1);
  });

  it('a writer that pauses longer than stableFor with its file open: nothing is taken half-written, every order is invoiced whole', async () => {
    const ws = workspace(
      {},
      {
        defaults: { paymentTermsDays: 30, routes: [{ format: 'json', transport: 'folder', target: 'out' }] },
        unknownCustomers: 'default',
        customers: {
          '10001': { party: { name: 'Bakkerij Jansen B.V.', address: { line1: 'Dorpsstraat 1', city: 'Utrecht', postalCode: '3511 AA', country: 'NL' } } },
        },
      },
    );
    service = startService(ws);
    await waitForLedger(ws);
    const header = 'Ordernr;Orderdatum;Debiteur;Referentie klant;Regel;Artikel;Omschrijving;Aantal;Eenheid;Prijs excl.;Korting %;BTW %\n';
    const line = (order: number, n: number) => `${order};${todayNl()};10001;PO-${order};${n};ART-${n};Artikel ${n};1;st;10,00;;21\n`;
    const path = join(ws.inbox, 'access', 'orders_pause.csv');
    const fd = openSync(path, 'w');
    writeSync(fd, header + line(7001, 1));
    // the writer pauses ten times as long as stableFor, the file still open
    await new Promise((r) => setTimeout(r, 3_000));
    writeSync(fd, line(7001, 2) + line(7002, 1) + line(7003, 1));
    closeSync(fd);
    await waitFor('the file done', async () => (await listFiles(ws)).filter((f) => ['done', 'partial', 'error'].includes(f.state)).length === 1, 30_000);
    assert.equal(await countFiles(ws, 'done'), 1);
    assert.equal(await countInvoices(ws, 'issued'), 3, 'all three orders invoiced');
    const archived = filesIn(join(ws.data, 'archive'), (n) => n === 'orders_pause.csv')[0]!;
    const receipt = JSON.parse(readFileSync(`${archived}.receipt.json`, 'utf-8')) as { sha256: string; invoices: { payable: string }[] };
    assert.equal(receipt.sha256, createHash('sha256').update(readFileSync(archived)).digest('hex'), 'the receipt names the content archived');
    assert.equal(receipt.invoices[0]!.payable, '24.20', 'order 7001 with both its lines');
  });

  it('an emptied or lost ledger beside earlier work is refused at start (numbering would begin again); --new-ledger overrides', async () => {
    const ws = workspace();
    service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_a.csv'), membersCsv(2));
    await waitFor('the file done', async () => (await countFiles(ws, 'done')) === 1);
    await stopService(service);
    service = undefined;
    const ledger = join(ws.data, 'ledger.sqlite');
    writeFileSync(ledger, '');
    rmSync(`${ledger}-wal`, { force: true });
    rmSync(`${ledger}-shm`, { force: true });
    const refused = cli(ws, 'run', '--quiet');
    assert.equal(refused.status, 2, refused.stdout + refused.stderr);
    assert.match(
      refused.stderr,
      /ledger .* is empty \(0 bytes\), but .*archive holds files processed before: starting would number invoices from the first number again/,
    );
    rmSync(ledger);
    assert.match(cli(ws, 'run', '--quiet').stderr, /is missing, but/);
    assert.equal(statSync(join(ws.data, 'archive')).isDirectory(), true, 'nothing was touched');
    // told so on purpose: it starts
    const fresh = spawn(process.execPath, [CLI, 'run', '--quiet', '--new-ledger', '--config', ws.config, '--mappings', ws.mappings], { stdio: 'ignore' });
    service = fresh;
    await waitForLedger(ws);
  });

  it('a ledger with garbage written into it is refused at start, nothing numbered', () => {
    const ws = workspace();
    const run = () =>
      spawnSync(process.execPath, [CLI, 'run', '--config', ws.config, '--mappings', ws.mappings, '--quiet'], { encoding: 'utf-8', timeout: 30_000 });
    mkdirSync(ws.data, { recursive: true });
    writeFileSync(join(ws.data, 'ledger.sqlite'), Buffer.alloc(8192, 0x41));
    const r = run();
    assert.equal(r.status, 2);
    assert.match(r.stderr, /the ledger .* is not a readable SQLite database/);
  });

  it('with the validation artefacts missing, a UBL-routed file waits (the log says why) and is issued once they are back', async () => {
    const ws = workspace({}, { defaults: { paymentTermsDays: 30, routes: [{ format: 'ubl', transport: 'folder', target: 'out', profile: 'en16931' }] } });
    const run = (env: NodeJS.ProcessEnv) =>
      spawn(process.execPath, [CLI, 'run', '--config', ws.config, '--mappings', ws.mappings, '--quiet'], { env, stdio: ['ignore', 'ignore', 'ignore'] });
    service = run({ ...process.env, STANDARDS_HOME: tempDir('igw-no-standards-') });
    writeFileSync(join(ws.inbox, 'members', 'contributie_v.csv'), membersCsv(2));
    await waitFor(
      'the wait is logged',
      () => existsSync(join(ws.data, 'gateway.log')) && readFileSync(join(ws.data, 'gateway.log'), 'utf-8').includes('the environment failed, not the files'),
    );
    assert.equal(await countFiles(ws, 'processing'), 1, 'the file waits');
    assert.equal(await countInvoices(ws), 0);
    assert.ok(!existsSync(join(ws.data, 'error')), 'nothing in error/: an installation problem is not a bad file');
    assert.match(readFileSync(join(ws.data, 'gateway.log'), 'utf-8'), /validation artefacts are not installed/);
    // only files with a UBL route wait for the artefacts: the intake is neither paused nor said to be resumed
    assert.doesNotMatch(readFileSync(join(ws.data, 'gateway.log'), 'utf-8'), /intake paused|intake resumed/);
    assert.equal(await stopService(service), 0);
    service = startService(ws);
    await waitFor('issued once the artefacts are there', async () => (await countFiles(ws, 'done')) === 1, 60_000);
    await waitFor('2 UBL files', () => filesIn(ws.out, (n) => n.endsWith('.xml')).length === 2, 60_000);
  });

  it("the data folder's disk full: the process stays up, says why, and finishes everything once there is space again", async function () {
    // several state waits in a row (retries of a waiting file): a busy machine needs more than the suite's minute
    this.timeout(300_000);
    const ws = workspace();
    // debug: each retry of a waiting file has a line there (at info the outage is said once)
    const settings = join(ws.config, 'gateway.yaml');
    writeFileSync(settings, readFileSync(settings, 'utf-8').replace(/level: info/, 'level: debug'));
    // a small disk of its own for the data folder (ledger, log, archive)
    if (!smallDisk(ws.data, '16m')) this.skip();
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, [CLI, 'run', '--config', ws.config, '--mappings', ws.mappings], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      // debug lines (one per retry of a waiting file) go to stdout
      let stdout = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      await waitForLedger(ws);
      writeFileSync(join(ws.inbox, 'members', 'contributie_1.csv'), membersCsv(20, 5001));
      await waitFor('first file done', async () => (await countFiles(ws, 'done')) === 1);
      const filler = fillDisk(ws.data);
      writeFileSync(join(ws.inbox, 'members', 'contributie_2.csv'), membersCsv(20, 6001));
      await waitFor('the gateway says it waits for the environment', () => /environment failed|sending paused|log file cannot be written/.test(stderr), 60_000);
      assert.ok((stderr.match(/files wait in processing\/: the environment failed/g) ?? []).length <= 1, 'the outage is said once, not once per file');
      assert.equal(child.exitCode, null, 'still running');
      assert.match(cli(ws, 'status').stdout, /disk: only \d+ MB free for the data folder; when it is full the gateway pauses/);
      // intake is paused: a file dropped now stays in the inbox through two more retries of the waiting one
      await waitFor('intake paused', () => stderr.includes('intake paused'));
      writeFileSync(join(ws.inbox, 'members', 'contributie_3.csv'), membersCsv(5, 7001));
      const waits = () => (stdout.match(/file waits in processing/g) ?? []).length;
      const seen = waits();
      await waitFor('two more retries', () => waits() >= seen + 2, 60_000);
      assert.ok(existsSync(join(ws.inbox, 'members', 'contributie_3.csv')), 'not taken while the disk is full');
      rmSync(filler);
      // the waiting file and the one held back in the inbox: 20 + 20 + 5 members in all
      await waitFor('all three files done', async () => (await countFiles(ws, 'done')) === 3, 90_000);
      await waitFor('45 outputs', () => filesIn(ws.out).length === 45, 60_000);
      const numbers = await invoiceNumbers(ws);
      assert.deepEqual(
        numbers,
        Array.from({ length: 45 }, (_, i) => `LID2027-${String(i + 1).padStart(4, '0')}`),
        'each invoice once, no gap',
      );
      assert.equal(await stopService(child), 0);
      child = undefined;
    } finally {
      if (child) await stopService(child, 'SIGKILL');
      spawnSync('umount', ['-l', ws.data]);
    }
  });

  it('the log file on a full disk: the console goes on, the file resumes on a line of its own once there is space', async function () {
    const dir = tempDir('igw-logdisk-');
    if (!smallDisk(dir, '1m')) this.skip();
    try {
      const script = `
        import { createLogger } from ${JSON.stringify(join(ROOT, 'dist', 'src', 'observability', 'log.js'))};
        import { openSync, writeSync, closeSync, rmSync } from 'node:fs';
        const log = createLogger({ file: ${JSON.stringify(join(dir, 'logs', 'gateway.log'))}, console: true });
        log.info('before');
        const fd = openSync(${JSON.stringify(join(dir, 'filler'))}, 'w');
        for (const n of [65536, 1]) try { for (;;) writeSync(fd, Buffer.alloc(n)); } catch {}
        closeSync(fd);
        for (let i = 0; i < 40; i++) { log.info('while full ' + i + ' ' + 'x'.repeat(300)); await new Promise((r) => setTimeout(r, 10)); }
        rmSync(${JSON.stringify(join(dir, 'filler'))});
        for (let i = 0; i < 30; i++) { log.info('after ' + i); await new Promise((r) => setTimeout(r, 250)); }
      `;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf-8', timeout: 60_000 });
      assert.match(run.stderr, /the log file .* cannot be written \(ENOSPC.*tries it again every 5 s/);
      assert.match(run.stdout, /info {2}after 29/, 'the console never went silent');
      const lines = readFileSync(join(dir, 'logs', 'gateway.log'), 'utf-8')
        .split('\n')
        .filter(Boolean);
      const resumed = lines.findIndex((l) => l.includes('log file writable again'));
      assert.ok(resumed > 0, 'the file resumed');
      for (const line of lines.slice(resumed)) JSON.parse(line);
      assert.ok(lines.some((l) => l.includes('"message":"after 29"')));
    } finally {
      spawnSync('umount', ['-l', dir]);
    }
  });

  it('a full disk at the start: the gateway waits and says so; a duplicate that waited for space reopens the intake', async function () {
    const ws = workspace();
    if (!smallDisk(ws.data, '16m')) this.skip();
    let child: ChildProcess | undefined;
    try {
      // a first run leaves a file done, then the disk fills up while the gateway is stopped
      child = startService(ws);
      writeFileSync(join(ws.inbox, 'members', 'contributie_1.csv'), membersCsv(3, 5001));
      await waitFor('first file done', async () => (await countFiles(ws, 'done')) === 1);
      await stopService(child);
      const filler = fillDisk(ws.data);
      child = spawn(process.execPath, [CLI, 'run', '--config', ws.config, '--mappings', ws.mappings], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      // the same content again, dropped while the disk is full
      writeFileSync(join(ws.inbox, 'members', 'contributie_1-again.csv'), membersCsv(3, 5001));
      await waitFor('the gateway waiting for the disk, or for the duplicate', () => /waiting for it|environment failed/.test(stderr), 60_000);
      assert.equal(child.exitCode, null, `still running: ${stderr}`);
      assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
      rmSync(filler);
      await waitFor('the duplicate set aside', async () => (await countFiles(ws, 'duplicate')) === 1, 60_000);
      // the intake is open again: a new file goes through
      writeFileSync(join(ws.inbox, 'members', 'contributie_2.csv'), membersCsv(3, 6001));
      await waitFor('the new file done', async () => (await countFiles(ws, 'done')) === 2, 60_000);
      assert.equal(await stopService(child), 0);
      child = undefined;
    } finally {
      if (child) await stopService(child, 'SIGKILL');
      spawnSync('umount', ['-l', ws.data]);
    }
  });

  it('a stop while an accounting batch is written: a clean exit, and the batch is complete once', async () => {
    const customers = {
      defaults: { paymentTermsDays: 30, routes: [{ format: 'json', transport: 'folder', target: 'out' }] },
      unknownCustomers: 'default',
      customers: {
        '20001': {
          party: { name: 'Drukkerij Visser B.V.', address: { line1: 'Kerkstraat 1', city: 'Utrecht', postalCode: '3511 AA', country: 'NL' } },
          debtorCode: '20001',
          routes: [{ format: 'exact-online', transport: 'folder', administration: 'devries' }],
        },
      },
    };
    const ws = workspace({}, customers);
    const date = todayNl();
    const rows = Array.from({ length: 400 }, (_, i) => `${80001 + i};${date};20001;PO-${i};1;KOF-100;Koffie;2;kg;14,95;;9`);
    const child = spawn(process.execPath, [CLI, 'run', '--config', ws.config, '--mappings', ws.mappings, '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    service = child;
    await waitForLedger(ws);
    const header = 'Ordernr;Orderdatum;Debiteur;Referentie klant;Regel;Artikel;Omschrijving;Aantal;Eenheid;Prijs excl.;Korting %;BTW %';
    writeFileSync(join(ws.inbox, 'access', 'orders_batch.csv'), `${[header, ...rows].join('\r\n')}\r\n`);
    await waitFor('file done', async () => (await countFiles(ws, 'done')) === 1, 60_000, 5);
    // the batch is written now, or very soon: stop in the middle of it
    assert.equal(await stopService(child), 0, stderr);
    service = undefined;
    assert.doesNotMatch(stderr, /write after end|Unhandled|TypeError/);
    service = startService(ws);
    await waitFor(
      'every invoice exported',
      async () => (await listDeliveries(ws, { state: 'sent' })).filter((d) => d.format === 'exact-online').length === 400,
      60_000,
    );
    const files = filesIn(join(ws.root, 'data', 'out', 'accounting', 'devries'), (n) => n.endsWith('.xml'));
    const entries = files.map((f) => (readFileSync(f, 'utf-8').match(/<GLTransaction\b/g) ?? []).length).reduce((a, b) => a + b, 0);
    assert.equal(entries, 400, `each invoice in exactly one batch file (${files.length} file(s))`);
  });

  it('nothing the gateway keeps is world-readable (umask 027 by default): data/, its logs, the ledger, archived originals', async () => {
    const ws = workspace();
    const logs = join(ws.data, 'logs');
    const gateway = join(ws.config, 'gateway.yaml');
    writeFileSync(gateway, readFileSync(gateway, 'utf-8').replace(/file: .*gateway\.log/, `file: ${join(logs, 'gateway.log')}`));
    service = startService(ws);
    // written by the exporting program as it pleases: world-readable
    writeFileSync(join(ws.inbox, 'members', 'contributie_m.csv'), membersCsv(1), { mode: 0o644 });
    await waitFor('done', async () => (await countFiles(ws, 'done')) === 1);
    const archived = filesIn(join(ws.data, 'archive'), (n) => n === 'contributie_m.csv')[0]!;
    for (const file of [join(ws.data, 'ledger.sqlite'), join(logs, 'gateway.log'), archived])
      assert.equal((statSync(file).mode & 0o777).toString(8), '640', file);
    for (const dir of [ws.data, logs]) assert.equal((statSync(dir).mode & 0o777).toString(8), '750', dir);
  });
});

describe('security at the inbox and in the config', function () {
  this.timeout(60_000);
  let service: ChildProcess | undefined;
  afterEach(async () => {
    if (service) await stopService(service);
    service = undefined;
  });

  it('a 251-byte file name still gets its receipt; control characters in a name are escaped on the console', async () => {
    const ws = workspace();
    const child = spawn(process.execPath, [CLI, 'run', '--config', ws.config, '--mappings', ws.mappings], { stdio: ['ignore', 'pipe', 'pipe'] });
    let console = '';
    child.stdout.on('data', (d: Buffer) => (console += d.toString()));
    child.stderr.on('data', (d: Buffer) => (console += d.toString()));
    service = child;
    await waitForLedger(ws);
    const long = `contributie_${'x'.repeat(251 - 'contributie_'.length - '.csv'.length)}.csv`;
    assert.equal(Buffer.byteLength(long), 251);
    writeFileSync(join(ws.inbox, 'members', long), membersCsv(1, 5001));
    writeFileSync(join(ws.inbox, 'members', 'contributie_\x1b[31mrood\x07.csv'), membersCsv(1, 6001));
    await waitFor('both done', async () => (await countFiles(ws, 'done')) === 2);
    assert.equal(filesIn(join(ws.data, 'archive'), (n) => n.endsWith('.receipt.json')).length, 2, 'both receipts written');
    await waitFor('console lines', () => console.includes('rood'));
    assert.ok(!console.includes('\x1b[31m'), 'no raw escape sequence reaches the console');
    assert.match(console, /contributie_\\x1b\[31mrood\\x07\.csv/);
  });

  it('a file name that is not UTF-8 (a Windows code page on a Linux share) is renamed readable and processed, not ignored', async () => {
    const ws = workspace();
    service = startService(ws);
    const raw = Buffer.concat([Buffer.from(`${join(ws.inbox, 'members')}/contributie_caf`), Buffer.from([0xe9]), Buffer.from('.csv')]);
    writeFileSync(raw, membersCsv(1));
    await waitFor('the file done', async () => (await countFiles(ws, 'done')) === 1);
    assert.equal((await listFiles(ws))[0]?.name, 'contributie_café.csv');
    assert.match(readFileSync(join(ws.data, 'gateway.log'), 'utf-8'), /file name was not UTF-8: renamed, read as Windows-1252/);
  });

  it('a symlink in the inbox is not read: reported once, left alone', async () => {
    const ws = workspace();
    service = startService(ws);
    symlinkSync('/etc/passwd', join(ws.inbox, 'members', 'contributie_link.csv'));
    writeFileSync(join(ws.inbox, 'members', 'contributie_real.csv'), membersCsv(1));
    await waitFor('the real file done', async () => (await countFiles(ws, 'done')) === 1);
    await waitFor('the link reported', () => readFileSync(join(ws.data, 'gateway.log'), 'utf-8').includes('not a regular file'));
    assert.equal(await countFiles(ws), 1, 'the link was never claimed');
    assert.ok(existsSync(join(ws.inbox, 'members', 'contributie_link.csv')), 'left where it is');
    assert.doesNotMatch(
      filesIn(ws.data)
        .map((f) => (f.endsWith('.log') || f.endsWith('.sqlite') ? '' : readFileSync(f, 'utf-8')))
        .join(''),
      /root:x:0:0/,
    );
  });

  it('a link swapped in after the watcher looked, and a hard link to a secret: neither is read, both set aside without a word of their content', async () => {
    const ws = workspace();
    const secret = join(ws.root, 'secret.csv');
    writeFileSync(secret, 'TOPSECRET-4711;wachtwoord\n', { mode: 0o600 });
    // the swap: a symlink where the claimed file was, in processing/ (taken at the start as a leftover)
    mkdirSync(join(ws.inbox, '.processing', 'members'), { recursive: true });
    symlinkSync(secret, join(ws.inbox, '.processing', 'members', 'contributie_swap.csv'));
    service = startService(ws);
    linkSync(secret, join(ws.inbox, 'members', 'contributie_hard.csv'));
    await waitFor('both set aside', async () => (await countFiles(ws, 'error')) === 2);
    const reports = filesIn(join(ws.data, 'error', 'members'), (n) => n.endsWith('.error.txt')).map((f) => readFileSync(f, 'utf-8'));
    assert.equal(reports.length, 2);
    assert.ok(reports.some((r) => /symbolic link; links are not followed/.test(r)));
    assert.ok(reports.some((r) => /2 names \(hard links\)/.test(r)));
    const written = filesIn(ws.data)
      .filter((f) => !f.endsWith('.sqlite') && !lstatSync(f).isSymbolicLink() && lstatSync(f).nlink === 1)
      .map((f) => readFileSync(f, 'utf-8'))
      .join('');
    assert.doesNotMatch(written, /TOPSECRET/);
    assert.equal(readFileSync(secret, 'utf-8').startsWith('TOPSECRET'), true, 'the secret itself is untouched');
    // the console's download of an original opens it the same way
    await assert.rejects(openDropped(join(ws.data, 'error', 'members', 'contributie_swap.csv')), UnsafeFileError);
    await assert.rejects(openDropped(join(ws.data, 'error', 'members', 'contributie_hard.csv')), UnsafeFileError);
  });
});
