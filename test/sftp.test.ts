import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeliveryRecord } from '../src/ledger/ledger.js';
import type { CalculatedInvoice } from '../src/model/invoice.js';
import { SftpTransport } from '../src/transports/sftp.js';
import { TransportError } from '../src/transports/transport.js';
import { filesIn, membersCsv, query, startService, stopService, waitFor, workspace } from './helpers/service.js';
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
      await waitFor('failures recorded', () => Number(query(ws, "SELECT COUNT(*) n FROM deliveries WHERE state = 'failed'")[0]?.['n']) > 0, 30_000);
      await sshd.start();
      await waitFor('all 400 sent', () => Number(query(ws, "SELECT COUNT(*) n FROM deliveries WHERE state = 'sent'")[0]?.['n']) === 400, 60_000, 200);
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
