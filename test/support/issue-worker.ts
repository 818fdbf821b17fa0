/**
 * A worker process for the numbering tests: opens the shared ledger (a SQLite file, or a
 * postgres:// URL) as a node of its own and issues invoices one transaction at a time, as another
 * gateway node would. Prints the numbers it got as JSON.
 * Usage: node issue-worker.js <ledger file | postgres URL> <worker id> <count>
 */
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { PostgresLedger } from '../../src/ledger/postgres.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { minimalInvoice } from '../helpers/invoice.js';

const [where, worker, countText] = process.argv.slice(2) as [string, string, string];
const lease = { nodeId: `worker-${worker}`, leaseMs: 60_000 };
const ledger: Ledger = where.startsWith('postgres') ? await PostgresLedger.open({ url: where }, lease) : new SqliteLedger(where, lease);
const claim = (await ledger.claimFile({
  source: 'test',
  name: `worker-${worker}.csv`,
  contentHash: `hash-${worker}`,
  processingPath: `/tmp/worker-${worker}-${process.pid}`,
}))!;
const numbers: string[] = [];
for (let i = 0; i < Number(countText); i++) {
  const invoice = minimalInvoice('devries', `${worker}-${i}`);
  const [result] = await ledger.issue([{ fileId: claim.id, seqInFile: i + 1, invoice, deliveries: [], numberFormat: '{yyyy}-{seq:5}' }]);
  if (result?.status === 'issued') numbers.push(result.number);
}
await ledger.close();
process.stdout.write(`${JSON.stringify(numbers)}\n`);
