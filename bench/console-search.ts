/**
 * The console on a ledger of 1,000,000 invoices: p50/p95 response times of invoice searches (by
 * number, customer, buyer name, date range, amount, deep keyset pages) and of the overview, over
 * real HTTP against a running gateway. The ledger is filled with rows made by the ledger's own row
 * builders (invoiceRow, deliveryRow), in one transaction per 50,000.
 *   node dist/bench/console-search.js [invoices]
 */
import Database from 'better-sqlite3';
import type { ChildProcess } from 'node:child_process';
import { deliveryKey } from '../src/ledger/keys.js';
import { deliveryRow, invoiceRow } from '../src/ledger/rows.js';
import { SqliteLedger } from '../src/ledger/sqlite.js';
import type { CalculatedInvoice } from '../src/model/invoice.js';
import type { Delivery } from '../src/routing/route.js';
import { UserStore } from '../src/web/users.js';
import { ApiClient } from '../test/helpers/console.js';
import { freePort } from '../test/helpers/net.js';
import { benchGateway } from './support.js';
import { join } from 'node:path';
import { rmSync } from 'node:fs';

const total = Number(process.argv[2] ?? 1_000_000);
const files = Math.max(1, Math.floor(total / 100));
const port = await freePort();
const gateway = benchGateway(
  'console-search',
  (root, base) => ({ console: { port }, targets: { ...(base['targets'] as object), out: { kind: 'folder', path: join(root, 'out') } } }),
  {
    defaults: { paymentTermsDays: 30, routes: [{ format: 'json', transport: 'folder', target: 'out' }] },
  },
);

const BUYERS = [
  'Bakkerij',
  'Garage',
  'Kapsalon',
  'Installatiebedrijf',
  'Tandartspraktijk',
  'Café',
  'Drukkerij',
  'Hoveniersbedrijf',
  'Advocatenkantoor',
  'Fietsenmaker',
];
const PLACES = ['Amersfoort', 'Utrecht', 'Zwolle', 'Leiden', 'Delft', 'Gouda', 'Breda', 'Tilburg', 'Arnhem', 'Haarlem'];
const buyerOf = (i: number): string => `${BUYERS[i % 10]} ${PLACES[Math.floor(i / 10) % 10]} ${Math.floor(i / 100) % 500}`;
const numberOf = (i: number): string => `F2026-${String(i + 1).padStart(7, '0')}`;
const day = (i: number): string => new Date(Date.UTC(2026, 0, 1) + (i % 365) * 86_400_000).toISOString().slice(0, 10);
const amountOf = (i: number): string => (10 + ((i * 7919) % 500_000) / 100).toFixed(2);
const route: Delivery = { routeId: 'json-folder-1', format: 'json', transport: 'folder', target: 'out', options: {}, reason: 'bench' } as Delivery;

function invoice(i: number): CalculatedInvoice {
  return {
    kind: 'invoice',
    issueDate: day(i),
    typeCode: '380',
    currency: 'EUR',
    lines: [],
    vatBreakdown: [],
    seller: { name: 'De Vries Installatietechniek' },
    buyer: { name: buyerOf(i) },
    totals: { payableAmount: amountOf(i) },
    meta: { sellerKey: 'devries', customerKey: `D${i % 20_000}`, sourceFile: `orders_${Math.floor(i / 100)}.csv`, sourceKey: String(i), source: { line: 2 } },
  } as unknown as CalculatedInvoice;
}

// the schema, made by the ledger itself; then rows straight into its tables
const fillStart = Date.now();
await new SqliteLedger(gateway.ledgerFile).close();
const db = new Database(gateway.ledgerFile);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = OFF');
const insert = (table: string, row: Record<string, unknown>) =>
  db.prepare(
    `INSERT INTO ${table} (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row)
      .map((k) => `@${k}`)
      .join(', ')})`,
  );
