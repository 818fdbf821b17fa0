import { calendarDate, type DateZones } from '../model/date-zone.js';
import { ReaderError } from '../errors.js';
import type {
  CalculatedInvoice,
  DocumentAllowanceCharge,
  Identifier,
  InvoiceLine,
  LineAllowanceCharge,
  Party,
  PaymentInstructions,
  PostalAddress,
  SupportingDocument,
  SourceForm,
  VatBreakdown,
  VatCategory,
} from '../model/invoice.js';
import { rejectDoctype } from './xml.js';
import { cdataAsText, xmlBytesToText } from './xml-text.js';
import { attr, bool, compact, eInvoiceParser, ident, list, node, path, rawTxt, txt, type XmlNode as Node } from './xml-tree.js';
import type { ReadContext } from './record.js';

/** Elements that may repeat, so they are always read as lists. */
const REPEATING = new Set([
  'InvoiceLine',
  'CreditNoteLine',
  'AllowanceCharge',
  'TaxSubtotal',
  'TaxTotal',
  'Note',
  'PartyIdentification',
  'AdditionalDocumentReference',
  'BillingReference',
  'PaymentMeans',
  'PaymentTerms',
  'AdditionalItemProperty',
  'CommodityClassification',
  'PartyTaxScheme',
  'PartyName',
  'AddressLine',
  'DocumentReference',
  'InvoicePeriod',
]);

const parser = eInvoiceParser(REPEATING);

function address(n: unknown): PostalAddress | undefined {
  const a = node(n);
  if (!a) return undefined;
  return compact({
    line1: txt(a['StreetName']),
    line2: txt(a['AdditionalStreetName']),
    line3: txt(path(a, 'AddressLine', 'Line')),
    city: txt(a['CityName']),
    postalCode: txt(a['PostalZone']),
    countrySubdivision: txt(a['CountrySubentity']),
    country: txt(path(a, 'Country', 'IdentificationCode')),
  });
}

function party(n: unknown): Party | undefined {
  const p = node(n);
  if (!p) return undefined;
  const schemes = list(p['PartyTaxScheme']);
  const vat =
    schemes.find((s) => txt(path(s, 'TaxScheme', 'ID')) === 'VAT') ??
    (schemes.length === 1 && !txt(path(schemes[0], 'TaxScheme', 'ID')) ? schemes[0] : undefined);
  // a tax scheme with no CompanyID registers nothing (BT-32 is the CompanyID)
  const fiscal = schemes.find((s) => s !== vat && txt(s['CompanyID']) !== undefined);
  const legal = node(p['PartyLegalEntity']);
  const contact = node(p['Contact']);
  const name = txt(legal?.['RegistrationName']) ?? txt(path(list(p['PartyName'])[0], 'Name')) ?? '';
  const tradingName = txt(path(list(p['PartyName'])[0], 'Name'));
  return compact({
    name,
    tradingName: tradingName && tradingName !== name ? tradingName : legal?.['RegistrationName'] ? tradingName : undefined,
    identifiers: list(p['PartyIdentification'])
      .map((i) => ident(i['ID']))
      .filter((i): i is Identifier => i !== undefined),
    legalId: ident(legal?.['CompanyID']),
    vatId: txt(vat?.['CompanyID']),
    taxRegistrationId: fiscal ? txt(fiscal['CompanyID']) : undefined,
    taxRegistrationScheme: fiscal && txt(path(fiscal, 'TaxScheme', 'ID')) !== 'FC' ? txt(path(fiscal, 'TaxScheme', 'ID')) : undefined,
    legalInfo: txt(legal?.['CompanyLegalForm']),
    endpoint: ident(p['EndpointID']),
    address: address(p['PostalAddress']),
    contact: contact ? compact({ name: txt(contact['Name']), phone: txt(contact['Telephone']), email: txt(contact['ElectronicMail']) }) : undefined,
  }) as Party;
}

