import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import type { DeliveryRecord } from '../src/ledger/ledger.js';
import type { CalculatedInvoice } from '../src/model/invoice.js';
import { SftpTransport } from '../src/transports/sftp.js';
import { TransportError } from '../src/transports/transport.js';
import { filesIn, membersCsv, startService, stopService, todayNl, waitFor, workspace } from './helpers/service.js';
import { countDeliveries } from './helpers/ledger-view.js';
import { currentUser, startSshd, type TestSshd } from './helpers/sshd.js';

function request(name: string, content: string) {
  const delivery = {
    id: 1,
    invoiceId: 1,
    invoiceNumber: name,
    routeId: 'ubl-sftp-1',
    format: 'ubl',
    transport: 'sftp',
    target: 't',
    options: {},
    state: 'sending',
    attempts: 1,
    nextAttemptAt: 0,
    idempotencyKey: `${name}.ubl-sftp-1`,
  } as DeliveryRecord;
  return { delivery, document: { fileName: `${name}.xml`, mediaType: 'application/xml', content: Buffer.from(content) }, invoice: {} as CalculatedInvoice };
}

describe('SFTP against a real OpenSSH server on loopback', function () {
  this.timeout(120_000);
  let sshd: TestSshd;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await sshd.stop();
  });

  const target = (over: Record<string, unknown> = {}) => ({
    kind: 'sftp' as const,
    host: '127.0.0.1',
    port: sshd.port,
    user: currentUser(),
    privateKeyFile: sshd.clientKeyFile,
    folder: sshd.folder,
    hostKeySha256: sshd.hostKeySha256,
    ...over,
  });

  it('a server that freezes with connections open: close() cuts them within seconds, the hanging upload fails, no socket stays open', async () => {
    // a relay in front of the real sshd that can stop passing bytes on, with every socket left open (a frozen server)
    let frozen = false;
    /** bytes the client sent after the server froze: the hanging upload has begun */
    let heldBack = 0;
    const open = new Set<Socket>();
    const relay = createServer((client) => {
      const server = connect(sshd.port, '127.0.0.1');
      for (const s of [client, server]) {
        open.add(s);
        s.on('close', () => open.delete(s));
        s.on('error', () => undefined);
      }
      client.on('data', (d: Buffer) => void (frozen ? (heldBack += d.length) : server.write(d)));
      server.on('data', (d: Buffer) => void (frozen || client.write(d)));
      client.on('close', () => server.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const t = new SftpTransport('t', target({ port: (relay.address() as AddressInfo).port, timeoutMs: 600_000 }));
    try {
      await t.send(request('2026-00101', '<Invoice/>'));
      frozen = true;
      const hanging = t.send(request('2026-00102', '<Invoice/>'));
      hanging.catch(() => undefined);
      await waitFor('the upload under way against the frozen server', () => heldBack > 0);
      const started = Date.now();
      await t.close();
      assert.ok(Date.now() - started < 5_000, `closed in ${Date.now() - started} ms`);
      await assert.rejects(hanging);
      await waitFor('no socket left open', () => open.size === 0, 5_000);
    } finally {
      for (const s of open) s.destroy();
      relay.close();
    }
  });

  it('uploads under a temporary name and renames: the receiver sees a whole file or none', async () => {
    const t = new SftpTransport('t', target());
    try {
      const result = await t.send(request('2026-00001', '<Invoice/>'));
      assert.match(result, /2026-00001\.xml$/);
      assert.equal(readFileSync(join(sshd.folder, '2026-00001.xml'), 'utf-8'), '<Invoice/>');
      assert.deepEqual(
        readdirSync(sshd.folder).filter((n) => n.startsWith('.')),
        [],
        'no temporary file left',
      );
    } finally {
      await t.close();
    }
  });

  it('recognises the same upload twice and never overwrites a different file', async () => {
    const t = new SftpTransport('t', target());
    try {
      await t.send(request('2026-00002', 'one'));
      assert.match(await t.send(request('2026-00002', 'one')), /already there/);
      await assert.rejects(
        t.send(request('2026-00002', 'two')),
        (e: unknown) => e instanceof TransportError && e.permanent && /not overwritten/.test(e.message),
      );
      assert.equal(readFileSync(join(sshd.folder, '2026-00002.xml'), 'utf-8'), 'one');
    } finally {
      await t.close();
    }
  });

  it('refuses a server whose host key is not the configured one (permanent)', async () => {
    const t = new SftpTransport('t', target({ hostKeySha256: sshd.otherHostKeySha256 }));
    await assert.rejects(
      t.send(request('2026-00003', 'x')),
      (e: unknown) => e instanceof TransportError && e.permanent && /host key SHA256:.* is not the configured/.test(e.message),
    );
    assert.ok(!existsSync(join(sshd.folder, '2026-00003.xml')));
  });

  it('reports an authentication failure as permanent', async () => {
    const wrongKey = join(sshd.folder, '..', 'other_host_key');
    const t = new SftpTransport('t', target({ privateKeyFile: wrongKey }));
    await assert.rejects(t.send(request('2026-00004', 'x')), (e: unknown) => e instanceof TransportError && e.permanent && /authentication/i.test(e.message));
  });

  it("an accounting batch goes out over the route's transport: an AccountView file and its summary uploaded to the SFTP drop", async () => {
    const customers = {
      defaults: { paymentTermsDays: 30, routes: [{ format: 'json', transport: 'folder', target: 'out' }] },
      unknownCustomers: 'default',
      customers: {
        '10001': {
          party: { name: 'Bakkerij Jansen B.V.', address: { line1: 'Oudegracht 45', city: 'Utrecht', postalCode: '3511 AB', country: 'NL' } },
          debtorCode: '10001',
          routes: [{ format: 'accountview', transport: 'sftp', target: 'accountant', administration: 'devries' }],
        },
      },
    };
    const ws = workspace({}, customers);
    const gatewayFile = join(ws.config, 'gateway.yaml');
    writeFileSync(
      gatewayFile,
      readFileSync(gatewayFile, 'utf-8').replace(
        /^targets:\n/m,
        `targets:\n  accountant:\n    kind: sftp\n    host: 127.0.0.1\n    port: ${sshd.port}\n    user: ${currentUser()}\n    privateKeyFile: ${sshd.clientKeyFile}\n    folder: ${sshd.folder}/boekhouding\n    hostKeySha256: "${sshd.hostKeySha256}"\n`,
      ),
    );
    (await import('node:fs')).mkdirSync(join(sshd.folder, 'boekhouding'));
    const date = todayNl();
    const csv = [
      'Ordernr;Orderdatum;Debiteur;Referentie klant;Regel;Artikel;Omschrijving;Aantal;Eenheid;Prijs excl.;Korting %;BTW %',
      `70001;${date};10001;PO-1;1;KOF-100;Koffie;2;kg;14,95;;9`,
      `70002;${date};10001;PO-2;1;PEN-1;Pen;10;st;1,50;;21`,
      '',
    ].join('\r\n');
    const file = join(ws.root, 'orders_sftp.csv');
    writeFileSync(file, csv);
    const { spawnSync } = await import('node:child_process');
    const { CLI } = await import('./helpers/paths.js');
    const run = spawnSync(process.execPath, [CLI, 'run-once', file, '--config', ws.config, '--mappings', ws.mappings], { encoding: 'utf-8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const uploaded = readdirSync(join(sshd.folder, 'boekhouding')).sort();
    assert.equal(uploaded.length, 2, uploaded.join(', '));
    assert.match(uploaded[0]!, /^accountview-devries-.*\.csv$/);
    assert.equal(uploaded[1], `${uploaded[0]}.summary.txt`);
    assert.match(readFileSync(join(sshd.folder, 'boekhouding', uploaded[0]!), 'latin1'), /2026-00001|\d{4}-00001/);
    assert.equal(filesIn(join(ws.root, 'data', 'out', 'accounting')).length, 0, 'nothing written to the local pick-up folder');
  });

  it('server stopped during a batch: deliveries are retried after it is back, nothing lost, nothing twice', async () => {
    const ws = workspace({}, { defaults: { paymentTermsDays: 30, routes: [{ format: 'json', transport: 'sftp', target: 'drop' }] } });
    const gatewayFile = join(ws.config, 'gateway.yaml');
    const yaml = readFileSync(gatewayFile, 'utf-8').replace(
      /^targets:\n/m,
      `targets:\n  drop:\n    kind: sftp\n    host: 127.0.0.1\n    port: ${sshd.port}\n    user: ${currentUser()}\n    privateKeyFile: ${sshd.clientKeyFile}\n    folder: ${sshd.folder}/batch\n    hostKeySha256: "${sshd.hostKeySha256}"\n`,
    );
    writeFileSync(gatewayFile, yaml);
    (await import('node:fs')).mkdirSync(join(sshd.folder, 'batch'));
    const service = startService(ws);
    try {
      writeFileSync(join(ws.inbox, 'members', 'contributie_sftp.csv'), membersCsv(400));
      await waitFor('some uploaded', () => filesIn(join(sshd.folder, 'batch')).length > 0, 30_000, 10);
      await sshd.stop();
      const atStop = filesIn(join(sshd.folder, 'batch')).length;
      assert.ok(atStop < 400, `the server must stop mid-batch (${atStop} uploaded)`);
      await waitFor('failures recorded', async () => (await countDeliveries(ws, 'failed')) > 0, 30_000);
      await sshd.start();
      await waitFor('all 400 sent', async () => (await countDeliveries(ws, 'sent')) === 400, 60_000, 200);
    } finally {
      await stopService(service);
    }
    const uploaded = filesIn(join(sshd.folder, 'batch')).filter((p) => !p.includes('/.'));
    assert.equal(uploaded.length, 400, 'every invoice uploaded, none twice');
    assert.deepEqual(
      readdirSync(join(sshd.folder, 'batch')).filter((n) => n.startsWith('.')),
      [],
      'no half files',
    );
  });
});
