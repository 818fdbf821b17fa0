import { strict as assert } from 'node:assert';
import { businessKeyOf, copyKey, deliveryKey, resendOf } from '../../src/ledger/keys.js';
import type { IssueRequest, LeaseSettings, Ledger } from '../../src/ledger/ledger.js';
import type { CalculatedInvoice } from '../../src/model/invoice.js';
import { minimalInvoice } from './invoice.js';
import type { Delivery } from '../../src/routing/route.js';
import { waitFor } from './service.js';
import { LeaseLostError, NodeReplacedError } from '../../src/errors.js';

const invoice = minimalInvoice;

const route = (routeId: string, transport = 'folder', target = 'out', format = 'json'): Delivery =>
  ({ routeId, format, transport, target, options: {}, reason: 'test' }) as Delivery;

/** A back-end under test: `database()` makes a fresh, empty ledger store; `open` connects a node to it. */
export interface Backend {
  database(): Promise<string>;
  open(where: string, lease: LeaseSettings): Promise<Ledger>;
}

/** Long enough that nothing expires during a test step on a busy machine, unless a test waits for it. */
const LEASE = 60_000;
/** Short, for the tests that wait for a dead node's lease to expire. */
const SHORT_LEASE = 2_000;

/**
 * The ledger's contract, written against the interface: SQLite and PostgreSQL pass the same tests.
 * Two ledger objects on one store are two nodes.
 */
