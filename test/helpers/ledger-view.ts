import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DeliveryState, FileState, InvoiceState, Ledger } from '../../src/ledger/ledger.js';
import { PostgresLedger } from '../../src/ledger/postgres.js';
import { SqliteLedger } from '../../src/ledger/sqlite.js';
import type {
  DeliveryFilter,
  DeliverySummary,
  EventFilter,
  EventRecord,
  FileFilter,
  FileSummary,
  InvoiceFilter,
  InvoiceSummary,
  Page,
} from '../../src/ledger/sql/browse.js';
import { waitFor, type Workspace } from './service.js';

/**
 * What the service tests may know of a ledger: only what the Ledger interface tells `status`,
 * the console and the API (never SQL), so a test states what a user sees and survives a change
 * of schema. A workspace's SQLite ledger is read beside its running service (no process lock,
 * WAL); a PostgreSQL ledger is named by its URL.
 */
export type LedgerAt = Workspace | { url: string };

/** A reader's node id: never the id of a node, so a read takes no lease of theirs. */
const READER = { nodeId: 'test-reader', leaseMs: 60_000 };

/** SQLite ledgers kept open between polls (opening checks the whole file), the latest few only. */
const open = new Map<string, { inode: number; ledger: Ledger }>();
const KEEP_OPEN = 4;

async function sqliteLedger(file: string): Promise<Ledger | undefined> {
  if (!existsSync(file)) return undefined;
  const inode = statSync(file).ino;
  const kept = open.get(file);
  if (kept?.inode === inode) return kept.ledger;
  // a file made again in the same place (a test that starts over) is another ledger
  if (kept) await kept.ledger.close();
  open.delete(file);
  if (open.size >= KEEP_OPEN) {
    const [oldest] = open.keys();
    await open.get(oldest!)!.ledger.close();
    open.delete(oldest!);
  }
  const ledger = new SqliteLedger(file, READER);
  open.set(file, { inode, ledger });
  return ledger;
}

/** Runs `read` on the ledger; `empty` when the service has not made it yet. */
export async function readLedger<T>(at: LedgerAt, read: (ledger: Ledger) => Promise<T>, empty: T): Promise<T> {
  if ('url' in at) {
    const ledger = await PostgresLedger.open({ url: at.url, poolSize: 1 }, READER);
    try {
      return await read(ledger);
    } finally {
      await ledger.close();
    }
  }
  const ledger = await sqliteLedger(join(at.data, 'ledger.sqlite'));
  return ledger ? read(ledger) : empty;
}

/** Counts per state, as `invoice-gateway status` shows them ('all': every state). */
interface Counts {
  files: Record<string, number>;
  invoices: Record<string, number>;
  deliveries: Record<string, number>;
}

async function counts(at: LedgerAt): Promise<Counts> {
  return readLedger(at, async (ledger) => (await ledger.status(Date.now())) as Counts, { files: {}, invoices: {}, deliveries: {} });
}

const inState = (perState: Record<string, number>, state?: string): number =>
  state ? (perState[state] ?? 0) : Object.values(perState).reduce((sum, n) => sum + n, 0);

/** Files in the ledger, in one state or all. */
export async function countFiles(at: LedgerAt, state?: FileState): Promise<number> {
  return inState((await counts(at)).files, state);
}

/** Invoices in the ledger, in one state or all ('issued': those with a number). */
export async function countInvoices(at: LedgerAt, state?: InvoiceState): Promise<number> {
  return inState((await counts(at)).invoices, state);
}

/** Deliveries in the ledger, in one state or all. */
export async function countDeliveries(at: LedgerAt, state?: DeliveryState): Promise<number> {
  return inState((await counts(at)).deliveries, state);
}

