/**
 * A worker process for the numbering test: opens the shared ledger and issues invoices one
 * transaction at a time, as a second gateway node would. Prints the numbers it got as JSON.
 * Usage: node issue-worker.js <ledger file> <worker id> <count>
 */
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import { minimalInvoice } from '../helpers/invoice.js';

const [file, worker, countText] = process.argv.slice(2) as [string, string, string];
const ledger = new SqliteLedger(file);
const claim = ledger.claimFile({
  source: 'test',
  name: `worker-${worker}.csv`,
  contentHash: `hash-${worker}`,
  processingPath: `/tmp/worker-${worker}-${process.pid}`,
})!;
const numbers: string[] = [];
for (let i = 0; i < Number(countText); i++) {
  const invoice = minimalInvoice('devries', `${worker}-${i}`);
  const [result] = ledger.issue([{ fileId: claim.id, seqInFile: i + 1, invoice, deliveries: [], numberFormat: '{yyyy}-{seq:5}' }]);
  if (result?.status === 'issued') numbers.push(result.number);
}
ledger.close();
process.stdout.write(`${JSON.stringify(numbers)}\n`);