export function ledgerConformance(name: string, backend: () => Backend): void {
  describe(`ledger contract: ${name}`, function () {
    this.timeout(60_000);
    let where: string;
    let ledger: Ledger;
    let fileId: number;
    const others: Ledger[] = [];
    const node = async (nodeId: string, leaseMs = LEASE): Promise<Ledger> => {
      const l = await backend().open(where, { nodeId, leaseMs });
      others.push(l);
      return l;
    };
    beforeEach(async () => {
      where = await backend().database();
      ledger = await backend().open(where, { nodeId: 'node-a', leaseMs: LEASE });
      fileId = (await ledger.claimFile({ source: 'members', name: 'a.csv', contentHash: 'h1', processingPath: '/p/a.csv' }))!.id;
    });
    afterEach(async () => {
      await ledger.close();
      for (const l of others.splice(0)) await l.close();
    });
    /** A batch file (f.xml) for the Exact Online deliveries waiting for administration adm. */
    const openExactBatch = (l: Ledger, pending: { id: number }[]): Promise<number | undefined> =>
      l.openBatch({ format: 'exact-online', administration: 'adm', fileName: 'f.xml', contentHash: 'x', deliveryIds: pending.map((p) => p.id) });
    const request = (seq: number, inv: CalculatedInvoice, extra: Partial<IssueRequest> = {}): IssueRequest => ({
      fileId,
      seqInFile: seq,
      invoice: inv,
      deliveries: [route('json-folder-1')],
      numberFormat: '{yyyy}-{seq:5}',
      businessKey: businessKeyOf(inv, 'members'),
      ...extra,
    });

    it('a processing path is claimed once', async () => {
      assert.equal(await ledger.claimFile({ source: 'members', name: 'a.csv', contentHash: 'h1', processingPath: '/p/a.csv' }), undefined);
      const b = await node('node-b');
      assert.equal(await b.claimFile({ source: 'members', name: 'a.csv', contentHash: 'h1', processingPath: '/p/a.csv' }), undefined, 'nor by another node');
    });

    it('a claim says which earlier file of the source had the same content and issued invoices (the duplicate check, in one statement)', async () => {
      assert.equal((await ledger.claimFile({ source: 'members', name: 'b.csv', contentHash: 'h2', processingPath: '/p/b.csv' }))!.sameContentAs, undefined);
      await ledger.finishFile(fileId, 'done', { invoicesFound: 1, invoicesRejected: 0 });
      const again = await ledger.claimFile({ source: 'members', name: 'a2.csv', contentHash: 'h1', processingPath: '/p/a2.csv' });
      assert.equal(again!.sameContentAs, fileId);
      // another source, or a file that was refused, does not count
      assert.equal((await ledger.claimFile({ source: 'shop', name: 'a.csv', contentHash: 'h1', processingPath: '/p/shop-a.csv' }))!.sameContentAs, undefined);
      await ledger.finishFile(again!.id, 'error', { error: 'line 2: no price' });
      const third = await ledger.claimFile({ source: 'members', name: 'a3.csv', contentHash: 'h1', processingPath: '/p/a3.csv' });
      assert.equal(third!.sameContentAs, fileId, 'the earliest done one');
    });

    it('numbers are gap-free per seller and series, and a resumed file gets back what it stored', async () => {
      const results = await ledger.issue([request(1, invoice('a', '1')), request(2, invoice('a', '2')), request(3, invoice('b', '3'))]);
      assert.deepEqual(
        results.map((r) => (r.status === 'issued' ? r.number : r.status)),
        ['2026-00001', '2026-00002', '2026-00001'],
      );
      const again = await ledger.issue([request(2, invoice('a', '2'))]);
      assert.equal(again[0]!.status, 'existing');
    });

    it('numbers stay gap-free and unique when four nodes issue into one series at once', async () => {
      const nodes = [ledger, await node('node-b'), await node('node-c'), await node('node-d')];
      const files = await Promise.all(
        nodes.map(async (n, i) => (await n.claimFile({ source: 'members', name: `n${i}.csv`, contentHash: `n${i}`, processingPath: `/p/n${i}.csv` }))!.id),
      );
      const numbers = (
        await Promise.all(
          nodes.map(async (n, i) => {
            const got: string[] = [];
            for (let k = 1; k <= 25; k++) {
              const [r] = await n.issue([{ ...request(k, invoice('a', `${i}-${k}`)), fileId: files[i]! }]);
              if (r?.status === 'issued') got.push(r.number);
            }
            return got;
          }),
        )
      )
        .flat()
        .sort();
      assert.deepEqual(
        numbers,
        Array.from({ length: 100 }, (_, i) => `2026-${String(i + 1).padStart(5, '0')}`),
      );
    });

    it('an invoice whose business key was issued before is not issued again, unless asked', async () => {
      await ledger.issue([request(1, invoice('a', 'K1'))]);
      const second = (await ledger.claimFile({ source: 'members', name: 'b.csv', contentHash: 'h2', processingPath: '/p/b.csv' }))!.id;
      const [before] = await ledger.issue([{ ...request(1, invoice('a', 'K1')), fileId: second }]);
      assert.deepEqual(before, { status: 'issued-before', invoiceId: 1, number: '2026-00001', existingFile: 'a.csv' });
      const [again] = await ledger.issue([{ ...request(2, invoice('a', 'K1')), fileId: second, issueAgain: true }]);
      assert.equal(again!.status, 'issued');
      // another seller's invoice with the same source key is its own
      const [other] = await ledger.issue([{ ...request(3, invoice('b', 'K1')), fileId: second }]);
      assert.equal(other!.status, 'issued');
    });

    it('one call holding the same business key or own number twice stores the first and refuses the second', async () => {
      const results = await ledger.issue([
        request(1, invoice('a', 'K1')),
        request(2, invoice('a', 'K2', { number: 'F-1' })),
        request(3, invoice('a', 'K1')),
        request(4, invoice('a', 'K3', { number: 'F-1' })),
        request(5, invoice('a', 'K4')),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['issued', 'issued', 'issued-before', 'duplicate-number', 'issued'],
      );
      assert.deepEqual(results[2], {
        status: 'issued-before',
        invoiceId: (results[0] as { invoiceId: number }).invoiceId,
        number: '2026-00001',
        existingFile: 'a.csv',
      });
      assert.equal((results[4] as { number: string }).number, '2026-00002', 'no number taken by a refused one');
    });

    it('two nodes storing the same business key at the same moment issue it once', async () => {
      const b = await node('node-b');
      const fileB = (await b.claimFile({ source: 'members', name: 'b.csv', contentHash: 'h2', processingPath: '/p/b.csv' }))!.id;
      const results = await Promise.all([ledger.issue([request(1, invoice('a', 'SAME'))]), b.issue([{ ...request(1, invoice('a', 'SAME')), fileId: fileB }])]);
      assert.deepEqual(results.map((r) => r[0]!.status).sort(), ['issued', 'issued-before']);
    });

    it('numbers are unique per seller: looking one up takes the seller', async () => {
      await ledger.issue([request(1, invoice('a', '1')), request(2, invoice('b', '2'))]);
      assert.equal((await ledger.invoiceByNumber('a', '2026-00001'))!.invoice.meta.sourceKey, '1');
      assert.equal((await ledger.invoiceByNumber('b', '2026-00001'))!.invoice.meta.sourceKey, '2');
      assert.deepEqual(await ledger.sellersOfNumber('2026-00001'), ['a', 'b']);
      assert.equal(await ledger.invoiceByNumber('c', '2026-00001'), undefined);
    });

    it('several invoices are read by id in one look; an id the ledger does not have is left out', async () => {
      const issued = await ledger.issue([request(1, invoice('a', '1')), request(2, invoice('a', '2'))]);
      const ids = issued.map((r) => (r as { invoiceId: number }).invoiceId);
      const found = await ledger.invoicesByIds([...ids, ids[0]!, 9999]);
      assert.deepEqual([...found.keys()].sort(), ids.sort());
      assert.equal(found.get(ids[1]!)!.number, '2026-00002');
      assert.equal((await ledger.invoicesByIds([])).size, 0);
    });

    it('a number from the source is kept, and refused when the seller used it before', async () => {
      const [kept] = await ledger.issue([request(1, invoice('a', 'X', { number: 'F-9' }))]);
      assert.deepEqual(kept, { status: 'issued', invoiceId: 1, number: 'F-9' });
      const [clash] = await ledger.issue([request(2, invoice('a', 'Y', { number: 'F-9' }))]);
      assert.equal(clash!.status, 'duplicate-number');
    });

    it('the payment reference defaults to the number; a document passed through keeps its own (none)', async () => {
      await ledger.issue([request(1, invoice('a', '1')), request(2, invoice('a', '2', { meta: { ...invoice('a', '2').meta, amountsDeclared: true } }))]);
      assert.equal((await ledger.invoiceByNumber('a', '2026-00001'))!.invoice.payment!.paymentReference, '2026-00001');
      assert.equal((await ledger.invoiceByNumber('a', '2026-00002'))!.invoice.payment!.paymentReference, undefined);
    });

    it('a held invoice takes its number when issued, and one rejected when due leaves the schedule without a number', async () => {
      const [held] = await ledger.issue([
        request(1, invoice('a', '1'), { hold: { orderKey: 'a|1', until: 0 } }),
        request(2, invoice('a', '2'), { hold: { orderKey: 'a|2', until: 0 } }),
      ]);
      assert.equal(held!.status, 'held');
      const due = await ledger.claimDueHeld(Date.now());
      assert.equal(due.length, 2);
      assert.deepEqual(await ledger.issueHeld(due[0]!.id, invoice('a', '1'), [route('json-folder-1')]), { number: '2026-00001' });
      assert.equal(await ledger.issueHeld(due[0]!.id, invoice('a', '1'), [route('json-folder-1')]), undefined, 'issued once');
      await ledger.rejectHeld(due[1]!.id, 'PEPPOL-EN16931-R010');
      assert.deepEqual(await ledger.claimDueHeld(Date.now()), []);
      assert.equal((await ledger.invoiceById(due[1]!.id))!.state, 'rejected');
      assert.equal((await ledger.invoiceById(due[1]!.id))!.number, undefined);
    });

    it('a due held invoice is checked by one node at a time; a dead node’s claim passes on when it expires', async () => {
      const a = await node('node-a2', SHORT_LEASE);
      await ledger.issue([request(1, invoice('a', '1'), { hold: { orderKey: 'a|1', until: 0 } })]);
      const b = await node('node-b');
      assert.equal((await a.claimDueHeld(Date.now())).length, 1);
      assert.equal((await b.claimDueHeld(Date.now())).length, 0, 'leased to node a2');
      const taken = await waitFor('the lease to expire', async () => (await b.claimDueHeld(Date.now())).length === 1 || undefined, 30_000);
      assert.ok(taken);
    });

    it('deliveries: keys from the number and route, busy targets skipped, a start releases only its own', async () => {
      await ledger.issue([
        request(1, invoice('a', '1'), { deliveries: [route('json-sftp-1', 'sftp', 'dead-server'), route('json-folder-2')] }),
        request(2, invoice('a', '2'), { deliveries: [route('json-sftp-1', 'sftp', 'dead-server')] }),
      ]);
      const claimed = await ledger.claimDueDeliveries(Date.now(), 10, ['sftp:dead-server']);
      assert.deepEqual(
        claimed.map((d) => d.idempotencyKey),
        [deliveryKey('a', '2026-00001', 'json-folder-2')],
      );
      await ledger.markSent(claimed[0]!.id, 'written');
      const rest = await ledger.claimDueDeliveries(Date.now(), 10);
      assert.equal(rest.length, 2);
      const b = await node('node-b');
      assert.equal(await b.releaseOwnSending(), 0, "another node's sends are not released");
      assert.deepEqual(await b.claimDueDeliveries(Date.now(), 10), [], 'nor claimed while their lease runs');
      assert.equal(await ledger.markFailed(rest[0]!.id, 'down', Date.now() + 60_000, false), true);
      assert.equal(await ledger.releaseOwnSending(), 1);
      assert.equal((await ledger.claimDueDeliveries(Date.now(), 10)).length, 1, 'a failed one waits for its time');
      // timed by a clock that was a day ahead and has been set back since: no retry pause is that long
      const [late] = await ledger.claimDueDeliveries(Date.now() + 120_000, 10);
      await ledger.markFailed(late!.id, 'down', Date.now() + 86_400_000, false);
      assert.deepEqual(await ledger.claimDueDeliveries(Date.now(), 10), [], 'an ordinary claim leaves it');
      assert.equal((await ledger.claimDueDeliveries(Date.now(), 10, [], Date.now() + 7_200_000)).length, 1, 'due now after a clock step back');
    });

    it('files that end at the same moment are each recorded once, with what each found', async () => {
      const other = (await ledger.claimFile({ source: 'members', name: 'b.csv', contentHash: 'h2', processingPath: '/p/b.csv' }))!.id;
      const ends = await Promise.all([
        ledger.finishFile(fileId, 'done', { finalPath: '/archive/a.csv', invoicesFound: 3, invoicesRejected: 1 }),
        ledger.finishFile(other, 'error', { error: 'line 2: no price' }),
        // a second end of a file that is ending: the first stands
        ledger.finishFile(fileId, 'error', { error: 'late' }),
      ]);
      assert.deepEqual(ends, [true, true, false]);
      const a = (await ledger.file(fileId))!;
      assert.deepEqual([a.state, a.finalPath, a.invoicesFound, a.invoicesRejected, a.error], ['done', '/archive/a.csv', 3, 1, undefined]);
      const b = (await ledger.file(other))!;
      assert.deepEqual([b.state, b.error], ['error', 'line 2: no price']);
    });

    it('sends that finish at the same moment are each recorded, and only those this node holds', async () => {
      await ledger.issue([request(1, invoice('a', '1'), { deliveries: [route('json-folder-1'), route('json-folder-2'), route('json-folder-3')] })]);
      const held = await ledger.claimDueDeliveries(Date.now(), 2);
      const [notHeld] = (await ledger.browse.deliveries({ state: 'pending' })).items;
      const outcomes = await Promise.all([
        ...held.map((d, i) => ledger.markSent(d.id, `written ${i}`, i === 0 ? 'accepted' : undefined)),
        ledger.markSent(notHeld!.id, 'written by nobody'),
      ]);
      assert.deepEqual(outcomes, [true, true, false]);
      const listed = await ledger.browse.deliveries({ ids: held.map((d) => d.id) });
      assert.deepEqual(listed.items.map((d) => [d.id, d.state, d.result, d.progress]).sort(), [
        [held[0]!.id, 'sent', 'written 0', 'accepted'],
        [held[1]!.id, 'sent', 'written 1', undefined],
      ]);
      assert.equal((await ledger.deliveryById(notHeld!.id))!.state, 'pending');
    });

    it('a sent delivery keeps how far it got (accepted, then delivered); a later note without a stage keeps the stage', async () => {
      await ledger.issue([request(1, invoice('a', '1'), { deliveries: [route('ubl-peppol-1', 'peppol', 'ap'), route('json-folder-2')] })]);
      const [peppol, folder] = await ledger.claimDueDeliveries(Date.now(), 10);
      await ledger.markSent(peppol!.id, 'accepted by the access point', 'accepted');
      await ledger.markSent(folder!.id, 'written');
      assert.equal((await ledger.deliveryById(peppol!.id))!.progress, 'accepted');
      assert.equal((await ledger.deliveryById(folder!.id))!.progress, undefined, 'a folder has no further stage');
      await ledger.amendResult(peppol!.id, 'delivered to the receiver', 'delivered');
      await ledger.amendResult(peppol!.id, 'delivered to the receiver (evidence kept)');
      const listed = await ledger.browse.deliveries({ ids: [peppol!.id] });
      assert.deepEqual(
        listed.items.map((d) => [d.state, d.progress, d.result]),
        [['sent', 'delivered', 'delivered to the receiver (evidence kept)']],
      );
    });

    it('two nodes claiming at once never get the same delivery; a dead node’s sends pass on after its lease', async () => {
      const requests = Array.from({ length: 40 }, (_, i) => request(i + 1, invoice('a', String(i + 1))));
      await ledger.issue(requests);
      const dying = await node('node-dying', SHORT_LEASE);
      const b = await node('node-b');
      const [x, y] = await Promise.all([dying.claimDueDeliveries(Date.now(), 25), b.claimDueDeliveries(Date.now(), 25)]);
      const ids = [...x!, ...y!].map((d) => d.id);
      assert.equal(ids.length, 40);
      assert.equal(new Set(ids).size, 40, 'no delivery claimed twice');
      // node-dying stops renewing: its claims come back to the others, with their attempt counted
      const takenOver = await waitFor(
        'the dead node’s lease to expire',
        async () => {
          const got = await b.claimDueDeliveries(Date.now(), 50);
          return got.length ? got : undefined;
        },
        30_000,
      );
      assert.deepEqual(takenOver.map((d) => d.id).sort(), x!.map((d) => d.id).sort());
      assert.ok(takenOver.every((d) => d.attempts === 2));
    });

    it('renewing keeps a lease; a claimed file passes to another node only when its lease expired', async () => {
      const a = await node('node-a2', SHORT_LEASE);
      const file = (await a.claimFile({ source: 'members', name: 'c.csv', contentHash: 'h3', processingPath: '/p/c.csv' }))!;
      const b = await node('node-b');
      assert.deepEqual(await b.takeOverFiles({ own: true }), [], 'not while a2 holds it');
      await a.renewLeases();
      assert.deepEqual(
        (await a.takeOverFiles({ own: true })).map((f) => f.id),
        [file.id],
        'a node at start takes back its own leftovers',
      );
      const taken = await waitFor('the lease to expire', async () => (await b.takeOverFiles({ own: false })).find((f) => f.id === file.id), 30_000);
      assert.equal(taken.name, 'c.csv');
      assert.deepEqual(await a.takeOverFiles({ own: false }), [], 'now b holds it');
      assert.equal(await a.reclaimFile(file.id), false, 'a node back from a pause finds its file taken over and leaves it');
      await assert.rejects(
        a.issue([{ ...request(1, invoice('a', 'late')), fileId: file.id }]),
        (err: Error) => err instanceof LeaseLostError,
        'nor can it store invoices for it any more (fencing)',
      );
      assert.equal(await b.reclaimFile(file.id), true);
    });

    it('exactly one node writes an accounting batch', async () => {
      await ledger.issue([
        request(1, invoice('a', '1'), { deliveries: [route('exact-1', 'folder', 'adm', 'exact-online')] }),
        request(2, invoice('a', '2'), { deliveries: [route('exact-1', 'folder', 'adm', 'exact-online')] }),
      ]);
      const b = await node('node-b');
      const pending = await ledger.pendingExports('exact-online', 'adm', Date.now());
      assert.equal(pending.length, 2);
      assert.deepEqual(await ledger.claimDueDeliveries(Date.now(), 10), [], 'batched formats are not sent one by one');
      const batch = { format: 'exact-online', administration: 'adm', fileName: 'f.xml', contentHash: 'x', deliveryIds: pending.map((d) => d.id) };
      const [first, second] = await Promise.all([ledger.openBatch(batch), b.openBatch({ ...batch, fileName: 'g.xml' })]);
      assert.equal([first, second].filter((id) => id !== undefined).length, 1);
      const winner = first !== undefined ? ledger : b;
      const loser = first !== undefined ? b : ledger;
      assert.deepEqual(await loser.takeOverBatches(), [], 'the batch is leased to the node writing it');
      await winner.finishBatch((first ?? second)!, [
        { invoiceNumber: '2026-00001', contentHash: 'a' },
        { invoiceNumber: '2026-00002', contentHash: 'b' },
      ]);
      assert.equal(await ledger.exportedIn('exact-online', 'adm', '2026-00002'), first ?? second);
      assert.deepEqual(await ledger.pendingExports('exact-online', 'adm', Date.now()), []);
    });

    it('a bounce read later turns a sent mail into bounced, once and logged; retry --to sends it to the corrected address', async () => {
      await ledger.issue([request(1, invoice('a', '1'), { deliveries: [route('pdf-email-1', 'email', 'jan@example.nl', 'pdf'), route('json-folder-2')] })]);
      const claimed = await ledger.claimDueDeliveries(Date.now(), 10);
      for (const d of claimed) await ledger.markSent(d.id, 'sent');
      const mail = claimed.find((d) => d.transport === 'email')!;
      const file = claimed.find((d) => d.transport === 'folder')!;
      assert.equal(await ledger.markBounced(file.idempotencyKey, 'bounced: not a mail'), undefined, 'only an e-mail delivery bounces');
      assert.equal(await ledger.markBounced(mail.idempotencyKey, 'bounced: jan@example.nl: smtp; 550 5.1.1 user unknown'), mail.id);
      assert.equal(await ledger.markBounced(mail.idempotencyKey, 'bounced: read again by another node'), undefined, 'recorded once');
      const after = (await ledger.deliveryById(mail.id))!;
      assert.equal(after.state, 'bounced');
      assert.equal(after.lastError, 'bounced: jan@example.nl: smtp; 550 5.1.1 user unknown');
      assert.equal((await ledger.browse.alerts({ deadAfter: 0, errorAfter: 0, partialAfter: 0 }, Date.now())).bounced, 1);
      assert.equal((await ledger.browse.events({ kinds: ['bounced'], limit: 5 })).items.length, 1);
      assert.equal(await ledger.retry({ deliveryId: file.id, to: 'x@example.nl' }), 0, 'a file delivery has no address to correct');
      assert.equal(await ledger.retry({ deliveryId: mail.id, to: 'jan.jansen@example.nl' }), 1);
      const [again] = await ledger.claimDueDeliveries(Date.now(), 10);
      assert.equal(again!.id, mail.id);
      assert.equal(again!.target, 'jan.jansen@example.nl');
      assert.equal(again!.idempotencyKey, mail.idempotencyKey);
    });

    it('a resend is a new copy with its own key, logged', async () => {
      await ledger.issue([request(1, invoice('a', '1'))]);
      assert.equal(await ledger.resend('a', '2026-00001', 'lost'), 1);
      assert.equal(await ledger.resend('b', '2026-00001', 'wrong seller'), 0);
      const keys = (await ledger.deliveriesOfInvoice(1)).map((d) => d.idempotencyKey);
      assert.deepEqual(keys, [deliveryKey('a', '2026-00001', 'json-folder-1'), copyKey('a', '2026-00001', 'json-folder-1', 'resend', 1)]);
      assert.equal(resendOf(keys[1]!), 1);
      assert.equal(resendOf(keys[0]!), undefined);
    });

    it('browse: invoices searched by number prefix, customer, buyer name, date and amount, page by page', async () => {
      const buyers = ['Bakkerij Jansen', 'bakker & Zn', 'Café Ünal', '100% Pure'];
      await ledger.issue(
        Array.from({ length: 12 }, (_, i) =>
          request(
            i + 1,
            invoice('a', `k${i}`, {
              buyer: { name: buyers[i % 4]! },
              issueDate: `2026-11-${String(10 + i).padStart(2, '0')}`,
              // the last one a credit note; the total (incl. VAT) beside what is due: paid in part
              ...(i === 11 ? { typeCode: '381' } : {}),
              totals: { payableAmount: `${(i + 1) * 10}.50`, taxInclusiveAmount: `${(i + 1) * 10 + 5}.50` },
              meta: { sellerKey: 'a', customerKey: `D${i % 3}`, sourceFile: 'f.csv', sourceKey: `k${i}`, source: { line: i + 2 } },
            } as Partial<CalculatedInvoice>),
          ),
        ),
      );
      const numbers = async (f: Parameters<Ledger['browse']['invoices']>[0]): Promise<string[]> =>
        (await ledger.browse.invoices(f)).items.map((i) => i.number!.slice(-2));
      assert.deepEqual(await numbers({ number: '2026-0001' }), ['12', '11', '10'], 'a number prefix; newest first');
      assert.deepEqual(await numbers({ number: '2026-00007' }), ['07']);
      assert.deepEqual(await numbers({ customer: 'bakker' }), ['10', '09', '06', '05', '02', '01'], 'any case, the beginning of the name');
      assert.deepEqual(await numbers({ customer: 'D1' }), ['11', '08', '05', '02'], 'or a customer key');
      assert.deepEqual(await numbers({ customer: 'café ü' }), ['11', '07', '03'], 'accents and case');
      assert.deepEqual(await numbers({ customer: '100%' }), ['12', '08', '04'], 'a % in the name is a character, not a wildcard');
      assert.deepEqual(await numbers({ from: '2026-11-12', to: '2026-11-14' }), ['05', '04', '03']);
      assert.deepEqual(await numbers({ min: 50, max: 70.5 }), ['07', '06', '05']);
      const first = await ledger.browse.invoices({ limit: 5 });
      assert.equal(first.items.length, 5);
      const second = await ledger.browse.invoices({ limit: 5, before: first.next! });
      const third = await ledger.browse.invoices({ limit: 5, before: second.next! });
      assert.equal(third.next, undefined, 'the last page has no next');
      assert.deepEqual(
        [...first.items, ...second.items, ...third.items].map((i) => i.number),
        Array.from({ length: 12 }, (_, i) => `2026-${String(12 - i).padStart(5, '0')}`),
        'keyset pages: every invoice once, in order',
      );
      const one = first.items[0]!;
      assert.equal(one.buyerName, '100% Pure');
      assert.equal(one.payable, '120.50');
      assert.equal(one.total, '125.50', 'the total, read from the stored invoice');
      assert.equal(one.creditNote, true);
      assert.equal(first.items[1]!.creditNote, false);
      assert.equal(one.issueDate, '2026-11-21');
    });

    it('browse: files, deliveries, batches, events and activity', async () => {
      await ledger.issue([request(1, invoice('a', '1')), request(2, invoice('a', '2'))]);
      await ledger.finishFile(fileId, 'done', { invoicesFound: 2, invoicesRejected: 0 });
      const other = (await ledger.claimFile({ source: 'orders', name: 'b.csv', contentHash: 'h2', processingPath: '/p/b.csv' }))!.id;
      await ledger.finishFile(other, 'error', { error: 'line 2: no price' });
      assert.deepEqual(
        (await ledger.browse.files({})).items.map((f) => [f.name, f.state]),
        [
          ['b.csv', 'error'],
          ['a.csv', 'done'],
        ],
      );
      assert.deepEqual(
        (await ledger.browse.files({ state: 'error', source: 'orders' })).items.map((f) => f.error),
        ['line 2: no price'],
      );
      const today = new Date().toISOString().slice(0, 10);
      assert.equal((await ledger.browse.files({ from: today, to: today })).items.length, 2);
      assert.equal((await ledger.browse.files({ to: '2000-01-01' })).items.length, 0);
      const [d] = await ledger.claimDueDeliveries(Date.now(), 1);
      await ledger.markFailed(d!.id, '550 mailbox unknown', Date.now(), true);
      const dead = await ledger.browse.deliveries({ state: 'dead' });
      assert.deepEqual(
        dead.items.map((x) => [x.id, x.invoiceNumber, x.lastError]),
        [[d!.id, d!.invoiceNumber, '550 mailbox unknown']],
      );
      assert.equal((await ledger.browse.deliveries({ transport: 'folder' })).items.length, 2);
      // a file some of whose invoices were rejected
      const partial = (await ledger.claimFile({ source: 'orders', name: 'p.csv', contentHash: 'hp', processingPath: '/p/p.csv' }))!.id;
      await ledger.finishFile(partial, 'partial', { invoicesFound: 2, invoicesRejected: 1 });
      assert.deepEqual(await ledger.browse.alerts({ deadAfter: 0, errorAfter: 0, partialAfter: 0 }, Date.now()), {
        deadDeliveries: 1,
        filesInError: 1,
        filesPartial: 1,
        heldOverdue: 0,
        bounced: 0,
      });
      assert.deepEqual(await ledger.browse.alerts({ deadAfter: d!.id, errorAfter: other, partialAfter: partial }, Date.now()), {
        deadDeliveries: 0,
        filesInError: 0,
        filesPartial: 0,
        heldOverdue: 0,
        bounced: 0,
      });
      await ledger.logEvent('retry', { delivery: d!.id, by: 'anna' });
      await ledger.logEvent('acknowledge', { alert: 'dead', upTo: d!.id, by: 'anna' });
      assert.deepEqual(
        (await ledger.browse.events({ kinds: ['retry', 'acknowledge'] })).items.map((e) => [e.kind, e.detail['by'], e.node]),
        [
          ['acknowledge', 'anna', 'node-a'],
          ['retry', 'anna', 'node-a'],
        ],
      );
      assert.equal((await ledger.browse.lastEvent('acknowledge'))!.detail['upTo'], d!.id);
      const hour = new Date().toISOString().slice(0, 13);
      const activity = await ledger.browse.activity(new Date(Date.now() - 3_600_000).toISOString());
      assert.deepEqual(
        activity.find((h) => h.hour === hour),
        { hour, invoices: 2, files: 3 },
      );
      // a finished file takes no more invoices: the third comes with a file of its own
      const third = (await ledger.claimFile({ source: 'members', name: 'c.csv', contentHash: 'h3', processingPath: '/p/c.csv' }))!.id;
      await ledger.issue([{ ...request(3, invoice('a', '3'), { deliveries: [route('exact-1', 'folder', 'adm', 'exact-online')] }), fileId: third }]);
      await ledger.finishFile(third, 'done', { invoicesFound: 1, invoicesRejected: 0 });
      const pending = await ledger.pendingExports('exact-online', 'adm', Date.now());
      const batchId = (await openExactBatch(ledger, pending))!;
      await ledger.finishBatch(batchId, [{ invoiceNumber: '2026-00003', contentHash: 'a' }]);
      assert.deepEqual(
        (await ledger.browse.batches({})).items.map((b) => [b.id, b.fileName, b.state, b.deliveryIds.length]),
        [[batchId, 'f.xml', 'done', 1]],
      );
      assert.equal((await ledger.browse.batch(batchId))!.administration, 'adm');
      assert.deepEqual(
        (await ledger.browse.batchesOfInvoice('2026-00003')).map((b) => b.id),
        [batchId],
      );
      // the counts of status and metrics are the rows' (SQLite keeps them with triggers, PostgreSQL counts)
      const tally = <T>(rows: T[], key: (r: T) => string): Record<string, number> =>
        rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [key(r)]: (acc[key(r)] ?? 0) + 1 }), {});
      const status = await ledger.status(Date.now());
      const deliveries = (await ledger.browse.deliveries({ limit: 200 })).items;
      assert.deepEqual(
        status.deliveries,
        tally(deliveries, (d) => d.state),
      );
      assert.deepEqual(status.invoices, { issued: 3 });
      assert.deepEqual(
        status.numberSeries.map((series) => [series.counter, series.last]),
        [[`${new Date().getFullYear()}-{seq:5}`, 3]],
        'the series and the last number it gave',
      );
      assert.deepEqual(status.files, { done: 2, error: 1, partial: 1 });
      const metrics = await ledger.metrics();
      assert.deepEqual(
        Object.fromEntries(metrics.deliveries.map((m) => [`${m.state}/${m.transport}`, m.n])),
        tally(deliveries, (d) => `${d.state}/${d.transport}`),
      );
      assert.deepEqual(Object.fromEntries(metrics.files.map((m) => [`${m.source}/${m.state}`, m.n])), {
        'members/done': 2,
        'orders/error': 1,
        'orders/partial': 1,
      });
    });

    it('stores of several files at once share transactions, and one file taken over fails only its own store', async () => {
      const stale = await node('node-s');
      // a file another node holds: a store for it is refused (as for a file taken over)
      const b = await node('node-b');
      const lost = (await b.claimFile({ source: 'members', name: 'lost.csv', contentHash: 'hl', processingPath: '/p/lost.csv' }))!.id;
      const files: number[] = [];
      for (let i = 0; i < 12; i++)
        files.push((await stale.claimFile({ source: 'members', name: `g${i}.csv`, contentHash: `g${i}`, processingPath: `/p/g${i}.csv` }))!.id);
      const calls = files.map((file, i) => stale.issue([1, 2].map((k) => ({ ...request(k, invoice('a', `g${i}-${k}`)), fileId: file }))));
      const refused = stale.issue([{ ...request(1, invoice('a', 'LOST')), fileId: lost }]);
      const results = await Promise.all(calls);
      await assert.rejects(refused, (err: Error) => err instanceof LeaseLostError);
      assert.deepEqual(
        results.map((r) => r.map((x) => x.status)),
        files.map(() => ['issued', 'issued']),
      );
      assert.deepEqual(
        results
          .flat()
          .map((r) => (r.status === 'issued' ? r.number : ''))
          .sort(),
        Array.from({ length: 24 }, (_, i) => `2026-${String(i + 1).padStart(5, '0')}`),
        'gap-free, each file got its own invoices back',
      );
      for (const [i, file] of files.entries())
        assert.deepEqual(
          (await stale.invoicesOfFile(file)).map((x) => x.sourceKey),
          [`g${i}-1`, `g${i}-2`],
        );
    });

    it('a stale node stores nothing for a file another node took over, nor after that node finished it', async () => {
      const stale = await node('node-s', SHORT_LEASE);
      const file = (await stale.claimFile({ source: 'members', name: 's.csv', contentHash: 'hs', processingPath: '/p/s.csv' }))!.id;
      const b = await node('node-b');
      await waitFor('the stale lease to expire', async () => (await b.takeOverFiles({ own: false })).some((f) => f.id === file), 30_000);
      const late = (): Promise<unknown> => stale.issue([{ ...request(1, invoice('a', 'STALE')), fileId: file }]);
      await assert.rejects(late(), (err: Error) => err instanceof LeaseLostError, 'not while b holds it');
      assert.equal(await b.finishFile(file, 'error', { error: 'set aside by b' }), true);
      await assert.rejects(late(), (err: Error) => err instanceof LeaseLostError && /finished \(error\)/.test(err.message), 'nor once b finished it');
      assert.equal(await stale.finishFile(file, 'done', { invoicesFound: 1 }), false, 'its end of the file is not recorded');
      assert.equal((await ledger.file(file))!.state, 'error');
      assert.deepEqual(await ledger.invoicesOfFile(file), [], 'the report of b ("nothing was issued") stays true');
    });

    it('a stale outcome never overwrites another node’s: a delivery sent by b stays sent, and a batch b took over is b’s', async () => {
      await ledger.issue([request(1, invoice('a', '1')), request(2, invoice('a', '2'), { deliveries: [route('exact-1', 'folder', 'adm', 'exact-online')] })]);
      const stale = await node('node-s', SHORT_LEASE);
      const [d] = await stale.claimDueDeliveries(stale.now(), 10);
      const pending = await ledger.pendingExports('exact-online', 'adm', ledger.now());
      const batchId = (await openExactBatch(stale, pending))!;
      const b = await node('node-b');
      const taken = await waitFor('the stale lease to expire', async () => (await b.claimDueDeliveries(b.now(), 10))[0], 30_000);
      assert.equal(taken.id, d!.id);
      assert.equal(await b.markSent(d!.id, 'written by b'), true);
      assert.equal(await stale.markFailed(d!.id, 'no answer in time', stale.now() + 1_000, false), false);
      assert.equal(await stale.markSent(d!.id, 'written by the stale node'), false);
      const after = (await ledger.deliveryById(d!.id))!;
      assert.equal(after.state, 'sent');
      assert.deepEqual(await b.claimDueDeliveries(b.now() + 86_400_000, 10), [], 'and it is not due for a third send');

      await waitFor('the stale batch lease to expire', async () => (await b.takeOverBatches()).some((x) => x.id === batchId), 30_000);
      assert.equal(await stale.finishBatch(batchId, [{ invoiceNumber: '2026-00002', contentHash: 'a' }]), false);
      assert.equal(await ledger.exportedIn('exact-online', 'adm', '2026-00002'), undefined);
      assert.equal(await b.finishBatch(batchId, [{ invoiceNumber: '2026-00002', contentHash: 'a' }]), true);
      assert.equal(await ledger.exportedIn('exact-online', 'adm', '2026-00002'), batchId);
    });

    it('leases go by the database’s clock: nodes whose own clocks are 90 s apart neither take each other’s work early nor wait for it', async () => {
      const skewed = async (nodeId: string, skewMs: number): Promise<Ledger> => {
        const l = await backend().open(where, { nodeId, leaseMs: SHORT_LEASE, clock: () => Date.now() + skewMs });
        others.push(l);
        return l;
      };
      const fast = await skewed('fast', 90_000);
      const slow = await skewed('slow', -90_000);
      const ofFast = (await fast.claimFile({ source: 'members', name: 'f.csv', contentHash: 'hf', processingPath: '/p/f.csv' }))!.id;
      const ofSlow = (await slow.claimFile({ source: 'members', name: 'g.csv', contentHash: 'hg', processingPath: '/p/g.csv' }))!.id;
      await ledger.issue([request(1, invoice('a', '1'))]);
      const [sending] = await slow.claimDueDeliveries(slow.now(), 10);
      assert.ok(sending, 'a delivery due on the ledger’s clock is due for a node whose own clock is behind');
      assert.deepEqual(await fast.takeOverFiles({ own: false }), [], 'the fast node does not think the slow node’s lease expired');
      assert.deepEqual(await fast.claimDueDeliveries(fast.now(), 10), [], 'nor its send');
      assert.deepEqual(await slow.takeOverFiles({ own: false }), [], 'the slow node does not wait 90 s longer than the lease either, but not less');
      assert.ok(Math.abs(fast.now() - slow.now()) < 2_000, `both nodes tell the ledger’s time (${fast.now() - slow.now()} ms apart)`);
      const nodes = Object.fromEntries((await ledger.nodes()).map((n) => [n.id, n]));
      assert.ok(Math.abs(nodes['fast']!.clockOffsetMs! + 90_000) < 2_000, `status shows the fast node’s offset (${nodes['fast']!.clockOffsetMs})`);
      assert.ok(Math.abs(nodes['slow']!.clockOffsetMs! - 90_000) < 2_000, `and the slow one’s (${nodes['slow']!.clockOffsetMs})`);
      for (const n of Object.values(nodes))
        assert.ok(n.heartbeatAgeMs! >= 0 && n.heartbeatAgeMs! < 10_000, `heartbeat ages are never negative (${n.heartbeatAgeMs})`);
      // once the lease has run out on the ledger's clock, the other node takes the work over
      const taken = await waitFor(
        'the slow node’s lease to expire',
        async () => (await fast.takeOverFiles({ own: false })).find((f) => f.id === ofSlow),
        30_000,
      );
      assert.equal(taken.name, 'g.csv');
      await waitFor('the fast node’s lease to expire', async () => (await slow.takeOverFiles({ own: false })).some((f) => f.id === ofFast), 30_000);
    });

    it('a stalled node whose id was taken by a new process stops when it comes back, and changes nothing', async () => {
      const stalled = await node('node-t', SHORT_LEASE);
      assert.equal(await stalled.claimNodeId(), undefined);
      const file = (await stalled.claimFile({ source: 'members', name: 't.csv', contentHash: 'ht', processingPath: '/p/t.csv' }))!.id;
      await ledger.issue([request(1, invoice('a', '1'))]);
      const [d] = await stalled.claimDueDeliveries(stalled.now(), 10);
      const twin = await node('node-t', SHORT_LEASE);
      const holder = await twin.claimNodeId();
      assert.equal(holder?.id, 'node-t', 'refused while the first process is heard from');
      // the first one is frozen (no heartbeat) longer than its lease: the new process may start under the id
      await waitFor('the stalled heartbeat to age', async () => (await twin.claimNodeId()) === undefined, 30_000);
      assert.deepEqual(
        (await twin.takeOverFiles({ own: true })).map((f) => f.id),
        [file],
      );
      assert.equal(await twin.releaseOwnSending(), 1);
      // SIGCONT: the stalled process runs again
      await assert.rejects(stalled.renewLeases(), (err: Error) => err instanceof NodeReplacedError);
      await assert.rejects(stalled.issue([{ ...request(1, invoice('a', 'T')), fileId: file }]), (err: Error) => err instanceof LeaseLostError);
      assert.equal(await stalled.markSent(d!.id, 'sent again by the stalled process'), false);
      assert.equal((await ledger.deliveryById(d!.id))!.state, 'pending', 'the new process sends it, once');
      assert.equal(await stalled.finishFile(file, 'done', {}), false);
    });

    it('a name used again is a new file: a claim is for the very file (its arrival), whatever the clocks say', async () => {
      const first = (await ledger.claimFile({ source: 'members', name: 'r.csv', contentHash: 'r1', processingPath: '/p/r.csv', arrival: '100:1.5' }))!;
      assert.equal(await ledger.finishFile(first.id, 'done', { invoicesFound: 0 }), true);
      assert.equal(await ledger.claimedAs('/p/r.csv', '100:1.5'), true);
      assert.equal(await ledger.claimedAs('/p/r.csv', '101:2.5'), false, 'a file of that name left in processing/ by a dead node is an orphan');
      const b = await node('node-b');
      assert.ok(await b.claimFile({ source: 'members', name: 'r.csv', contentHash: 'r2', processingPath: '/p/r.csv', arrival: '101:2.5' }));
      assert.equal(await ledger.claimFile({ source: 'members', name: 'r.csv', contentHash: 'r2', processingPath: '/p/r.csv', arrival: '101:2.5' }), undefined);
      assert.equal(await b.claimFile({ source: 'members', name: 'r.csv', contentHash: 'r1', processingPath: '/p/r.csv', arrival: '100:1.5' }), undefined);
      // a claim tried again by the node that made it (its first answer was lost in an outage) gets its claim back
      const retried = await b.claimFile({ source: 'members', name: 'r.csv', contentHash: 'r2', processingPath: '/p/r.csv', arrival: '101:2.5' });
      assert.equal(retried?.contentHash, 'r2');
      assert.equal((await b.takeOverFiles({ own: true })).filter((f) => f.processingPath === '/p/r.csv').length, 1, 'one claim, not two');
    });

    it('Peppol: submissions and follow-ups are kept in tables of their own, shared by every node; the cache only holds answers', async () => {
      const b = await node('node-b');
      assert.equal(await ledger.submission('inst-1'), undefined);
      await ledger.recordSubmission('inst-1', 'submitting');
      assert.equal(await b.submission('inst-1'), 'submitting', 'another node sees what was submitted');
      await b.recordSubmission('inst-1', 'done:{"result":"accepted"}');
      assert.equal(await ledger.submission('inst-1'), 'done:{"result":"accepted"}');
      const now = ledger.now();
      await ledger.addFollowUp(7, '{"messageId":"m7"}', now + 60_000);
      await ledger.addFollowUp(3, '{"messageId":"m3"}', now + 60_000);
      await ledger.addFollowUp(9, '{"messageId":"m9"}', now - 1);
      assert.deepEqual(await b.followUps(now, 10), [
        { deliveryId: 3, entry: '{"messageId":"m3"}' },
        { deliveryId: 7, entry: '{"messageId":"m7"}' },
      ]);
      await b.dropFollowUp(3);
      assert.deepEqual(
        (await ledger.followUps(now, 10)).map((f) => f.deliveryId),
        [7],
      );
      await ledger.cachePut('smp:x', 'answer', now + 1_000);
      assert.equal(await b.cacheGet('smp:x', now), 'answer');
      assert.equal(await b.cacheGet('smp:x', now + 2_000), undefined, 'an answer past its time is not used');
    });

    it('console sessions and the key that signs them are the same for every node; a session ends when its time is up', async () => {
      const b = await node('node-b');
      const secret = await ledger.consoleSecret();
      assert.match(secret, /^[0-9a-f]{64}$/);
      assert.equal(await b.consoleSecret(), secret, 'one key for all nodes');
      await ledger.sessionSet('s1', '{"user":"ada"}', 60_000);
      assert.equal(await b.sessionGet('s1'), '{"user":"ada"}');
      await b.sessionSet('s1', '{"user":"ada","language":"nl"}', 60_000);
      assert.equal(await ledger.sessionGet('s1'), '{"user":"ada","language":"nl"}');
      await ledger.sessionSet('s2', '{}', 0);
      assert.equal(await b.sessionGet('s2'), undefined, 'expired');
      await b.sessionDestroy('s1');
      assert.equal(await ledger.sessionGet('s1'), undefined);
    });

    it('a free node id is taken at start, with a heartbeat', async () => {
      assert.equal(await ledger.claimNodeId(), undefined);
      assert.deepEqual(
        (await ledger.nodes()).map((n) => [n.id, n.pid]),
        [['node-a', process.pid]],
      );
    });

    it('nodes: a heartbeat with the pause reason while renewing, gone after a graceful stop', async () => {
      await ledger.renewLeases({ paused: 'disk full' });
      const [me] = await ledger.nodes();
      assert.equal(me!.id, 'node-a');
      assert.equal(me!.paused, 'disk full');
      assert.equal((await ledger.status(Date.now())).nodes.length, 1);
      await ledger.leave();
      assert.deepEqual(await ledger.nodes(), []);
    });
  });
}