function payee(n: unknown): Party | undefined {
  const p = node(n);
  if (!p) return undefined;
  return compact({
    name: txt(path(list(p['PartyName'])[0], 'Name')) ?? '',
    identifiers: list(p['PartyIdentification'])
      .map((i) => ident(i['ID']))
      .filter((i): i is Identifier => i !== undefined),
    legalId: ident(path(p, 'PartyLegalEntity', 'CompanyID')),
  }) as Party;
}

function taxRepresentative(n: unknown): Party | undefined {
  const p = node(n);
  if (!p) return undefined;
  return compact({
    name: txt(path(list(p['PartyName'])[0], 'Name')) ?? '',
    vatId: txt(path(list(p['PartyTaxScheme'])[0], 'CompanyID')),
    address: address(p['PostalAddress']),
  }) as Party;
}

function allowanceCharge(a: Node): { charge: boolean; amount: string; baseAmount?: string; percentage?: string; reason?: string; reasonCode?: string } {
  return compact({
    charge: bool(a['ChargeIndicator']),
    amount: txt(a['Amount']) ?? '0',
    baseAmount: txt(a['BaseAmount']),
    percentage: txt(a['MultiplierFactorNumeric']),
    reason: txt(a['AllowanceChargeReason']),
    reasonCode: txt(a['AllowanceChargeReasonCode']),
  });
}

function line(l: Node, credit: boolean, at: string, zones: DateZones): InvoiceLine & { netAmount: string } {
  const item = node(l['Item']) ?? {};
  const price = node(l['Price']) ?? {};
  const tax = node(item['ClassifiedTaxCategory']) ?? {};
  const qty = credit ? l['CreditedQuantity'] : l['InvoicedQuantity'];
  const priceAc = node(price['AllowanceCharge']);
  const classes = list(item['CommodityClassification'])
    .map((c) => ident(c['ItemClassificationCode'], 'listID', 'listVersionID'))
    .filter((c): c is Identifier => c !== undefined);
  const period = list(l['InvoicePeriod'])[0];
  const objectRef = list(l['DocumentReference']).find((d) => txt(d['DocumentTypeCode']) === '130') ?? list(l['DocumentReference'])[0];
  return compact({
    id: txt(l['ID']) ?? '',
    note: rawTxt(list(l['Note'])[0]),
    quantity: txt(qty) ?? '',
    unitCode: attr(qty, 'unitCode') ?? '',
    netAmount: txt(l['LineExtensionAmount']) ?? '0.00',
    accountingReference: txt(l['AccountingCost']),
    period: period
      ? compact({
          start: calendarDate(txt(period['StartDate']), `${at}.period.start`, zones),
          end: calendarDate(txt(period['EndDate']), `${at}.period.end`, zones),
        })
      : undefined,
    orderLineReference: txt(path(node(l['OrderLineReference']), 'LineID')),
    objectIdentifier: objectRef ? ident(objectRef['ID']) : undefined,
    allowanceCharges: list(l['AllowanceCharge']).map((a) => allowanceCharge(a) as LineAllowanceCharge),
    netPrice: txt(price['PriceAmount']) ?? '',
    priceDiscount: priceAc ? txt(priceAc['Amount']) : undefined,
    priceCharge: priceAc && bool(priceAc['ChargeIndicator']) ? true : undefined,
    grossPrice: priceAc ? txt(priceAc['BaseAmount']) : undefined,
    baseQuantity: txt(price['BaseQuantity']),
    baseQuantityUnitCode: attr(price['BaseQuantity'], 'unitCode'),
    vatCategory: (txt(tax['ID']) ?? '') as VatCategory,
    vatRate: txt(tax['Percent']),
    itemName: txt(item['Name']) ?? '',
    description: txt(item['Description']),
    sellerItemId: txt(path(item, 'SellersItemIdentification', 'ID')),
    buyerItemId: txt(path(item, 'BuyersItemIdentification', 'ID')),
    standardItemId: ident(path(item, 'StandardItemIdentification', 'ID')),
    originCountry: txt(path(item, 'OriginCountry', 'IdentificationCode')),
    classification: classes[0],
    moreClassifications: classes.slice(1),
    attributes: list(item['AdditionalItemProperty']).map((p) => ({ name: txt(p['Name']) ?? '', value: txt(p['Value']) ?? '' })),
  }) as InvoiceLine & { netAmount: string };
}

