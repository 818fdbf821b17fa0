import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tempDir } from './helpers/paths.js';
import { runIssueWorkers, seriesOf } from './helpers/issue-workers.js';
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
    // the first worker creates the schema; the others start while it issues
    const results = await runIssueWorkers(file, 4, 200);
    assert.deepEqual(results.flat().sort(), seriesOf(800));
    assert.ok(results.every((r) => r.length === 200));
  });
});
