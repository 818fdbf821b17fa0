/**
 * Invoices stored and numbered per second on the ledger, SQLite and PostgreSQL, with one node and
 * with three (separate processes issuing into one series at once), each invoice in its own
 * transaction and in the service's batches of 250.
 *   node dist/bench/ledger-throughput.js            (all combinations; prints one JSON line)
 *   node dist/bench/ledger-throughput.js worker <sqlite file | postgres URL> <node> <count> <batch>
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SqliteLedger } from '../src/ledger/sqlite.js';
import { PostgresLedger } from '../src/ledger/postgres.js';
import type { Ledger } from '../src/ledger/ledger.js';
import type { CalculatedInvoice } from '../src/model/invoice.js';
import type { Delivery } from '../src/routing/route.js';
import { businessKeyOf } from '../src/ledger/keys.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { tempDir } from '../test/helpers/paths.js';

/** An invoice of the size the service stores (five lines, parties with addresses), about 4 kB as JSON. */
function invoiceOf(node: string, i: number): CalculatedInvoice {
  const party = (name: string) => ({
    name,
    address: { street: 'Dorpsstraat 1', postalCode: '3811 AB', city: 'Amersfoort', country: 'NL' },
    vatId: 'NL001234567B01',
  });
  const lines = Array.from({ length: 5 }, (_, l) => ({
    id: String(l + 1),
    description: `Artikel ${l + 1} kantoorartikelen`,
    quantity: '2',
    unitCode: 'C62',
    unitPrice: '12.50',
    netAmount: '25.00',
    vat: { category: 'S', rate: '21' },
  }));
  return {
    kind: 'invoice',
    issueDate: '2026-12-01',
    dueDate: '2026-12-31',
    typeCode: '380',
    currency: 'EUR',
    buyerReference: `REF-${node}-${i}`,
    lines,
    vatBreakdown: [{ category: 'S', rate: '21', taxableAmount: '125.00', taxAmount: '26.25' }],
    seller: party('De Vries Kantoorartikelen B.V.'),
    buyer: party(`Klant ${node}-${i}`),
    payment: { meansCode: '58', iban: 'NL91ABNA0417164300' },
    totals: { lineTotal: '125.00', taxExclusive: '125.00', taxTotal: '26.25', taxInclusive: '151.25', payableAmount: '151.25' },
    meta: { sellerKey: 'devries', sourceFile: `orders_${node}.csv`, sourceKey: `${node}-${i}`, source: { line: i + 2 }, customerKey: `K${i % 500}` },
  } as unknown as CalculatedInvoice;
}

const ROUTES = [{ routeId: 'json-folder-1', format: 'json', transport: 'folder', target: 'out', options: {}, reason: 'default' } as unknown as Delivery];

async function open(where: string, nodeId: string): Promise<Ledger> {
  const lease = { nodeId, leaseMs: 60_000 };
  return where.startsWith('postgres') ? PostgresLedger.open({ url: where, poolSize: 2 }, lease) : new SqliteLedger(where, lease);
}

/** One node: waits for "go" on stdin, issues its invoices, prints how many it numbered. */
async function worker(where: string, node: string, count: number, batch: number): Promise<void> {
  const ledger = await open(where, node);
  const file = (await ledger.claimFile({ source: 'bench', name: `${node}.csv`, contentHash: node, processingPath: `/bench/${node}-${process.pid}` }))!;
  process.stdout.write('ready\n');
  const go = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => go.once('line', () => resolve()));
  go.close();
  let numbered = 0;
  for (let i = 0; i < count; i += batch) {
    const requests = Array.from({ length: Math.min(batch, count - i) }, (_, k) => {
      const invoice = invoiceOf(node, i + k);
      return {
        fileId: file.id,
        seqInFile: i + k + 1,
        invoice,
        deliveries: ROUTES,
        numberFormat: '{yyyy}-{seq:6}',
        businessKey: businessKeyOf(invoice, 'bench'),
      };
    });
    numbered += (await ledger.issue(requests)).filter((r) => r.status === 'issued').length;
  }
  await ledger.close();
  process.stdout.write(`${numbered}\n`);
}

/** Runs `nodes` worker processes on one ledger at once; invoices per second from "go" to the last one done. */
async function measure(where: string, nodes: number, perNode: number, batch: number): Promise<{ perSecond: number; numbered: number; max: string }> {
  const script = fileURLToPath(import.meta.url);
  const children = Array.from({ length: nodes }, (_, n) => spawn(process.execPath, [script, 'worker', where, `node-${n + 1}`, String(perNode), String(batch)]));
  const lines = children.map((c) => createInterface({ input: c.stdout! })[Symbol.asyncIterator]());
  for (const l of lines) if ((await l.next()).value !== 'ready') throw new Error('a worker did not start');
  const start = process.hrtime.bigint();
  for (const c of children) c.stdin!.end('go\n');
  const counts = await Promise.all(lines.map(async (l) => Number((await l.next()).value)));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const numbered = counts.reduce((a, b) => a + b, 0);
  // the numbers must run 1..n with no gap, whatever the interleaving
  const ledger = await open(where, 'bench-check');
  const max = (await ledger.invoiceByNumber('devries', `2026-${String(numbered).padStart(6, '0')}`))?.number ?? 'missing';
  await ledger.close();
  return { perSecond: numbered / seconds, numbered, max };
}

if (process.argv[2] === 'worker') {
  const [, , , where, node, count, batch] = process.argv as string[];
  await worker(where!, node!, Number(count), Number(batch));
} else {
  const server = await startPostgres();
  const results: { kind: string; nodes: number; batch: number; perSecond: number; numbered: number; gapFree: boolean }[] = [];
  try {
    for (const kind of ['sqlite', 'postgres'] as const) {
      for (const nodes of [1, 3]) {
        for (const [batch, perNode] of [
          [1, 1500],
          [250, 6000],
        ] as const) {
          const where = kind === 'sqlite' ? join(tempDir('igw-bench-ledger-'), 'ledger.sqlite') : await server.createDatabase();
          const r = await measure(where, nodes, Math.round(perNode / nodes), batch);
          results.push({ kind, nodes, batch, perSecond: r.perSecond, numbered: r.numbered, gapFree: r.max !== 'missing' });
        }
      }
    }
  } finally {
    await server.stop();
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
}