function payment(doc: Node, zones: DateZones): PaymentInstructions | undefined {
  const means = list(doc['PaymentMeans']);
  const pm = means[0];
  if (!pm) return undefined;
  const card = node(pm['CardAccount']);
  const mandate = node(pm['PaymentMandate']);
  return compact({
    meansCode: txt(pm['PaymentMeansCode']) ?? '',
    meansText: attr(pm['PaymentMeansCode'], 'name'),
    paymentReference: txt(pm['PaymentID']),
    iban: txt(path(pm, 'PayeeFinancialAccount', 'ID')),
    accountName: txt(path(pm, 'PayeeFinancialAccount', 'Name')),
    bic: txt(path(pm, 'PayeeFinancialAccount', 'FinancialInstitutionBranch', 'ID')),
    mandateReference: txt(mandate?.['ID']),
    debitedAccount: txt(path(mandate, 'PayerFinancialAccount', 'ID')),
    card: card
      ? compact({ accountNumber: txt(card['PrimaryAccountNumberID']) ?? '', network: txt(card['NetworkID']) ?? '', holder: txt(card['HolderName']) })
      : undefined,
    additionalAccounts: means
      .slice(1)
      .filter((m) => txt(path(m, 'PayeeFinancialAccount', 'ID')))
      .map((m, i) =>
        compact({
          meansCode: txt(m['PaymentMeansCode']) ?? '',
          iban: txt(path(m, 'PayeeFinancialAccount', 'ID')) ?? '',
          accountName: txt(path(m, 'PayeeFinancialAccount', 'Name')),
          bic: txt(path(m, 'PayeeFinancialAccount', 'FinancialInstitutionBranch', 'ID')),
          // each means its own reference and due date, as stated: none is copied from the first
          paymentReference: txt(m['PaymentID']),
          dueDate: calendarDate(txt(m['PaymentDueDate']), `payment.additionalAccounts[${i}].dueDate`, zones),
        }),
      ),
  }) as PaymentInstructions;
}

function supportingDocument(d: Node): SupportingDocument {
  const bin = path(node(d['Attachment']), 'EmbeddedDocumentBinaryObject');
  return compact({
    id: txt(d['ID']) ?? '',
    scheme: attr(d['ID'], 'schemeID'),
    typeCode: txt(d['DocumentTypeCode']),
    description: txt(d['DocumentDescription']),
    uri: txt(path(node(d['Attachment']), 'ExternalReference', 'URI')),
    content: txt(bin),
    mimeCode: attr(bin, 'mimeCode'),
    fileName: attr(bin, 'filename'),
  });
}

/**
 * Reads a UBL 2.1 Invoice or CreditNote into the canonical model, keeping the amounts, VAT
 * breakdown and totals the document states (they are the legally binding ones).
 */
