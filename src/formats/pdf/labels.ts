/** The words on a PDF invoice, in Dutch and English. */
const NL = {
    invoice: 'Factuur', creditNote: 'Creditnota', quote: 'Offerte', number: 'Factuurnummer', creditNumber: 'Creditnotanummer', quoteNumber: 'Offertenummer', date: 'Factuurdatum', quoteDate: 'Datum',
    dueDate: 'Vervaldatum', validUntil: 'Geldig tot', customerNumber: 'Klantnummer', yourReference: 'Uw referentie', yourOrder: 'Uw ordernummer', orderNumber: 'Ons ordernummer', project: 'Project',
    deliveryDate: 'Leverdatum', period: 'Periode', description: 'Omschrijving', quantity: 'Aantal', unit: 'Eenheid', price: 'Prijs', vat: 'Btw', amount: 'Bedrag',
    discount: 'korting', charge: 'toeslag', subtotal: 'Subtotaal', vatOn: 'Btw {rate}% over {base}', vatCategory: '{category} over {base}',
    catAE: 'Btw verlegd', catK: 'Btw 0% (ICP)', catE: 'Vrijgesteld van btw', catG: 'Btw 0% (export)', catO: 'Buiten de btw', catL: 'IGIC', catM: 'IPSI',
    totalExcl: 'Totaal excl. btw', totalVat: 'Totaal btw', totalIncl: 'Totaal incl. btw', paid: 'Reeds betaald', due: 'Te betalen', credited: 'Te crediteren',
    payment: 'Wij verzoeken u het bedrag van {amount} vóór {dueDate} over te maken op {iban} t.n.v. {accountName}, onder vermelding van {reference}.',
    paidInFull: 'Deze factuur is reeds voldaan.', refund: 'Het bedrag van {amount} wordt aan u terugbetaald.',
    reverseCharge: 'Btw verlegd naar de afnemer (artikel 12, lid 5 Wet OB 1968).', intraCommunity: 'Intracommunautaire levering, btw 0% (artikel 138 Btw-richtlijn).',
    exempt: 'Vrijgesteld van btw.', export: 'Uitvoer buiten de EU, btw 0%.', outOfScope: 'Niet onderworpen aan btw.',
    creditFor: 'Deze creditnota heeft betrekking op factuur {number}{date}.', quoteValid: 'Deze offerte is geldig tot {date}.',
    page: 'Pagina {page} van {pages}', kvk: 'KvK', vatId: 'Btw-nr.', iban: 'IBAN', bic: 'BIC', buyerVat: 'Btw-nr. afnemer',
};

/** All labels of one language. */
export type Labels = Record<keyof typeof NL, string>;

export const LABELS: Record<'nl' | 'en', Labels> = {
  nl: NL,
  en: {
    invoice: 'Invoice', creditNote: 'Credit note', quote: 'Quotation', number: 'Invoice number', creditNumber: 'Credit note number', quoteNumber: 'Quotation number', date: 'Invoice date', quoteDate: 'Date',
    dueDate: 'Due date', validUntil: 'Valid until', customerNumber: 'Customer number', yourReference: 'Your reference', yourOrder: 'Your order', orderNumber: 'Our order number', project: 'Project',
    deliveryDate: 'Delivery date', period: 'Period', description: 'Description', quantity: 'Qty', unit: 'Unit', price: 'Price', vat: 'VAT', amount: 'Amount',
    discount: 'discount', charge: 'charge', subtotal: 'Subtotal', vatOn: 'VAT {rate}% on {base}', vatCategory: '{category} on {base}',
    catAE: 'VAT reverse charged', catK: 'VAT 0% (intra-EU)', catE: 'VAT exempt', catG: 'VAT 0% (export)', catO: 'Outside VAT scope', catL: 'IGIC', catM: 'IPSI',
    totalExcl: 'Total excl. VAT', totalVat: 'Total VAT', totalIncl: 'Total incl. VAT', paid: 'Paid', due: 'Amount due', credited: 'Amount credited',
    payment: 'Please transfer {amount} before {dueDate} to {iban} ({accountName}), quoting {reference}.',
    paidInFull: 'This invoice has been paid.', refund: 'The amount of {amount} will be refunded to you.',
    reverseCharge: 'VAT reverse charged to the customer (Article 196 VAT Directive).', intraCommunity: 'Intra-Community supply, VAT 0% (Article 138 VAT Directive).',
    exempt: 'Exempt from VAT.', export: 'Export outside the EU, VAT 0%.', outOfScope: 'Not subject to VAT.',
    creditFor: 'This credit note refers to invoice {number}{date}.', quoteValid: 'This quotation is valid until {date}.',
    page: 'Page {page} of {pages}', kvk: 'Chamber of Commerce', vatId: 'VAT no.', iban: 'IBAN', bic: 'BIC', buyerVat: 'Customer VAT no.',
  },
};

/** Fills {placeholders} of a label. */
export function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{(\w+)\}/g, (_m, k: string) => values[k] ?? '');
}
