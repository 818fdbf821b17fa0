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
  SourceForm,
  SupportingDocument,
  VatBreakdown,
  VatCategory,
} from '../model/invoice.js';
import { VAT_POINT_CODE_UBL_TO_CII } from '../formats/cii/write.js';
import type { ReadContext } from './record.js';
import { rejectDoctype } from './xml.js';
import { cdataAsText, xmlBytesToText } from './xml-text.js';
import { attr, bool, compact, eInvoiceParser, ident, list, node, path, rawTxt, txt, type XmlNode as Node } from './xml-tree.js';

/** Elements of CII that may repeat, read as lists. */
const REPEATING = new Set([
  'IncludedNote',
  'IncludedSupplyChainTradeLineItem',
  'ApplicableProductCharacteristic',
  'DesignatedProductClassification',
  'SpecifiedTradeAllowanceCharge',
  'AdditionalReferencedDocument',
  'SpecifiedTradeSettlementPaymentMeans',
  'ApplicableTradeTax',
  'SpecifiedTaxRegistration',
  'ID',
  'GlobalID',
  'TaxTotalAmount',
  'InvoiceReferencedDocument',
  'SpecifiedTradePaymentTerms',
  'DefinedTradeContact',
  'URIUniversalCommunication',
  'ReceivableSpecifiedTradeAccountingAccount',
]);

const parser = eInvoiceParser(REPEATING);

const CII_TO_UBL_VAT_POINT = Object.fromEntries(Object.entries(VAT_POINT_CODE_UBL_TO_CII).map(([ubl, cii]) => [cii, ubl]));

function indicator(v: unknown): boolean {
  return bool(path(v, 'Indicator'));
}

/** A CII date (format 102, yyyymmdd) as yyyy-mm-dd; other formats are refused with the place. */
function date(v: unknown, at: string, ctx: ReadContext): string | undefined {
  const holder = node(v);
  if (!holder) return undefined;
  const el = holder['DateTimeString'] ?? holder['DateString'];
  const value = txt(el);
  if (value === undefined) return undefined;
  const format = attr(el, 'format') ?? '102';
  if (format !== '102' || !/^\d{8}$/.test(value)) {
    throw new ReaderError(`the date "${value}" (format ${format}) is not a CII date of format 102 (yyyymmdd)`, {
      file: ctx.file,
      attachment: ctx.attachment,
      path: at,
    });
  }
  return `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6)}`;
}

function address(a: unknown): PostalAddress | undefined {
  const n = node(a);
  if (!n) return undefined;
  return compact({
    line1: txt(n['LineOne']),
    line2: txt(n['LineTwo']),
    line3: txt(n['LineThree']),
    city: txt(n['CityName']),
    postalCode: txt(n['PostcodeCode']),
    countrySubdivision: txt(n['CountrySubDivisionName']),
    country: txt(n['CountryID']),
  });
}

function partyIds(p: Node): Identifier[] {
  return [...list(p['ID']).map((i) => ident(i)), ...list(p['GlobalID']).map((i) => ident(i))].filter((i): i is Identifier => i !== undefined);
}

function tradeParty(v: unknown): Party | undefined {
  const p = node(v);
  if (!p) return undefined;
  const legal = node(p['SpecifiedLegalOrganization']);
  const contact = list(p['DefinedTradeContact'])[0];
  const registrations = list(p['SpecifiedTaxRegistration'])
    .map((r) => node(r['ID']))
    .filter((r): r is Node => r !== undefined);
  const registered = (scheme: string): string | undefined => txt(registrations.find((r) => attr(r, 'schemeID') === scheme));
  return compact({
    name: txt(p['Name']) ?? '',
    tradingName: txt(legal?.['TradingBusinessName']),
    identifiers: partyIds(p),
    legalId: ident(legal?.['ID']),
    vatId: registered('VA'),
    taxRegistrationId: registered('FC'),
    legalInfo: txt(p['Description']),
    endpoint: ident(path(list(p['URIUniversalCommunication'])[0], 'URIID')),
    address: address(p['PostalTradeAddress']),
    contact: contact
      ? compact({
          name: txt(contact['PersonName']) ?? txt(contact['DepartmentName']),
          phone: txt(path(contact, 'TelephoneUniversalCommunication', 'CompleteNumber')),
          email: txt(path(contact, 'EmailURIUniversalCommunication', 'URIID')),
        })
      : undefined,
  }) as Party;
}

