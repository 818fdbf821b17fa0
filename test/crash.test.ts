import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tempDir } from './helpers/paths.js';
import { runIssueWorkers, seriesOf } from './helpers/issue-workers.js';
import { filesIn, membersCsv, startService, stopService, waitFor, workspace } from './helpers/service.js';
import { countDeliveries, countFiles, countInvoices, invoiceNumbers } from './helpers/ledger-view.js';

describe('crash safety and numbering', function () {
  this.timeout(120_000);

  it('SIGKILL in the middle of a 2,000-invoice batch: after a restart every invoice is numbered once without a gap and delivered once', async () => {
    const ws = workspace();
    let service = startService(ws);
    writeFileSync(join(ws.inbox, 'members', 'contributie_big.csv'), membersCsv(2000));
    await waitFor('some invoices stored', async () => (await countInvoices(ws)) > 0, 30_000, 5);
    const killed = await stopService(service, 'SIGKILL');
    assert.equal(killed, null, 'the service was killed, not stopped');
    const atKill = { invoices: await countInvoices(ws), sent: await countDeliveries(ws, 'sent') };
    assert.ok(atKill.invoices < 2000 || atKill.sent < 2000, `the kill must land mid-batch (invoices ${atKill.invoices}, sent ${atKill.sent})`);

    service = startService(ws);
    try {
      await waitFor('all delivered', async () => (await countDeliveries(ws, 'sent')) === 2000, 90_000, 100);
      await waitFor('file finished', async () => (await countFiles(ws, 'done')) === 1);
    } finally {
      await stopService(service);
    }
    const numbers = await invoiceNumbers(ws);
    assert.deepEqual(
      numbers,
      Array.from({ length: 2000 }, (_, i) => `LID2027-${String(i + 1).padStart(4, '0')}`),
      'numbered once, no gap',
    );
    assert.equal(await countDeliveries(ws), 2000, 'one delivery per invoice');
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
