import { strict as assert } from 'node:assert';
import { calculateInvoice } from '../src/model/calculate.js';
import { amountText, dec } from '../src/model/decimal.js';
import type { Invoice, InvoiceLine } from '../src/model/invoice.js';
import { checkInvoice } from '../src/model/rules.js';

function line(partial: Partial<InvoiceLine>): InvoiceLine {
  return { id: '1', quantity: '1', unitCode: 'C62', netPrice: '10', vatCategory: 'S', vatRate: '21', itemName: 'Item', ...partial };
}

function invoice(lines: InvoiceLine[], extra: Partial<Invoice> = {}): Invoice {
  return {
    kind: 'invoice',
    issueDate: '2026-11-30',
    dueDate: '2026-12-30',
    typeCode: '380',
    currency: 'EUR',
    seller: { name: 'Seller B.V.', vatId: 'NL859843719B01', address: { city: 'Rotterdam', country: 'NL' } },
    buyer: { name: 'Buyer B.V.', address: { city: 'Utrecht', country: 'NL' } },
    lines,
    meta: { sellerKey: 's', sourceFile: 'test.csv', sourceKey: '1', source: { line: 2 } },
    ...extra,
  };
}

describe('money', () => {
  it('rounds half up where binary floats round down: 2.675 → 2.68, 1.005 → 1.01', () => {
    assert.equal((2.675).toFixed(2), '2.67'); // the trap this project avoids
    assert.equal(amountText(dec('2.675')), '2.68');
    assert.equal(amountText(dec('1.005')), '1.01');
    assert.equal(amountText(dec('-1.005')), '-1.01');
  });
  it('refuses text that is not a plain decimal', () => {
    assert.throws(() => dec('1,5'));
    assert.throws(() => dec('1e3'));
  });
});

describe('calculation (EN 16931 BG-22, BG-23)', () => {
  it('computes line amounts, VAT per rate and totals, checked by hand', () => {
    // 12 × 14.95 = 179.40 @9%; 1 × 1249.95 @21%; 10000 × 0.0125 = 125.00 − 5% = 118.75 @21%
    const calc = calculateInvoice(
      invoice([
        line({ id: '1', quantity: '12', netPrice: '14.95', vatRate: '9' }),
        line({ id: '2', quantity: '1', netPrice: '1249.95' }),
        line({ id: '3', quantity: '10000', netPrice: '0.0125', allowanceCharges: [{ charge: false, amount: '6.25', reason: 'Korting' }] }),
      ]),
    );
    assert.deepEqual(
      calc.lines.map((l) => l.netAmount),
      ['179.40', '1249.95', '118.75'],
    );
    assert.deepEqual(
      calc.vatBreakdown.map((b) => [b.rate, b.taxableAmount, b.taxAmount]),
      [
        ['9', '179.40', '16.15'],
        ['21', '1368.70', '287.43'],
      ],
    );
    // 1368.70 × 0.21 = 287.427 → 287.43; 179.40 × 0.09 = 16.146 → 16.15
    assert.equal(calc.totals.taxExclusiveAmount, '1548.10');
    assert.equal(calc.totals.taxAmount, '303.58');
    assert.equal(calc.totals.payableAmount, '1851.68');
  });

  it('rounds VAT per rate group, not per line (BR-CO-17)', () => {
    // three lines of 0.07 at 21%: per line 0.0147 → 0.01 (0.03 in all); per group 0.21 × 0.21 = 0.0441 → 0.04
    const grouped = calculateInvoice(invoice(['1', '2', '3'].map((id) => line({ id, netPrice: '0.07' }))));
    assert.equal(grouped.totals.taxAmount, '0.04');
    // 1.5 × 65.00 × 0.21 = 20.475 must become 20.48
    const calc = calculateInvoice(invoice([line({ quantity: '1.5', netPrice: '65.00' })]));
    assert.equal(calc.totals.taxAmount, '20.48');
  });

  it('applies price base quantity, document charges and allowances, prepaid amounts', () => {
    const calc = calculateInvoice(
      invoice(
        [line({ quantity: '250', netPrice: '12.50', baseQuantity: '100' })], // 250 × 12.50 / 100 = 31.25
        {
          allowanceCharges: [
            { charge: true, amount: '4.95', vatCategory: 'S', vatRate: '21', reason: 'Verzendkosten' },
            { charge: false, amount: '1.20', vatCategory: 'S', vatRate: '21', reason: 'Korting' },
          ],
          prepaidAmount: '10.00',
        },
      ),
    );
    assert.equal(calc.totals.lineNetAmount, '31.25');
    assert.equal(calc.totals.taxExclusiveAmount, '35.00');
    assert.equal(calc.totals.taxAmount, '7.35');
    assert.equal(calc.totals.taxInclusiveAmount, '42.35');
    assert.equal(calc.totals.payableAmount, '32.35');
  });

  it('gives zero VAT and an exemption reason for reverse charge', () => {
    const calc = calculateInvoice(invoice([line({ vatCategory: 'AE', vatRate: '0', quantity: '2', netPrice: '100' })]));
    assert.equal(calc.totals.taxAmount, '0.00');
    assert.equal(calc.vatBreakdown[0]!.exemptionReasonCode, 'VATEX-EU-AE');
  });
});