function allowanceCharge(a: Node): LineAllowanceCharge {
  return compact({
    charge: indicator(a['ChargeIndicator']),
    amount: txt(a['ActualAmount']) ?? '0',
    baseAmount: txt(a['BasisAmount']),
    percentage: txt(a['CalculationPercent']),
    reason: txt(a['Reason']),
    reasonCode: txt(a['ReasonCode']),
  });
}

function referencedDocument(d: Node): SupportingDocument {
  const bin = d['AttachmentBinaryObject'];
  return compact({
    id: txt(d['IssuerAssignedID']) ?? '',
    scheme: txt(d['ReferenceTypeCode']),
    typeCode: txt(d['TypeCode']),
    description: txt(d['Name']),
    uri: txt(d['URIID']),
    content: txt(bin),
    mimeCode: attr(bin, 'mimeCode'),
    fileName: attr(bin, 'filename'),
  });
}

function line(item: Node, at: string, ctx: ReadContext): InvoiceLine & { netAmount: string } {
  const lineDoc = node(item['AssociatedDocumentLineDocument']) ?? {};
  const product = node(item['SpecifiedTradeProduct']) ?? {};
  const agreement = node(item['SpecifiedLineTradeAgreement']) ?? {};
  const settlement = node(item['SpecifiedLineTradeSettlement']) ?? {};
  const gross = node(agreement['GrossPriceProductTradePrice']);
  const net = node(agreement['NetPriceProductTradePrice']) ?? {};
  const priceAc = node(gross?.['AppliedTradeAllowanceCharge']);
  const quantity = path(item, 'SpecifiedLineTradeDelivery', 'BilledQuantity');
  const tax = list(settlement['ApplicableTradeTax'])[0] ?? {};
  const period = node(settlement['BillingSpecifiedPeriod']);
  const base = net['BasisQuantity'] ?? gross?.['BasisQuantity'];
  const classes = list(product['DesignatedProductClassification'])
    .map((c) => ident(c['ClassCode'], 'listID', 'listVersionID'))
    .filter((c): c is Identifier => c !== undefined);
  const objects = list(settlement['AdditionalReferencedDocument']);
  const object = objects.find((d) => txt(d['TypeCode']) === '130') ?? objects[0];
  return compact({
    id: txt(lineDoc['LineID']) ?? '',
    note: rawTxt(path(list(lineDoc['IncludedNote'])[0], 'Content')),
    quantity: txt(quantity) ?? '',
    unitCode: attr(quantity, 'unitCode') ?? '',
    netAmount: txt(path(settlement, 'SpecifiedTradeSettlementLineMonetarySummation', 'LineTotalAmount')) ?? '0.00',
    accountingReference: txt(path(list(settlement['ReceivableSpecifiedTradeAccountingAccount'])[0], 'ID')),
    period: period
      ? compact({
          start: date(period['StartDateTime'], `${at}/BillingSpecifiedPeriod/StartDateTime`, ctx),
          end: date(period['EndDateTime'], `${at}/BillingSpecifiedPeriod/EndDateTime`, ctx),
        })
      : undefined,
    orderLineReference: txt(path(agreement, 'BuyerOrderReferencedDocument', 'LineID')),
    objectIdentifier: object ? compact({ id: txt(object['IssuerAssignedID']) ?? '', scheme: txt(object['ReferenceTypeCode']) }) : undefined,
    allowanceCharges: list(settlement['SpecifiedTradeAllowanceCharge']).map(allowanceCharge),
    netPrice: txt(net['ChargeAmount']) ?? '',
    priceDiscount: priceAc ? txt(priceAc['ActualAmount']) : undefined,
    priceCharge: priceAc && indicator(priceAc['ChargeIndicator']) ? true : undefined,
    grossPrice: gross ? txt(gross['ChargeAmount']) : undefined,
    baseQuantity: txt(base),
    baseQuantityUnitCode: attr(base, 'unitCode'),
    vatCategory: (txt(tax['CategoryCode']) ?? '') as VatCategory,
    vatRate: txt(tax['RateApplicablePercent']),
    itemName: txt(product['Name']) ?? '',
    description: txt(product['Description']),
    sellerItemId: txt(product['SellerAssignedID']),
    buyerItemId: txt(product['BuyerAssignedID']),
    standardItemId: ident(product['GlobalID']),
    originCountry: txt(path(product, 'OriginTradeCountry', 'ID')),
    classification: classes[0],
    moreClassifications: classes.slice(1),
    attributes: list(product['ApplicableProductCharacteristic']).map((c) => ({ name: txt(c['Description']) ?? '', value: txt(c['Value']) ?? '' })),
  }) as InvoiceLine & { netAmount: string };
}

