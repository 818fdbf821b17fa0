import type { CalculatedInvoice } from '../../src/model/invoice.js';

/** A minimal invoice for ledger tests: what the ledger stores and keys on, nothing a format needs. */
export function minimalInvoice(seller: string, key: string, over: Partial<CalculatedInvoice> = {}): CalculatedInvoice {
  return {
    kind: 'invoice',
    issueDate: '2026-11-30',
    typeCode: '380',
    currency: 'EUR',
    lines: [],
    vatBreakdown: [],
    seller: { name: seller },
    buyer: { name: 'B' },
    payment: { meansCode: '58', iban: 'NL91ABNA0417164300' },
    totals: { payableAmount: '1.00' },
    meta: { sellerKey: seller, sourceFile: 'f.csv', sourceKey: key, source: { line: 2 } },
    ...over,
  } as unknown as CalculatedInvoice;
}