export function readUbl(source: string | Buffer, ctx: ReadContext): CalculatedInvoice {
  // bytes are read in the encoding the document declares (an ISO-8859-1 invoice keeps its umlauts)
  const xml = Buffer.isBuffer(source) ? xmlBytesToText(source, ctx) : source;
  rejectDoctype(xml, ctx);
  let parsed: Node;
  try {
    parsed = parser.parse(cdataAsText(xml)) as Node;
  } catch (err) {
    throw new ReaderError(`UBL is not well-formed XML: ${(err as Error).message}`, { file: ctx.file, attachment: ctx.attachment });
  }
  const credit = parsed['CreditNote'] !== undefined;
  const doc = node(parsed['CreditNote'] ?? parsed['Invoice']);
  if (!doc) throw new ReaderError('not a UBL Invoice or CreditNote (the root element is neither)', { file: ctx.file, attachment: ctx.attachment });
  const currency = txt(doc['DocumentCurrencyCode']) ?? '';
  const taxTotals = list(doc['TaxTotal']);
  const main = taxTotals.find((t) => attr(t['TaxAmount'], 'currencyID') === currency) ?? taxTotals[0];
  const accounting = taxTotals.find((t) => t !== main);
  const total = node(doc['LegalMonetaryTotal']) ?? {};
  const statedTotals = ['AllowanceTotalAmount', 'ChargeTotalAmount', 'PrepaidAmount', 'PayableRoundingAmount'].filter((name) => total[name] !== undefined);
  const accountingTaxCurrency = accounting ? attr(accounting['TaxAmount'], 'currencyID') : undefined;
  const form: SourceForm = compact({
    syntax: 'ubl' as const,
    root: credit ? ('CreditNote' as const) : ('Invoice' as const),
    statedTotals,
    accountingTaxCurrency: accountingTaxCurrency && accountingTaxCurrency !== txt(doc['TaxCurrencyCode']) ? accountingTaxCurrency : undefined,
    dueDateInPaymentMeans: txt(path(list(doc['PaymentMeans'])[0], 'PaymentDueDate')) !== undefined ? true : undefined,
    untypedLineObjects: list(doc[credit ? 'CreditNoteLine' : 'InvoiceLine'])
      .filter((l) => list(l['DocumentReference']).length && !list(l['DocumentReference']).some((d) => txt(d['DocumentTypeCode'])))
      .map((l) => txt(l['ID']) ?? ''),
  });
  // dates are calendar dates in the model; a time zone one came with is kept apart, for the way out
  const zones: DateZones = {};
  const lines = list(doc[credit ? 'CreditNoteLine' : 'InvoiceLine']).map((l, i) => line(l, credit, `lines[${i}]`, zones));
  const allowances = list(doc['AllowanceCharge']).map((a) => {
    const ac = allowanceCharge(a);
    const cat = node(a['TaxCategory']) ?? {};
    return compact({ ...ac, vatCategory: (txt(cat['ID']) ?? '') as VatCategory, vatRate: txt(cat['Percent']) }) as DocumentAllowanceCharge;
  });
  const breakdown: VatBreakdown[] = list(main?.['TaxSubtotal']).map((s) => {
    const cat = node(s['TaxCategory']) ?? {};
    return compact({
      category: (txt(cat['ID']) ?? '') as VatCategory,
      rate: txt(cat['Percent']),
      taxableAmount: txt(s['TaxableAmount']) ?? '0.00',
      taxAmount: txt(s['TaxAmount']) ?? '0.00',
      exemptionReason: txt(cat['TaxExemptionReason']),
      exemptionReasonCode: txt(cat['TaxExemptionReasonCode']),
    });
  });
  const period = list(doc['InvoicePeriod'])[0];
  const delivery = node(doc['Delivery']);
  const dueDate = calendarDate(txt(doc['DueDate']) ?? txt(path(list(doc['PaymentMeans'])[0], 'PaymentDueDate')), 'dueDate', zones);
  const docs = list(doc['AdditionalDocumentReference']).map(supportingDocument);
  const projectAsDoc = credit ? docs.find((d) => d.typeCode === '50') : undefined;
  const zero = '0.00';
  const invoice: CalculatedInvoice = compact({
    kind: 'invoice' as const,
    number: txt(doc['ID']),
    issueDate: calendarDate(txt(doc['IssueDate']), 'issueDate', zones) ?? '',
    typeCode: txt(doc[credit ? 'CreditNoteTypeCode' : 'InvoiceTypeCode']) ?? '',
    currency,
    vatCurrency: txt(doc['TaxCurrencyCode']),
    taxPointDate: calendarDate(txt(doc['TaxPointDate']), 'taxPointDate', zones),
    dueDate,
    buyerReference: txt(doc['BuyerReference']),
    projectReference: txt(path(list(doc['ProjectReference'])[0] as Node | undefined, 'ID')) ?? projectAsDoc?.id,
    contractReference: txt(path(node(doc['ContractDocumentReference']), 'ID')),
    orderReference: txt(path(node(doc['OrderReference']), 'ID')),
    salesOrderReference: txt(path(node(doc['OrderReference']), 'SalesOrderID')),
    accountingReference: txt(doc['AccountingCost']),
    receiptReference: txt(path(node(doc['ReceiptDocumentReference']), 'ID')),
    despatchReference: txt(path(node(doc['DespatchDocumentReference']), 'ID')),
    tenderReference: txt(path(node(doc['OriginatorDocumentReference']), 'ID')),
    attachments: docs.filter((d) => d !== projectAsDoc),
    paymentTerms: rawTxt(path(list(doc['PaymentTerms'])[0], 'Note')),
    notes: list(doc['Note'])
      .map((n) => rawTxt(n))
      .filter((n): n is string => n !== undefined),
    precedingInvoices: list(doc['BillingReference'])
      .map((b) => node(b['InvoiceDocumentReference']))
      .filter((r): r is Node => r !== undefined)
      .map((r, i) => compact({ number: txt(r['ID']) ?? '', issueDate: calendarDate(txt(r['IssueDate']), `precedingInvoices[${i}].issueDate`, zones) })),
    seller: party(path(doc, 'AccountingSupplierParty', 'Party')) ?? { name: '' },
    buyer: party(path(doc, 'AccountingCustomerParty', 'Party')) ?? { name: '' },
    payee: payee(doc['PayeeParty']),
    taxRepresentative: taxRepresentative(doc['TaxRepresentativeParty']),
    delivery: delivery
      ? compact({
          partyName: txt(path(node(delivery['DeliveryParty']), 'PartyName', 'Name')),
          locationId: ident(path(node(delivery['DeliveryLocation']), 'ID')),
          date: calendarDate(txt(delivery['ActualDeliveryDate']), 'delivery.date', zones),
          address: address(path(node(delivery['DeliveryLocation']), 'Address')),
        })
      : undefined,
    period: period
      ? compact({
          start: calendarDate(txt(period['StartDate']), 'period.start', zones),
          end: calendarDate(txt(period['EndDate']), 'period.end', zones),
          descriptionCode: txt(period['DescriptionCode']),
        })
      : undefined,
    businessProcess: txt(doc['ProfileID']),
    payment: payment(doc, zones),
    allowanceCharges: allowances,
    prepaidAmount: txt(total['PrepaidAmount']),
    roundingAmount: txt(total['PayableRoundingAmount']),
    vatTotalInAccountingCurrency: accounting ? txt(accounting['TaxAmount']) : undefined,
    lines,
    vatBreakdown: breakdown,
    totals: {
      lineNetAmount: txt(total['LineExtensionAmount']) ?? zero,
      allowanceTotal: txt(total['AllowanceTotalAmount']) ?? zero,
      chargeTotal: txt(total['ChargeTotalAmount']) ?? zero,
      taxExclusiveAmount: txt(total['TaxExclusiveAmount']) ?? zero,
      taxAmount: txt(main?.['TaxAmount']) ?? zero,
      taxInclusiveAmount: txt(total['TaxInclusiveAmount']) ?? zero,
      prepaidAmount: txt(total['PrepaidAmount']) ?? zero,
      roundingAmount: txt(total['PayableRoundingAmount']) ?? zero,
      payableAmount: txt(total['PayableAmount']) ?? zero,
    },
    meta: {
      sellerKey: 'ubl',
      sourceFile: ctx.file,
      sourceKey: txt(doc['ID']) ?? '',
      source: { path: credit ? 'CreditNote' : 'Invoice', ...(ctx.attachment ? { attachment: ctx.attachment } : {}) },
      amountsDeclared: true,
      numberFromSource: true,
      form,
      // filled while the dates above were read
      ...(Object.keys(zones).length ? { dateZones: zones } : {}),
    },
  });
  return invoice;
}