function payment(settlement: Node, mandate: string | undefined): PaymentInstructions | undefined {
  const means = list(settlement['SpecifiedTradeSettlementPaymentMeans']);
  const first = means[0];
  if (!first) return undefined;
  const account = (m: Node): string | undefined =>
    txt(path(m, 'PayeePartyCreditorFinancialAccount', 'IBANID')) ?? txt(path(m, 'PayeePartyCreditorFinancialAccount', 'ProprietaryID'));
  const card = node(first['ApplicableTradeSettlementFinancialCard']);
  return compact({
    meansCode: txt(first['TypeCode']) ?? '',
    meansText: txt(first['Information']),
    paymentReference: txt(settlement['PaymentReference']),
    iban: account(first),
    accountName: txt(path(first, 'PayeePartyCreditorFinancialAccount', 'AccountName')),
    bic: txt(path(first, 'PayeeSpecifiedCreditorFinancialInstitution', 'BICID')),
    mandateReference: mandate,
    debitedAccount: txt(path(first, 'PayerPartyDebtorFinancialAccount', 'IBANID')),
    card: card ? compact({ accountNumber: txt(card['ID']) ?? '', network: '', holder: txt(card['CardholderName']) }) : undefined,
    additionalAccounts: means
      .slice(1)
      .filter((m) => account(m))
      .map((m) =>
        compact({
          meansCode: txt(m['TypeCode']) ?? '',
          iban: account(m) ?? '',
          accountName: txt(path(m, 'PayeePartyCreditorFinancialAccount', 'AccountName')),
          bic: txt(path(m, 'PayeeSpecifiedCreditorFinancialInstitution', 'BICID')),
          // CII states BT-83 once, for every payment means
          paymentReference: txt(settlement['PaymentReference']),
        }),
      ),
  }) as PaymentInstructions;
}

/**
 * Reads a UN/CEFACT CII D16B CrossIndustryInvoice (EN 16931's CII binding, as Factur-X, ZUGFeRD and
 * XRechnung write it) into the canonical model, keeping the amounts, breakdown and totals it states.
 */
