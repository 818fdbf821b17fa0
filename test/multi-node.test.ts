import { strict as assert } from 'node:assert';
import { basename, join } from 'node:path';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { CLI } from './helpers/paths.js';
import { freePort } from './helpers/net.js';
import { filesIn, membersAreCustomers, membersCsv, startService, stopService, waitFor, workspace, type Workspace } from './helpers/service.js';
import { startPostgres, type PgServer } from './helpers/postgres.js';
import { bookedNumbers, countDeliveries, countFiles, invoiceNumbers, listDeliveries, listFiles, readLedger, type LedgerAt } from './helpers/ledger-view.js';
import { runIssueWorkers, seriesOf } from './helpers/issue-workers.js';
import { startSmtp } from './helpers/smtp.js';
import { addConsoleUser, ApiClient } from './helpers/console.js';
import { currentUser, startSshd } from './helpers/sshd.js';

const FILES = 2000;

/**
 * Several gateway processes on one inbox and one PostgreSQL ledger: each file is taken by one
 * node, numbers stay gap-free, every output is written once, and a node or the database going
 * away in the middle changes none of that.
 */
describe('several gateway nodes on one PostgreSQL ledger (real processes, real server)', function () {
  this.timeout(600_000);
  let server: PgServer;
  let ws: Workspace;
  let url: string;
  let nodes: ChildProcess[] = [];

  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server.stop();
  });
  beforeEach(async () => {
    url = await server.createDatabase();
    ws = workspace({
      ledger: { kind: 'postgres', url, leaseFor: '4s', poolSize: 4 },
      watch: { mode: 'scan', stableFor: '300ms', rescanEvery: '500ms', emptyFileTimeout: '1s', concurrency: 4, doneMarkers: [] },
    });
  });
  afterEach(async () => {
    await Promise.all(nodes.map((n) => stopService(n)));
    nodes = [];
  });

  /** the count, or undefined while the database is away */
  const countNow = async (counted: (at: LedgerAt) => Promise<number>): Promise<number | undefined> => counted({ url }).catch(() => undefined);
  const start = (n: number): ChildProcess[] => Array.from({ length: n }, (_, i) => startService(ws, { IGW_NODE_ID: `node-${i + 1}` }));
  const drop = (): void => {
    for (let i = 0; i < FILES; i++) writeFileSync(join(ws.inbox, 'members', `contributie_${i}.csv`), membersCsv(1, 10000 + i));
  };
  /** What the ledger and the folders hold, for the message of a test that timed out. */
  const picture = async (): Promise<string> => {
    const status = await readLedger({ url }, (ledger) => ledger.status(Date.now()), undefined).catch((err: Error) => err.message);
    const held = async (list: (at: LedgerAt) => Promise<{ heldBy?: string }[]>) =>
      [...new Set((await list({ url }).catch(() => [])).flatMap((item) => (item.heldBy ? [item.heldBy] : [])))].join(', ');
    return [
      `ledger: ${JSON.stringify(typeof status === 'string' ? status : { ...status, runs: undefined }).slice(0, 3000)}`,
      `held by: files ${await held(listFiles)}; deliveries ${await held(listDeliveries)}`,
      `inbox: ${filesIn(join(ws.inbox, 'members')).length}, processing: ${filesIn(join(ws.inbox, '.processing')).length}`,
    ].join('\n');
  };
  const allDone = async (): Promise<void> => {
    try {
      await waitFor('every file processed', async () => (await countNow((at) => countFiles(at, 'done'))) === FILES, 300_000, 250);
      await waitFor('every delivery sent', async () => (await countNow((at) => countDeliveries(at, 'sent'))) === FILES, 120_000, 250);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await picture()}`);
    }
  };

  /** The promises: each file once, numbers gap-free and unique, each output once, no lease left, nothing left behind. */
  async function assertExactlyOnce(): Promise<void> {
    const files = await listFiles({ url });
    if (files.length !== FILES) assert.fail(`${files.length} file rows for ${FILES} files\n${await picture()}`);
    assert.equal(new Set(files.map((f) => f.name)).size, FILES, 'one ledger row per file: no file taken by two nodes');
    const numbers = await invoiceNumbers({ url });
    assert.deepEqual(
      numbers,
      Array.from({ length: FILES }, (_, i) => `LID2027-${String(i + 1).padStart(4, '0')}`),
      'numbers gap-free and unique across the nodes',
    );
    const deliveries = await listDeliveries({ url });
    assert.equal(deliveries.length, FILES);
    const outputs = filesIn(ws.out, (n) => n.endsWith('.json')).map((p) => basename(p));
    assert.equal(outputs.length, FILES, 'each output written once');
    assert.equal(new Set(outputs).size, FILES);
    assert.deepEqual(
      files.filter((f) => f.heldBy),
      [],
      'no file lease left behind',
    );
    assert.deepEqual(
      deliveries.filter((d) => d.heldBy),
      [],
      'no delivery lease left behind',
    );
    assert.deepEqual(filesIn(join(ws.inbox, 'members')), [], 'nothing left in the inbox');
    assert.deepEqual(filesIn(join(ws.inbox, '.processing')), [], 'nothing left in processing/');
  }

  it(`${FILES} files dropped at once on three nodes: each processed by one node, numbered once, delivered once`, async () => {
    nodes = start(3);
    drop();
    await allDone();
    await assertExactlyOnce();
    // the work was shared: every node processed files (each log line names its node)
    const perNode = new Map<string, number>();
    for (const line of readFileSync(join(ws.data, 'gateway.log'), 'utf-8').split('\n')) {
      if (!line.includes('"file processed"')) continue;
      const node = (JSON.parse(line) as { node?: string }).node ?? '?';
      perNode.set(node, (perNode.get(node) ?? 0) + 1);
    }
    assert.deepEqual([...perNode.keys()].sort(), ['node-1', 'node-2', 'node-3'], JSON.stringify([...perNode]));
    // status reads the shared ledger and shows every node's heartbeat
    const status = spawnSync(process.execPath, [CLI, 'status', '--config', ws.config, '--mappings', ws.mappings], { encoding: 'utf-8' });
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /ledger: +postgres 127\.0\.0\.1:\d+\/igw_/);
    assert.match(status.stdout, new RegExp(`files: +done ${FILES}`));
    for (const id of ['node-1', 'node-2', 'node-3']) assert.match(status.stdout, new RegExp(`node ${id} run \\d+ \\(process \\d+ on .*\\): running`));
  });

  it('numbering under contention: four node processes issuing into one series leave no gap and no duplicate', async () => {
    const results = await runIssueWorkers(url, 4, 250);
    assert.ok(results.every((r) => r.length === 250));
    assert.deepEqual(results.flat().sort(), seriesOf(1000));
  });

  it('the console: signed in on one node is signed in on the others, and after a restart (sessions in the ledger)', async () => {
    addConsoleUser(ws, 'ada', 'admin', 'admin-password-1');
    const ports = [await freePort(), await freePort()];
    const startConsole = (i: number): ChildProcess => startService(ws, { IGW_NODE_ID: `node-${i + 1}`, IGW_CONSOLE_PORT: String(ports[i]) });
    nodes = [startConsole(0), startConsole(1)];
    const bases = ports.map((p) => `http://127.0.0.1:${p}`);
    for (const base of bases) await waitFor(`the console at ${base}`, async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok, 60_000);
    const first = new ApiClient(bases[0]!);
    assert.equal(await first.login('ada', 'admin-password-1'), 200);
    const second = new ApiClient(bases[1]!);
    assert.equal((await second.request('GET', '/api/session')).status, 200);
    second.cookie = first.cookie;
    second.csrf = first.csrf;
    const me = (await (await second.request('GET', '/api/session')).json()) as { user?: string };
    assert.equal(me.user, 'ada', 'the other node knows the session');
    // an action with the session's CSRF token goes through on the other node too
    assert.equal((await second.request('POST', '/api/logout')).status, 200);
    assert.equal(((await (await first.request('GET', '/api/session')).json()) as { user?: unknown }).user, undefined, 'signed out everywhere');
    // a restart keeps the sessions (and the key that signs their cookies)
    assert.equal(await first.login('ada', 'admin-password-1'), 200);
    await stopService(nodes[0]!);
    nodes[0] = startConsole(0);
    await waitFor('the console again', async () => (await fetch(`${bases[0]}/healthz`).catch(() => undefined))?.ok, 60_000);
    assert.equal(((await (await first.request('GET', '/api/session')).json()) as { user?: string }).user, 'ada');
  });

  it('two processes started at once with one node id: one runs, the other is refused and says why', async () => {
    nodes = [startService(ws, { IGW_NODE_ID: 'twin' }), startService(ws, { IGW_NODE_ID: 'twin' })];
    const refused = await waitFor('one of them to exit', () => nodes.find((n) => n.exitCode !== null), 60_000);
    assert.equal(refused.exitCode, 2, 'refused at start, as a configuration error (it does not wait)');
    await waitFor(
      'the other to be heard from',
      async () => (await readLedger({ url }, (ledger) => ledger.nodes(), [])).filter((n) => n.id === 'twin').length === 1,
    );
    assert.equal(nodes.filter((n) => n.exitCode === null).length, 1, 'the other keeps running');
  });

  it('a node killed with SIGKILL in the middle: the others take over its work when its leases expire', async () => {
    nodes = start(3);
    drop();
    await waitFor('a part processed', async () => ((await countNow((at) => countFiles(at, 'done'))) ?? 0) >= FILES / 5, 300_000, 100);
    nodes[1]!.kill('SIGKILL');
    await allDone();
    await assertExactlyOnce();
  });

  it('chaos: three nodes with mail, SFTP and accounting routes, ten SIGKILLs and a PostgreSQL restart: every order invoiced once, nothing in error/', async () => {
    const ORDERS = 240;
    const KILLS = 10;
    const smtp = await startSmtp();
    const sshd = await startSshd();
    try {
      mkdirSync(join(sshd.folder, 'drop'), { recursive: true });
      const pickup = join(ws.out, 'devries');
      const settingsFile = join(ws.config, 'gateway.yaml');
      const settings = parse(readFileSync(settingsFile, 'utf-8')) as Record<string, Record<string, unknown>>;
      settings['email'] = { server: 'mail' };
      settings['targets'] = {
        ...settings['targets'],
        mail: { kind: 'smtp', host: '127.0.0.1', port: smtp.port, secure: false, from: 'TV De Lobbers <penningmeester@tvdelobbers.nl>' },
        drop: {
          kind: 'sftp',
          host: '127.0.0.1',
          port: sshd.port,
          user: currentUser(),
          privateKeyFile: sshd.clientKeyFile,
          folder: join(sshd.folder, 'drop'),
          hostKeySha256: sshd.hostKeySha256,
        },
      };
      writeFileSync(settingsFile, stringify(settings));
      const routes = [
        { format: 'pdf', transport: 'email', template: 'membership' },
        { format: 'json', transport: 'sftp', target: 'drop' },
        { format: 'accountview', transport: 'folder', administration: 'devries' },
      ];
      // accounting needs a debtor: each member is a customer of its own
      const members = Object.fromEntries(
        Array.from({ length: ORDERS }, (_, i) => [
          String(10000 + i),
          { party: { name: `Lid ${10000 + i}`, address: { city: 'Amersfoort', country: 'NL' } }, routes },
        ]),
      );
      // written out in full: the gateway refuses a YAML file that leans on many aliases
      writeFileSync(
        join(ws.config, 'customers.yaml'),
        stringify({ defaults: { paymentTermsDays: 30, routes }, customers: members }, { aliasDuplicateObjects: false }),
      );
      membersAreCustomers(ws);
      const accountingFile = join(ws.config, 'accounting.yaml');
      const accounting = parse(readFileSync(accountingFile, 'utf-8')) as { administrations: Record<string, Record<string, unknown>> };
      accounting.administrations['devries']!['pickupFolder'] = pickup;
      writeFileSync(accountingFile, stringify(accounting));

      nodes = start(3);
      for (let i = 0; i < ORDERS; i++) writeFileSync(join(ws.inbox, 'members', `contributie_${i}.csv`), membersCsv(1, 10000 + i));
      const done = async (): Promise<number> => (await countNow((at) => countFiles(at, 'done'))) ?? 0;
      for (let k = 0; k < KILLS; k++) {
        // a kill at a moment of real work, once the nodes have made some progress since the last one
        const before = await done();
        await waitFor('some progress before the next kill', async () => (await done()) >= Math.min(ORDERS, before + 10), 120_000, 50).catch(() => undefined);
        const victim = k % 3;
        const victimNode = nodes[victim]!;
        assert.equal(victimNode.exitCode, null, `node-${victim + 1} is still running before it is killed (it exited ${victimNode.exitCode})`);
        victimNode.kill('SIGKILL');
        if (victimNode.signalCode === null) await new Promise((r) => victimNode.once('exit', r));
        if (k === KILLS / 2) {
          await server.stop();
          await server.start();
        }
        nodes[victim] = startService(ws, { IGW_NODE_ID: `node-${victim + 1}` });
      }
      try {
        await waitFor('every order done', async () => (await done()) === ORDERS, 300_000, 250);
        await waitFor('every delivery sent', async () => (await countNow((at) => countDeliveries(at, 'sent'))) === 3 * ORDERS, 180_000, 250);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${await picture()}`);
      }
      assert.deepEqual(filesIn(join(ws.data, 'error')), [], 'no good order set aside as a gateway fault');
      const numbers = await invoiceNumbers({ url });
      assert.deepEqual(
        numbers,
        Array.from({ length: ORDERS }, (_, i) => `LID2027-${String(i + 1).padStart(4, '0')}`),
        'each order invoiced once, gap-free',
      );
      // mail: every invoice under its own Message-ID; a node killed while sending may have sent one again under the same id
      const ids = smtp.received.map((m) => m.messageId ?? '');
      assert.equal(new Set(ids).size, ORDERS, 'every invoice mailed');
      assert.ok(ids.length - ORDERS <= KILLS * 2, `resent copies only where a killed node had a send under way (${ids.length - ORDERS})`);
      const uploads = filesIn(join(sshd.folder, 'drop')).filter((f) => !basename(f).startsWith('.'));
      assert.equal(uploads.length, ORDERS, 'each JSON uploaded once');
      const exported = filesIn(pickup, (n) => n.endsWith('.csv')).flatMap((f) => readFileSync(f, 'latin1').match(/LID2027-\d{4}/g) ?? []);
      assert.equal(new Set(exported).size, ORDERS, 'every invoice in an accounting file');
      const booked = await bookedNumbers({ url });
      assert.equal(booked.length, ORDERS, 'and booked once');
      assert.equal(new Set(booked).size, ORDERS);
    } finally {
      await smtp.close();
      await sshd.stop();
    }
  });

  it('PostgreSQL stopped for 10 s in the middle: the nodes pause and resume by themselves', async () => {
    const port = await freePort();
    const readyz = async (): Promise<{ status: number; ledgerOk?: boolean }> => {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      if (!r) return { status: 0 };
      const body = (await r.json()) as { checks: { name: string; ok: boolean }[] };
      return { status: r.status, ledgerOk: body.checks.find((c) => c.name === 'ledger')?.ok };
    };
    nodes = [1, 2, 3].map((n) => startService(ws, { IGW_NODE_ID: `node-${n}`, ...(n === 1 ? { IGW_CONSOLE_PORT: String(port) } : {}) }));
    drop();
    await waitFor('a part processed', async () => ((await countNow((at) => countFiles(at, 'done'))) ?? 0) >= FILES / 5, 300_000, 100);
    await server.stop();
    // node-1 says it is not ready, and why
    assert.deepEqual(await waitFor('readyz to fail', async () => ((await readyz()).status === 503 ? readyz() : undefined), 60_000), {
      status: 503,
      ledgerOk: false,
    });
    // the outage itself is the scenario: ten seconds without a database
    await new Promise((r) => setTimeout(r, 10_000));
    assert.ok(
      nodes.every((n) => n.exitCode === null && n.signalCode === null),
      'no node exits while the database is away',
    );
    await server.start();
    await waitFor('readyz to pass again', async () => (await readyz()).status === 200);
    await allDone();
    await assertExactlyOnce();
  });
});
