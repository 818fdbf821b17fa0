import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ROOT, tempDir } from './helpers/paths.js';
import { filesIn, membersCsv, query, startService, stopService, waitFor, workspace } from './helpers/service.js';

const count = (ws: ReturnType<typeof workspace>, sql: string) => Number(Object.values(query(ws, sql)[0] ?? { n: 0 })[0]);

describe('crash safety and numbering', function () {
  this.timeout(120_000);

  it('SIGKILL in the middle of a 2,000-invoice batch: after a restart every invoice is numbered once without a gap and delivered once', async () => {
    const ws = workspace();
    let service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_big.csv'), membersCsv(2000));
    await waitFor('some invoices stored', () => count(ws, 'SELECT COUNT(*) n FROM invoices') > 0, 30_000, 5);
    const killed = await stopService(service, 'SIGKILL');
    assert.equal(killed, null, 'the service was killed, not stopped');
    const atKill = { invoices: count(ws, 'SELECT COUNT(*) n FROM invoices'), sent: count(ws, "SELECT COUNT(*) n FROM deliveries WHERE state = 'sent'") };
    assert.ok(atKill.invoices < 2000 || atKill.sent < 2000, `the kill must land mid-batch (invoices ${atKill.invoices}, sent ${atKill.sent})`);

    service = startService(ws);
    try {
      await waitFor('all delivered', () => count(ws, "SELECT COUNT(*) n FROM deliveries WHERE state = 'sent'") === 2000, 90_000, 100);
      await waitFor('file finished', () => count(ws, "SELECT COUNT(*) n FROM files WHERE state = 'done'") === 1);
    } finally {
      await stopService(service);
    }
    const numbers = query<{ number: string }>(ws, 'SELECT number FROM invoices ORDER BY number').map((r) => r.number);
    assert.deepEqual(
      numbers,
      Array.from({ length: 2000 }, (_, i) => `LID2027-${String(i + 1).padStart(4, '0')}`),
      'numbered once, no gap',
    );
    assert.equal(count(ws, 'SELECT COUNT(*) n FROM deliveries'), 2000, 'one delivery per invoice');
    const outputs = filesIn(ws.out, (n) => n.endsWith('.json'))
      .map((p) => basename(p))
      .sort();
    assert.equal(outputs.length, 2000, 'each output exactly once');
    assert.equal(new Set(outputs).size, 2000);
    assert.deepEqual(filesIn(join(ws.inbox, 'members')), [], 'nothing left in the inbox');
    assert.deepEqual(filesIn(join(ws.inbox, '.processing')), [], 'nothing left in processing/');
  });

  it('numbers from several processes on one ledger never leave a gap or give a number twice', async () => {
    const file = join(tempDir(), 'ledger.sqlite');
    const worker = join(ROOT, 'dist', 'test', 'support', 'issue-worker.js');
    const run = (id: number) =>
      new Promise<string[]>((resolve, reject) => {
        const child = spawn(process.execPath, [worker, file, String(id), '200'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
        });
        child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(err))));
      });
    // the first worker creates the schema; the others start while it issues
    const results = await Promise.all([1, 2, 3, 4].map(run));
    const all = results.flat().sort();
    assert.equal(all.length, 800);
    assert.deepEqual(
      all,
      Array.from({ length: 800 }, (_, i) => `2026-${String(i + 1).padStart(5, '0')}`),
    );
    assert.ok(results.every((r) => r.length === 200));
  });
});