/** Every page of a browse list on an open ledger, newest first. */
async function pagesOf<T extends { id: number }, F extends { before?: number; limit?: number }>(
  ledger: Ledger,
  list: (ledger: Ledger, filter: F) => Promise<Page<T>>,
  filter: F,
): Promise<T[]> {
  const items: T[] = [];
  for (let before: number | undefined; ;) {
    const page = await list(ledger, { ...filter, before, limit: 200 });
    items.push(...page.items);
    if (page.next === undefined) return items;
    before = page.next;
  }
}

/** Every page of a browse list, newest first. */
async function allPages<T extends { id: number }, F extends { before?: number; limit?: number }>(
  at: LedgerAt,
  list: (ledger: Ledger, filter: F) => Promise<Page<T>>,
  filter: F,
): Promise<T[]> {
  return readLedger(at, (ledger) => pagesOf(ledger, list, filter), []);
}

/** The files the ledger knows, oldest first. */
export async function listFiles(at: LedgerAt, filter: FileFilter = {}): Promise<FileSummary[]> {
  return (await allPages(at, (l, f) => l.browse.files(f), filter)).reverse();
}

/** The invoices the ledger knows (held and rejected ones too), oldest first. */
export async function listInvoices(at: LedgerAt, filter: InvoiceFilter = {}): Promise<InvoiceSummary[]> {
  return (await allPages(at, (l, f) => l.browse.invoices(f), filter)).reverse();
}

/** The deliveries the ledger knows, oldest first. */
export async function listDeliveries(at: LedgerAt, filter: DeliveryFilter = {}): Promise<DeliverySummary[]> {
  return (await allPages(at, (l, f) => l.browse.deliveries(f), filter)).reverse();
}

/** The deliveries of the documents of one kind ('invoice', 'quote'), oldest first. */
export async function deliveriesOfKind(at: LedgerAt, kind: string): Promise<DeliverySummary[]> {
  const ofKind = new Set((await listInvoices(at)).filter((i) => i.kind === kind).map((i) => i.id));
  return (await listDeliveries(at)).filter((d) => ofKind.has(d.invoiceId));
}

/** The audit log's events of one kind, oldest first. */
export async function listEvents(at: LedgerAt, kind: string): Promise<EventRecord[]> {
  return (await allPages<EventRecord, EventFilter>(at, (l, f) => l.browse.events(f), { kinds: [kind] })).reverse();
}

/** The number series in use with the last number each took, as `status` shows them. */
export async function numberSeries(at: LedgerAt): Promise<{ seller: string; counter: string; last: number }[]> {
  return readLedger(at, async (ledger) => (await ledger.status(Date.now())).numberSeries, []);
}

/** Every invoice's number, sorted; null for one without (held or rejected), so a test sees those too. */
export async function invoiceNumbers(at: LedgerAt): Promise<(string | null)[]> {
  const numbers = (await listInvoices(at)).map((i) => i.number ?? null);
  return [...numbers.filter((n) => n === null), ...(numbers.filter((n) => n !== null) as string[]).sort()];
}

/** The invoice numbers in finished accounting import files (of one administration, or all), once per booking (a number booked twice is there twice). */
export async function bookedNumbers(at: LedgerAt, administration?: string): Promise<string[]> {
  return readLedger(
    at,
    async (ledger) => {
      const batches = (await pagesOf(ledger, (l, f) => l.browse.batches(f), {})).filter(
        (b) => b.state === 'done' && (!administration || b.administration === administration),
      );
      const numbers: string[] = [];
      for (const batch of batches)
        for (let from = 0; from < batch.deliveryIds.length; from += 200) {
          const ids = batch.deliveryIds.slice(from, from + 200);
          numbers.push(...(await pagesOf<DeliverySummary, DeliveryFilter>(ledger, (l, f) => l.browse.deliveries(f), { ids })).map((d) => d.invoiceNumber));
        }
      return numbers.sort();
    },
    [],
  );
}

/** Waits until the service has opened and migrated its ledger and joined it as a node. */
export async function waitForLedger(at: LedgerAt): Promise<void> {
  await waitFor('the service on its ledger', () => readLedger(at, async (ledger) => (await ledger.nodes()).length > 0, false));
}