describe('business rules (EN 16931 core, checked on the model)', () => {
  const rules = (inv: Invoice) => checkInvoice(inv).violations.map((v) => v.rule);

  it('accepts a complete invoice', () => {
    assert.deepEqual(checkInvoice(invoice([line({})])).violations, []);
  });
  it('names the rule, the field and the source line', () => {
    const [v] = checkInvoice(invoice([line({ itemName: '', source: { line: 7 } })])).violations;
    assert.equal(v!.rule, 'BR-25');
    assert.equal(v!.field, 'lines[0].itemName');
    assert.equal(v!.source?.line, 7);
  });
  it('requires the core fields BR-03, BR-05, BR-06, BR-07, BR-08, BR-11, BR-16', () => {
    const bad = invoice([], { issueDate: '', currency: '', seller: { name: '' }, buyer: { name: '', address: {} } });
    const found = rules(bad);
    for (const rule of ['BR-03', 'BR-05', 'BR-06', 'BR-07', 'BR-08', 'BR-11', 'BR-16']) assert.ok(found.includes(rule), `${rule} in ${found.join(',')}`);
  });
  it('refuses negative prices (BR-27); a price may have more than 4 decimals, as EN 16931 allows', () => {
    assert.ok(rules(invoice([line({ netPrice: '-1' })])).includes('BR-27'));
    const fine = invoice([line({ quantity: '3', netPrice: '0.123456' })]);
    assert.deepEqual(checkInvoice(fine).violations, []);
    assert.equal(calculateInvoice(fine).lines[0]!.netAmount, '0.37', 'the line amount is rounded to cents (3 × 0.123456 = 0.370368)');
  });
  it('reverse charge needs both VAT ids (BR-AE-02)', () => {
    assert.ok(rules(invoice([line({ vatCategory: 'AE', vatRate: '0' })])).includes('BR-AE-02'));
    assert.ok(
      !rules(invoice([line({ vatCategory: 'AE', vatRate: '0' })], { buyer: { name: 'B', vatId: 'NL823456789B01', address: { country: 'NL' } } })).includes(
        'BR-AE-02',
      ),
    );
  });
  it('standard rate needs a positive rate (BR-S-05), zero rate needs 0 (BR-Z-05)', () => {
    assert.ok(rules(invoice([line({ vatRate: '0' })])).includes('BR-S-05'));
    assert.ok(rules(invoice([line({ vatCategory: 'Z', vatRate: '9' })])).includes('BR-Z-05'));
  });
  it('checks totals the source states against the calculation (BR-CO-13, BR-CO-16)', () => {
    const inv = invoice([line({ quantity: '2', netPrice: '10' })]);
    inv.meta.declaredTotals = { netAmount: '20.01', payableAmount: '24.20' };
    assert.deepEqual(rules(inv), ['BR-CO-13']);
  });
  it('needs a due date or terms for an amount due (BR-CO-25)', () => {
    assert.ok(rules(invoice([line({})], { dueDate: undefined })).includes('BR-CO-25'));
  });
  it('split payment (B, Italy): accepted on a domestic Italian invoice, refused beside another country (BR-B-01) or a standard-rated line (BR-B-02)', () => {
    const italian = {
      seller: { name: 'Fornitore S.r.l.', vatId: 'IT01234567897', address: { city: 'Roma', country: 'IT' } },
      buyer: { name: 'Comune di Roma', address: { city: 'Roma', country: 'IT' } },
    };
    assert.deepEqual(checkInvoice(invoice([line({ vatCategory: 'B', vatRate: '22' })], italian)).violations, []);
    assert.deepEqual(rules(invoice([line({ vatCategory: 'B', vatRate: '22' })])), ['BR-B-01']);
    assert.deepEqual(rules(invoice([line({ vatCategory: 'B', vatRate: '22' }), line({ id: '2', vatRate: '22' })], italian)), ['BR-B-02']);
  });
  it("names each category's rules as the official rules do: K is BR-IC, allowances and charges have their own numbers", () => {
    const eu = { buyer: { name: 'Acheteur SA', vatId: 'BE0411905847', address: { country: 'BE' } } };
    assert.deepEqual(rules(invoice([line({ vatCategory: 'K', vatRate: '21' })], eu)), ['BR-IC-05']);
    assert.deepEqual(rules(invoice([line({ vatCategory: 'K', vatRate: '0' })])), ['BR-IC-02']);
    const charge = { charge: true, amount: '5', reason: 'Verzending', vatCategory: 'S' as const, vatRate: '0' };
    assert.deepEqual(rules(invoice([line({})], { allowanceCharges: [charge] })), ['BR-S-07']);
    assert.deepEqual(rules(invoice([line({})], { allowanceCharges: [{ ...charge, charge: false, reason: 'Korting' }] })), ['BR-S-06']);
  });
  it('a VAT category that is not in the code list is BR-CL-18; a missing one is BR-CO-04', () => {
    assert.deepEqual(rules(invoice([line({ vatCategory: 'X' as never })])), ['BR-CL-18']);
    assert.deepEqual(rules(invoice([line({ vatCategory: '' as never })])), ['BR-CO-04']);
  });
  it('a credit note of a Dutch seller must reference the invoice it credits (NL-R-001); EN 16931 asks no reference', () => {
    assert.ok(rules(invoice([line({})], { typeCode: '381' })).includes('NL-R-001'));
    // EN 16931 asks no reference: a credit note of a seller outside the Netherlands may stand alone
    const belgian = { name: 'Vendeur SA', vatId: 'BE0411905847', address: { city: 'Bruxelles', country: 'BE' } };
    assert.deepEqual(rules(invoice([line({})], { typeCode: '381', seller: belgian })), []);
  });
  it('an invoice number may hold any text EN 16931 allows; only a control character is refused (no XML or mail carries it)', () => {
    assert.deepEqual(rules(invoice([line({})], { number: '1316/85' })), []);
    assert.deepEqual(rules(invoice([line({})], { number: '../../x' })), []);
    assert.deepEqual(rules(invoice([line({})], { number: 'F2026\u000100871' })), ['GW-NUMBER-TEXT']);
  });
  it('reports a non-number instead of throwing', () => {
    assert.ok(rules(invoice([line({ quantity: 'abc' })])).includes('GW-NUMBER'));
  });
});