export function readCii(source: string | Buffer, ctx: ReadContext): CalculatedInvoice {
  const xml = Buffer.isBuffer(source) ? xmlBytesToText(source, ctx) : source;
  rejectDoctype(xml, ctx);
  let parsed: Node;
  try {
    parsed = parser.parse(cdataAsText(xml)) as Node;
  } catch (err) {
    throw new ReaderError(`CII is not well-formed XML: ${(err as Error).message}`, { file: ctx.file, attachment: ctx.attachment });
  }
  const doc = node(parsed['CrossIndustryInvoice']);
  if (!doc) throw new ReaderError('not a CII CrossIndustryInvoice (the root element is something else)', { file: ctx.file, attachment: ctx.attachment });
  const header = node(doc['ExchangedDocument']) ?? {};
  const transaction = node(doc['SupplyChainTradeTransaction']) ?? {};
  const agreement = node(transaction['ApplicableHeaderTradeAgreement']) ?? {};
  const delivery = node(transaction['ApplicableHeaderTradeDelivery']) ?? {};
  const settlement = node(transaction['ApplicableHeaderTradeSettlement']) ?? {};
  const sums = node(settlement['SpecifiedTradeSettlementHeaderMonetarySummation']) ?? {};
  const currency = txt(settlement['InvoiceCurrencyCode']) ?? '';
  const taxTotals = list(sums['TaxTotalAmount']);
  const mainTax = taxTotals.find((t) => attr(t, 'currencyID') === currency) ?? taxTotals[0];
  const accountingTax = taxTotals.find((t) => t !== mainTax);
  const terms = list(settlement['SpecifiedTradePaymentTerms']);
  const taxes = list(settlement['ApplicableTradeTax']);
  const root = 'CrossIndustryInvoice/SupplyChainTradeTransaction';
  const docs = list(agreement['AdditionalReferencedDocument']).map(referencedDocument);
  const tender = docs.find((d) => d.typeCode === '50');
  const shipTo = node(delivery['ShipToTradeParty']);
  const vatPointCode = txt(taxes.map((t) => t['DueDateTypeCode']).find((c) => txt(c) !== undefined));
  const period = node(settlement['BillingSpecifiedPeriod']);
  const statedTotals = (
    [
      ['AllowanceTotalAmount', 'AllowanceTotalAmount'],
      ['ChargeTotalAmount', 'ChargeTotalAmount'],
      ['TotalPrepaidAmount', 'PrepaidAmount'],
      ['RoundingAmount', 'PayableRoundingAmount'],
    ] as const
  )
    .filter(([cii]) => sums[cii] !== undefined)
    .map(([, ubl]) => ubl);
  const items = list(transaction['IncludedSupplyChainTradeLineItem']);
  const lineId = (item: Node): string => txt(path(item, 'AssociatedDocumentLineDocument', 'LineID')) ?? '';
  const grossBasis: Record<string, { quantity?: string; unitCode?: string }> = {};
  for (const item of items) {
    const agreementOf = node(item['SpecifiedLineTradeAgreement']);
    const gross = node(agreementOf?.['GrossPriceProductTradePrice']);
    if (!gross) continue;
    const g = gross['BasisQuantity'];
    const n = node(agreementOf?.['NetPriceProductTradePrice'])?.['BasisQuantity'];
    if (txt(g) !== txt(n) || attr(g, 'unitCode') !== attr(n, 'unitCode'))
      grossBasis[lineId(item)] = compact({ quantity: txt(g), unitCode: attr(g, 'unitCode') });
  }
  const form: SourceForm = compact({
    syntax: 'cii' as const,
    statedTotals: [...statedTotals],
    untypedLineObjects: items
      .filter((item) => {
        const objects = list(path(item, 'SpecifiedLineTradeSettlement', 'AdditionalReferencedDocument'));
        return objects.length > 0 && !objects.some((d) => txt(d['TypeCode']));
      })
      .map(lineId),
    grossBasis: Object.keys(grossBasis).length ? grossBasis : undefined,
    noTaxTotal: taxTotals.length === 0 ? true : undefined,
  });
  const seller = tradeParty(agreement['SellerTradeParty']) ?? { name: '' };
  const creditorId = txt(settlement['CreditorReferenceID']);
  if (creditorId) seller.identifiers = [...(seller.identifiers ?? []), { id: creditorId, scheme: 'SEPA' }];
  const payee = node(settlement['PayeeTradeParty']);
  const zero = '0.00';
  const ciiNote = (n: Node): string | undefined => {
    const content = rawTxt(n['Content']);
    const subject = txt(n['SubjectCode']);
    return content === undefined ? undefined : subject ? `#${subject}#${content}` : content;
  };
  return compact({
    kind: 'invoice' as const,
    number: txt(header['ID']),
    issueDate: date(header['IssueDateTime'], 'CrossIndustryInvoice/ExchangedDocument/IssueDateTime', ctx) ?? '',
    typeCode: txt(header['TypeCode']) ?? '',
    currency,
    vatCurrency: txt(settlement['TaxCurrencyCode']),
    taxPointDate: taxes
      .map((t, i) => date(t['TaxPointDate'], `${root}/ApplicableHeaderTradeSettlement/ApplicableTradeTax[${i + 1}]/TaxPointDate`, ctx))
      .find(Boolean),
    dueDate: terms.map((t, i) => date(t['DueDateDateTime'], `${root}/ApplicableHeaderTradeSettlement/SpecifiedTradePaymentTerms[${i + 1}]`, ctx)).find(Boolean),
    buyerReference: txt(agreement['BuyerReference']),
    projectReference: txt(path(agreement, 'SpecifiedProcuringProject', 'ID')),
    contractReference: txt(path(agreement, 'ContractReferencedDocument', 'IssuerAssignedID')),
    orderReference: txt(path(agreement, 'BuyerOrderReferencedDocument', 'IssuerAssignedID')),
    salesOrderReference: txt(path(agreement, 'SellerOrderReferencedDocument', 'IssuerAssignedID')),
    accountingReference: txt(path(list(settlement['ReceivableSpecifiedTradeAccountingAccount'])[0], 'ID')),
    receiptReference: txt(path(delivery, 'ReceivingAdviceReferencedDocument', 'IssuerAssignedID')),
    despatchReference: txt(path(delivery, 'DespatchAdviceReferencedDocument', 'IssuerAssignedID')),
    tenderReference: tender?.id,
    attachments: docs.filter((d) => d !== tender),
    paymentTerms: rawTxt(path(terms[0], 'Description')),
    notes: list(header['IncludedNote'])
      .map(ciiNote)
      .filter((n): n is string => n !== undefined),
    precedingInvoices: list(settlement['InvoiceReferencedDocument']).map((r, i) =>
      compact({
        number: txt(r['IssuerAssignedID']) ?? '',
        issueDate: date(r['FormattedIssueDateTime'], `${root}/ApplicableHeaderTradeSettlement/InvoiceReferencedDocument[${i + 1}]`, ctx),
      }),
    ),
    seller,
    buyer: tradeParty(agreement['BuyerTradeParty']) ?? { name: '' },
    payee: payee
      ? (compact({
          name: txt(payee['Name']) ?? '',
          identifiers: partyIds(payee),
          legalId: ident(path(payee, 'SpecifiedLegalOrganization', 'ID')),
        }) as Party)
      : undefined,
    taxRepresentative: agreement['SellerTaxRepresentativeTradeParty']
      ? (compact({
          name: txt(path(agreement, 'SellerTaxRepresentativeTradeParty', 'Name')) ?? '',
          vatId: txt(path(list(path(agreement, 'SellerTaxRepresentativeTradeParty', 'SpecifiedTaxRegistration'))[0], 'ID')),
          address: address(path(agreement, 'SellerTaxRepresentativeTradeParty', 'PostalTradeAddress')),
        }) as Party)
      : undefined,
    delivery:
      shipTo || delivery['ActualDeliverySupplyChainEvent']
        ? compact({
            partyName: txt(shipTo?.['Name']),
            locationId: shipTo ? partyIds(shipTo)[0] : undefined,
            date: date(
              path(delivery, 'ActualDeliverySupplyChainEvent', 'OccurrenceDateTime'),
              `${root}/ApplicableHeaderTradeDelivery/ActualDeliverySupplyChainEvent`,
              ctx,
            ),
            address: address(shipTo?.['PostalTradeAddress']),
          })
        : undefined,
    period:
      period || vatPointCode
        ? compact({
            start: date(period?.['StartDateTime'], `${root}/ApplicableHeaderTradeSettlement/BillingSpecifiedPeriod/StartDateTime`, ctx),
            end: date(period?.['EndDateTime'], `${root}/ApplicableHeaderTradeSettlement/BillingSpecifiedPeriod/EndDateTime`, ctx),
            descriptionCode: vatPointCode && (CII_TO_UBL_VAT_POINT[vatPointCode] ?? vatPointCode),
          })
        : undefined,
    businessProcess: txt(path(doc, 'ExchangedDocumentContext', 'BusinessProcessSpecifiedDocumentContextParameter', 'ID')),
    payment: payment(
      settlement,
      txt(
        path(
          terms.find((t) => t['DirectDebitMandateID']),
          'DirectDebitMandateID',
        ),
      ),
    ),
    allowanceCharges: list(settlement['SpecifiedTradeAllowanceCharge']).map((a) => {
      const tax = node(a['CategoryTradeTax']) ?? {};
      return compact({
        ...allowanceCharge(a),
        vatCategory: (txt(tax['CategoryCode']) ?? '') as VatCategory,
        vatRate: txt(tax['RateApplicablePercent']),
      }) as DocumentAllowanceCharge;
    }),
    prepaidAmount: txt(sums['TotalPrepaidAmount']),
    roundingAmount: txt(sums['RoundingAmount']),
    vatTotalInAccountingCurrency: txt(accountingTax),
    lines: items.map((item, i) => line(item, `${root}/IncludedSupplyChainTradeLineItem[${i + 1}]`, ctx)),
    vatBreakdown: taxes.map((t): VatBreakdown =>
      compact({
        category: (txt(t['CategoryCode']) ?? '') as VatCategory,
        rate: txt(t['RateApplicablePercent']),
        taxableAmount: txt(t['BasisAmount']) ?? zero,
        taxAmount: txt(t['CalculatedAmount']) ?? zero,
        exemptionReason: txt(t['ExemptionReason']),
        exemptionReasonCode: txt(t['ExemptionReasonCode']),
      }),
    ),
    totals: {
      lineNetAmount: txt(sums['LineTotalAmount']) ?? zero,
      allowanceTotal: txt(sums['AllowanceTotalAmount']) ?? zero,
      chargeTotal: txt(sums['ChargeTotalAmount']) ?? zero,
      taxExclusiveAmount: txt(sums['TaxBasisTotalAmount']) ?? zero,
      taxAmount: txt(mainTax) ?? zero,
      taxInclusiveAmount: txt(sums['GrandTotalAmount']) ?? zero,
      prepaidAmount: txt(sums['TotalPrepaidAmount']) ?? zero,
      roundingAmount: txt(sums['RoundingAmount']) ?? zero,
      payableAmount: txt(sums['DuePayableAmount']) ?? zero,
    },
    meta: {
      sellerKey: 'cii',
      sourceFile: ctx.file,
      sourceKey: txt(header['ID']) ?? '',
      source: { path: 'CrossIndustryInvoice', ...(ctx.attachment ? { attachment: ctx.attachment } : {}) },
      amountsDeclared: true,
      numberFromSource: true,
      form,
    },
  }) as CalculatedInvoice;
}
