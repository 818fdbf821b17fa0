import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { businessKeyOf, copyKey, deliveryKey, resendOf } from '../src/ledger/keys.js';
import type { IssueRequest, Ledger } from '../src/ledger/ledger.js';
import { SqliteLedger } from '../src/ledger/sqlite.js';
import type { CalculatedInvoice } from '../src/model/invoice.js';
import { minimalInvoice } from './helpers/invoice.js';
import type { Delivery } from '../src/routing/route.js';
import { tempDir } from './helpers/paths.js';

const invoice = minimalInvoice;

const route = (routeId: string, transport = 'folder', target = 'out'): Delivery =>
  ({ routeId, format: 'json', transport, target, options: {}, reason: 'test' }) as Delivery;

/**
 * The ledger's contract, written against the interface so that every implementation passes the
 * same tests (SQLite now; the PostgreSQL ledger of issue 12 joins with its own `open`).
 */
function ledgerConformance(name: string, open: () => Ledger): void {
  describe(`ledger contract: ${name}`, () => {
    let ledger: Ledger;
    let fileId: number;
    beforeEach(() => {
      ledger = open();
      fileId = ledger.claimFile({ source: 'members', name: 'a.csv', contentHash: 'h1', processingPath: '/p/a.csv' })!.id;
    });
    afterEach(() => ledger.close());
    const request = (seq: number, inv: CalculatedInvoice, extra: Partial<IssueRequest> = {}): IssueRequest => ({
      fileId,
      seqInFile: seq,
      invoice: inv,
      deliveries: [route('json-folder-1')],
      numberFormat: '{yyyy}-{seq:5}',
      businessKey: businessKeyOf(inv, 'members'),
      ...extra,
    });

    it('a processing path is claimed once', () => {
      assert.equal(ledger.claimFile({ source: 'members', name: 'a.csv', contentHash: 'h1', processingPath: '/p/a.csv' }), undefined);
    });

    it('numbers are gap-free per seller and series, and a resumed file gets back what it stored', () => {
      const results = ledger.issue([request(1, invoice('a', '1')), request(2, invoice('a', '2')), request(3, invoice('b', '3'))]);
      assert.deepEqual(
        results.map((r) => (r.status === 'issued' ? r.number : r.status)),
        ['2026-00001', '2026-00002', '2026-00001'],
      );
      const again = ledger.issue([request(2, invoice('a', '2'))]);
      assert.equal(again[0]!.status, 'existing');
    });

    it('an invoice whose business key was issued before is not issued again, unless asked', () => {
      ledger.issue([request(1, invoice('a', 'K1'))]);
      const second = ledger.claimFile({ source: 'members', name: 'b.csv', contentHash: 'h2', processingPath: '/p/b.csv' })!.id;
      const [before] = ledger.issue([{ ...request(1, invoice('a', 'K1')), fileId: second }]);
      assert.deepEqual(before, { status: 'issued-before', invoiceId: 1, number: '2026-00001', existingFile: 'a.csv' });
      const [again] = ledger.issue([{ ...request(2, invoice('a', 'K1')), fileId: second, issueAgain: true }]);
      assert.equal(again!.status, 'issued');
      // another seller's invoice with the same source key is its own
      const [other] = ledger.issue([{ ...request(3, invoice('b', 'K1')), fileId: second }]);
      assert.equal(other!.status, 'issued');
    });

    it('numbers are unique per seller: looking one up takes the seller', () => {
      ledger.issue([request(1, invoice('a', '1')), request(2, invoice('b', '2'))]);
      assert.equal(ledger.invoiceByNumber('a', '2026-00001')!.invoice.meta.sourceKey, '1');
      assert.equal(ledger.invoiceByNumber('b', '2026-00001')!.invoice.meta.sourceKey, '2');
      assert.deepEqual(ledger.sellersOfNumber('2026-00001'), ['a', 'b']);
      assert.equal(ledger.invoiceByNumber('c', '2026-00001'), undefined);
    });

    it('a number from the source is kept, and refused when the seller used it before', () => {
      const [kept] = ledger.issue([request(1, invoice('a', 'X', { number: 'F-9' }))]);
      assert.deepEqual(kept, { status: 'issued', invoiceId: 1, number: 'F-9' });
      const [clash] = ledger.issue([request(2, invoice('a', 'Y', { number: 'F-9' }))]);
      assert.equal(clash!.status, 'duplicate-number');
    });

    it('the payment reference defaults to the number; a document passed through keeps its own (none)', () => {
      ledger.issue([request(1, invoice('a', '1')), request(2, invoice('a', '2', { meta: { ...invoice('a', '2').meta, amountsDeclared: true } }))]);
      assert.equal(ledger.invoiceByNumber('a', '2026-00001')!.invoice.payment!.paymentReference, '2026-00001');
      assert.equal(ledger.invoiceByNumber('a', '2026-00002')!.invoice.payment!.paymentReference, undefined);
    });

    it('a held invoice takes its number when issued, and one rejected when due leaves the schedule without a number', () => {
      const [held] = ledger.issue([
        request(1, invoice('a', '1'), { hold: { orderKey: 'a|1', until: 0 } }),
        request(2, invoice('a', '2'), { hold: { orderKey: 'a|2', until: 0 } }),
      ]);
      assert.equal(held!.status, 'held');
      const due = ledger.dueHeld(Date.now());
      assert.equal(due.length, 2);
      assert.deepEqual(ledger.issueHeld(due[0]!.id, invoice('a', '1'), [route('json-folder-1')]), { number: '2026-00001' });
      ledger.rejectHeld(due[1]!.id, 'PEPPOL-EN16931-R010');
      assert.deepEqual(ledger.dueHeld(Date.now()), []);
      assert.equal(ledger.invoiceById(due[1]!.id)!.state, 'rejected');
      assert.equal(ledger.invoiceById(due[1]!.id)!.number, undefined);
    });

    it('deliveries: keys from the number and route, busy targets skipped, a stop releases what was being sent', () => {
      ledger.issue([
        request(1, invoice('a', '1'), { deliveries: [route('json-sftp-1', 'sftp', 'dead-server'), route('json-folder-2')] }),
        request(2, invoice('a', '2'), { deliveries: [route('json-sftp-1', 'sftp', 'dead-server')] }),
      ]);
      const claimed = ledger.claimDueDeliveries(Date.now(), 10, ['sftp:dead-server']);
      assert.deepEqual(
        claimed.map((d) => d.idempotencyKey),
        [deliveryKey('a', '2026-00001', 'json-folder-2')],
      );
      ledger.markSent(claimed[0]!.id, 'written');
      const rest = ledger.claimDueDeliveries(Date.now(), 10);
      assert.equal(rest.length, 2);
      assert.equal(ledger.releaseSending(), 2);
      ledger.markFailed(rest[0]!.id, 'down', Date.now() + 60_000, false);
      assert.equal(ledger.claimDueDeliveries(Date.now(), 10).length, 1, 'a failed one waits for its time');
    });

    it('a resend is a new copy with its own key, logged', () => {
      ledger.issue([request(1, invoice('a', '1'))]);
      assert.equal(ledger.resend('a', '2026-00001', 'lost'), 1);
      assert.equal(ledger.resend('b', '2026-00001', 'wrong seller'), 0);
      const keys = ledger.deliveriesOfInvoice(1).map((d) => d.idempotencyKey);
      assert.deepEqual(keys, [deliveryKey('a', '2026-00001', 'json-folder-1'), copyKey('a', '2026-00001', 'json-folder-1', 'resend', 1)]);
      assert.equal(resendOf(keys[1]!), 1);
      assert.equal(resendOf(keys[0]!), undefined);
    });
  });
}

ledgerConformance('SQLite', () => new SqliteLedger(join(tempDir('igw-ledger-'), 'ledger.sqlite')));