const fileStmt = db.prepare(
  `INSERT INTO files (id, source, name, content_hash, state, processing_path, final_path, claimed_at, finished_at, invoices_found, invoices_rejected, attempts)
   VALUES (?, 'access', ?, ?, 'done', ?, ?, ?, ?, 100, 0, 1)`,
);
const now = Date.now();
db.transaction(() => {
  for (let f = 1; f <= files; f++) {
    const at = new Date(now - (files - f) * 30_000).toISOString();
    fileStmt.run(f, `orders_${f}.csv`, `h${f}`, `/p/orders_${f}.csv`, `/archive/orders_${f}.csv`, at, at);
  }
})();
const sample = invoiceRow(
  { fileId: 1, seqInFile: 1, invoice: invoice(0), deliveries: [route], numberFormat: 'F{yyyy}-{seq:7}' },
  numberOf(0),
  new Date().toISOString(),
);
const invoiceStmt = insert('invoices', sample);
const deliveryStmt = insert('deliveries', { ...deliveryRow(1, route, 'k', 0, ''), sent_at: '', attempts: 0, last_error: null, state: '' });
const CHUNK = 50_000;
for (let start = 0; start < total; start += CHUNK) {
  db.transaction(() => {
    for (let i = start; i < Math.min(total, start + CHUNK); i++) {
      // spread over the last year, newest last, as a ledger fills
      const at = new Date(now - ((total - i) / total) * 365 * 86_400_000).toISOString();
      const row = invoiceRow(
        { fileId: Math.floor(i / 100) + 1, seqInFile: (i % 100) + 1, invoice: invoice(i), deliveries: [route], numberFormat: 'F{yyyy}-{seq:7}' },
        numberOf(i),
        at,
      );
      const id = Number(invoiceStmt.run(row).lastInsertRowid);
      // one in a thousand went dead, one in two hundred is still failing
      const state = i % 1000 === 7 ? 'dead' : i % 200 === 3 ? 'failed' : 'sent';
      deliveryStmt.run({
        ...deliveryRow(id, route, deliveryKey('devries', numberOf(i), route.routeId), now, at),
        state,
        attempts: state === 'sent' ? 1 : 5,
        sent_at: state === 'sent' ? at : null,
        last_error: state === 'sent' ? null : '550 mailbox unavailable',
      });
    }
  })();
}
db.close();
const fillSeconds = (Date.now() - fillStart) / 1000;
if (process.argv[3] === 'fill-only') {
  // for looking at query plans by hand: the filled ledger stays
  process.stdout.write(`${gateway.ledgerFile}\n`);
  process.exit(0);
}

const users = new UserStore(join(gateway.config, 'console-users.yaml'));
await users.set('bench', { role: 'operator', password: 'bench-password-1' });
const base = `http://127.0.0.1:${port}`;
const service: ChildProcess = await gateway.start([], {}, async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok === true);
const client = new ApiClient(base);
if ((await client.login('bench', 'bench-password-1')) !== 200) throw new Error('cannot sign in');

/** Times `count` requests made by `path(i)`; every answer must be 200. */
async function measure(
  name: string,
  count: number,
  path: (i: number) => string,
  before?: () => Promise<unknown>,
): Promise<{ name: string; p50: number; p95: number; max: number; rows: number }> {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < count; i++) {
    await before?.();
    const started = performance.now();
    const response = await client.request('GET', path(i));
    const text = await response.text();
    times.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`${path(i)}: ${response.status} ${text.slice(0, 200)}`);
    if (text.startsWith('{')) rows += (JSON.parse(text) as { items?: unknown[] }).items?.length ?? 0;
  }
  times.sort((a, b) => a - b);
  const at = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  return { name, p50: at(0.5), p95: at(0.95), max: times[times.length - 1]!, rows };
}

const pick = (i: number, n: number) => (i * 7_919 + 13) % n;
let cursor: number | undefined;
const results = [
  await measure('invoice by number (exact)', 200, (i) => `/api/invoices?number=${numberOf(pick(i, total))}`),
  await measure('invoices by number prefix', 200, (i) => `/api/invoices?number=${numberOf(pick(i, total)).slice(0, 10)}`),
  await measure('invoices of a customer key', 200, (i) => `/api/invoices?customer=D${pick(i, 20_000)}`),
  await measure('invoices by buyer name prefix', 200, (i) => `/api/invoices?customer=${encodeURIComponent(buyerOf(pick(i, 5_000)).slice(0, 14))}`),
  await measure('invoices in a date week', 200, (i) => `/api/invoices?from=${day(pick(i, 358))}&to=${day(pick(i, 358) + 6)}`),
  await measure('invoices by amount range', 200, (i) => `/api/invoices?min=${pick(i, 4000)}&max=${pick(i, 4000) + 25}`),
  await measure('customer + date range', 200, (i) => `/api/invoices?customer=D${pick(i, 20_000)}&from=2026-03-01&to=2026-09-30`),
  await measure('keyset pages, 200 deep (50 rows each)', 200, () => {
    const path = `/api/invoices?limit=50${cursor ? `&before=${cursor}` : ''}`;
    cursor = (cursor ?? total + 1) - 50;
    return path;
  }),
  await measure('invoice search page (HTML)', 100, (i) => `/invoices?customer=D${pick(i, 20_000)}`),
  await measure('invoice detail page (HTML)', 100, (i) => `/invoices/${pick(i, total) + 1}`),
  await measure('dead deliveries list', 100, () => '/api/deliveries?state=dead'),
  // the overview's counts: fresh for 2 s, then shown while new ones are counted in the background (up to a minute old);
  // an action (here: acknowledging an alert) makes the next overview count afresh, in the request
  await measure(
    'overview page (HTML), right after an action',
    20,
    () => '/',
    () => client.request('POST', '/api/alerts/dead-deliveries/acknowledge'),
  ),
  await measure(
    'overview page (HTML), polled every 0.5 s',
    60,
    () => '/',
    () => new Promise((r) => setTimeout(r, 500)),
  ),
  await measure('overview (JSON)', 100, () => '/api/overview'),
];
service.kill('SIGTERM');
await new Promise((r) => service.once('exit', r));
rmSync(gateway.root, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ invoices: total, fillSeconds, results })}\n`);
