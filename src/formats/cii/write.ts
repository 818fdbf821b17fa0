import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type {
  CalculatedInvoice,
  DocumentAllowanceCharge,
  Identifier,
  LineAllowanceCharge,
  Party,
  PostalAddress,
  SupportingDocument,
} from '../../model/invoice.js';
import { lineBreaks, literal } from '../text.js';

/** The namespaces of UN/CEFACT CII D16B, as EN 16931's CII binding uses them. */
export const CII_NS = {
  rsm: 'urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100',
  ram: 'urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100',
  qdt: 'urn:un:unece:uncefact:data:standard:QualifiedDataType:100',
  udt: 'urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100',
};

/** BT-24 of a plain EN 16931 document; Factur-X and XRechnung name their own. */
export const EN16931_GUIDELINE = 'urn:cen.eu:en16931:2017';

/** BT-24 of an XRechnung 3.0 document (the same in UBL and CII). */
export const XRECHNUNG_GUIDELINE = 'urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0';

/** What a CII document is written as: its guideline (BT-24). */
export interface CiiOptions {
  guideline?: string;
}

/**
 * BT-8 is coded in UNTDID 2005 in UBL (3 issue date, 35 delivery date, 432 payment date) and in
 * UNTDID 2475 in CII (5, 29, 72): the same three meanings.
 */
export const VAT_POINT_CODE_UBL_TO_CII: Record<string, string> = { '3': '5', '35': '29', '432': '72' };

/** An invoice that CII D16B cannot carry whole: refused, never cut. */
export class CiiCannotCarry extends Error {}

/** Elements by their prefixed name, the prefixes declared once on the root (as in the UBL writer, for speed). */
const PREFIXED = null;

function ele(parent: XMLBuilder, name: string, attrs?: Record<string, string | undefined>): XMLBuilder {
  const clean = attrs ? Object.fromEntries(Object.entries(attrs).flatMap(([k, v]) => (v === undefined || v === '' ? [] : [[k, literal(v)]]))) : undefined;
  return parent.ele(PREFIXED, name, clean);
}

function val(parent: XMLBuilder, name: string, value: string | undefined, attrs?: Record<string, string | undefined>): void {
  if (value === undefined || value === '') return;
  ele(parent, name, attrs).txt(literal(lineBreaks(value, '\n')));
}

/** A date as CII writes it: format 102, yyyymmdd, in the data type the place asks for. */
function date(parent: XMLBuilder, name: string, iso: string | undefined, type = 'udt:DateTimeString'): void {
  if (!iso) return;
  ele(ele(parent, name), type, { format: '102' }).txt(iso.replace(/-/g, ''));
}

function indicator(parent: XMLBuilder, charge: boolean): void {
  ele(ele(parent, 'ram:ChargeIndicator'), 'udt:Indicator').txt(charge ? 'true' : 'false');
}

function address(parent: XMLBuilder, name: string, a: PostalAddress | undefined): void {
  if (!a) return;
  const el = ele(parent, name);
  val(el, 'ram:PostcodeCode', a.postalCode);
  val(el, 'ram:LineOne', a.line1);
  val(el, 'ram:LineTwo', a.line2);
  val(el, 'ram:LineThree', a.line3);
  val(el, 'ram:CityName', a.city);
  val(el, 'ram:CountryID', a.country);
  val(el, 'ram:CountrySubDivisionName', a.countrySubdivision);
}

/** BT-29/46/60/71: an identifier with a scheme is a GlobalID, one without is an ID. */
function partyIds(el: XMLBuilder, ids: Identifier[]): void {
  for (const id of ids.filter((i) => !i.scheme)) val(el, 'ram:ID', id.id);
  for (const id of ids.filter((i) => i.scheme)) val(el, 'ram:GlobalID', id.id, { schemeID: id.scheme });
}

/** The SEPA creditor identifier (BT-90) is CII's CreditorReferenceID, not one of the party's ids. */
const isCreditorId = (id: Identifier): boolean => id.scheme === 'SEPA';

/** BG-4 / BG-7 as a trade party, in the order of the D16B schema. */
function tradeParty(parent: XMLBuilder, name: string, p: Party, role: 'seller' | 'buyer'): void {
  const el = ele(parent, name);
  partyIds(
    el,
    (p.identifiers ?? []).filter((i) => !isCreditorId(i)),
  );
  val(el, 'ram:Name', p.name);
  if (role === 'seller') val(el, 'ram:Description', p.legalInfo);
  if (p.legalId || p.tradingName) {
    const legal = ele(el, 'ram:SpecifiedLegalOrganization');
    if (p.legalId) val(legal, 'ram:ID', p.legalId.id, { schemeID: p.legalId.scheme });
    val(legal, 'ram:TradingBusinessName', p.tradingName);
  }
  if (p.contact && (p.contact.name || p.contact.phone || p.contact.email)) {
    const c = ele(el, 'ram:DefinedTradeContact');
    val(c, 'ram:PersonName', p.contact.name);
    if (p.contact.phone) val(ele(c, 'ram:TelephoneUniversalCommunication'), 'ram:CompleteNumber', p.contact.phone);
    if (p.contact.email) val(ele(c, 'ram:EmailURIUniversalCommunication'), 'ram:URIID', p.contact.email);
  }
  address(el, 'ram:PostalTradeAddress', p.address ?? {});
  if (p.endpoint) val(ele(el, 'ram:URIUniversalCommunication'), 'ram:URIID', p.endpoint.id, { schemeID: p.endpoint.scheme });
  if (p.vatId) val(ele(el, 'ram:SpecifiedTaxRegistration'), 'ram:ID', p.vatId, { schemeID: 'VA' });
  if (p.taxRegistrationId) val(ele(el, 'ram:SpecifiedTaxRegistration'), 'ram:ID', p.taxRegistrationId, { schemeID: 'FC' });
}

/** A tax category; category O has no rate in the gateway's own invoices (BR-O-05), one passed through keeps what it states. */
function tradeTax(parent: XMLBuilder, name: string, category: string, rate: string | undefined, asStated: boolean): void {
  const el = ele(parent, name);
  val(el, 'ram:TypeCode', 'VAT');
  val(el, 'ram:CategoryCode', category);
  if (category !== 'O' || asStated) val(el, 'ram:RateApplicablePercent', rate);
}

/** BG-20/21 (with the tax category) or BG-27/28, in the schema's order. */
function allowanceCharge(parent: XMLBuilder, ac: DocumentAllowanceCharge | LineAllowanceCharge, asStated: boolean): void {
  const el = ele(parent, 'ram:SpecifiedTradeAllowanceCharge');
  indicator(el, ac.charge);
  val(el, 'ram:CalculationPercent', ac.percentage);
  val(el, 'ram:BasisAmount', ac.baseAmount);
  val(el, 'ram:ActualAmount', ac.amount);
  val(el, 'ram:ReasonCode', ac.reasonCode);
  val(el, 'ram:Reason', ac.reason);
  if ('vatCategory' in ac) tradeTax(el, 'ram:CategoryTradeTax', ac.vatCategory, ac.vatRate, asStated);
}

/**
 * BG-24 (and BT-17 as type 50, BT-18 and BT-128 as type 130): an additional referenced document. CII
 * types a plain supporting document as 916 ("related document"), where UBL may leave the type out;
 * a CII passed through keeps what it stated (`asStated`).
 */
function referencedDocument(parent: XMLBuilder, d: SupportingDocument, asStated: boolean): void {
  const el = ele(parent, 'ram:AdditionalReferencedDocument');
  val(el, 'ram:IssuerAssignedID', d.id);
  val(el, 'ram:URIID', d.uri);
  val(el, 'ram:TypeCode', d.typeCode ?? (asStated ? undefined : '916'));
  val(el, 'ram:Name', d.description);
  if (d.content) val(el, 'ram:AttachmentBinaryObject', d.content, { mimeCode: d.mimeCode, filename: d.fileName });
  if (d.typeCode === '130') val(el, 'ram:ReferenceTypeCode', d.scheme);
}

/** Writes a canonical invoice or credit note as a UN/CEFACT CII D16B CrossIndustryInvoice (EN 16931 syntax binding). */
export function writeCii(inv: CalculatedInvoice, options: CiiOptions = {}): string {
  // an e-invoice passed through keeps what it stated; a CII one keeps its CII-only details too
  const form = inv.meta.form;
  const asStated = form !== undefined;
  const ciiForm = form?.syntax === 'cii' ? form : undefined;
  if ((inv.precedingInvoices?.length ?? 0) > 1) {
    throw new CiiCannotCarry(
      `CII D16B carries one preceding invoice reference (BG-3) and this invoice names ${inv.precedingInvoices!.length}; send it as UBL, or name one invoice per credit note`,
    );
  }
  const doc = create({ version: '1.0', encoding: 'UTF-8' }).ele(PREFIXED, 'rsm:CrossIndustryInvoice');
  const root = doc.node as unknown as { setAttribute(name: string, value: string): void };
  for (const [prefix, uri] of Object.entries(CII_NS)) root.setAttribute(`xmlns:${prefix}`, uri);

  const context = ele(doc, 'rsm:ExchangedDocumentContext');
  if (inv.businessProcess) val(ele(context, 'ram:BusinessProcessSpecifiedDocumentContextParameter'), 'ram:ID', inv.businessProcess);
  val(ele(context, 'ram:GuidelineSpecifiedDocumentContextParameter'), 'ram:ID', options.guideline ?? EN16931_GUIDELINE);

  const header = ele(doc, 'rsm:ExchangedDocument');
  val(header, 'ram:ID', inv.number ?? '');
  val(header, 'ram:TypeCode', inv.typeCode);
  date(header, 'ram:IssueDateTime', inv.issueDate);
  for (const note of inv.notes ?? []) {
    // UBL's "#AAI#text" convention for a note's subject code (BT-21) is CII's SubjectCode
    const coded = /^#([A-Z]{3})#([\s\S]*)$/.exec(note);
    const n = ele(header, 'ram:IncludedNote');
    val(n, 'ram:Content', coded ? coded[2] : note);
    val(n, 'ram:SubjectCode', coded?.[1]);
  }

  const transaction = ele(doc, 'rsm:SupplyChainTradeTransaction');
  for (const l of inv.lines) {
    const item = ele(transaction, 'ram:IncludedSupplyChainTradeLineItem');
    const lineDoc = ele(item, 'ram:AssociatedDocumentLineDocument');
    val(lineDoc, 'ram:LineID', l.id);
    if (l.note) val(ele(lineDoc, 'ram:IncludedNote'), 'ram:Content', l.note);
    const product = ele(item, 'ram:SpecifiedTradeProduct');
    if (l.standardItemId) val(product, 'ram:GlobalID', l.standardItemId.id, { schemeID: l.standardItemId.scheme });
    val(product, 'ram:SellerAssignedID', l.sellerItemId);
    val(product, 'ram:BuyerAssignedID', l.buyerItemId);
    val(product, 'ram:Name', l.itemName);
    val(product, 'ram:Description', l.description);
    for (const a of l.attributes ?? []) {
      const c = ele(product, 'ram:ApplicableProductCharacteristic');
      val(c, 'ram:Description', a.name);
      val(c, 'ram:Value', a.value);
    }
    for (const c of [l.classification, ...(l.moreClassifications ?? [])]) {
      if (c) val(ele(product, 'ram:DesignatedProductClassification'), 'ram:ClassCode', c.id, { listID: c.scheme, listVersionID: c.schemeVersion });
    }
    if (l.originCountry) val(ele(product, 'ram:OriginTradeCountry'), 'ram:ID', l.originCountry);

    const agreement = ele(item, 'ram:SpecifiedLineTradeAgreement');
    if (l.orderLineReference) val(ele(agreement, 'ram:BuyerOrderReferencedDocument'), 'ram:LineID', l.orderLineReference);
    const baseQuantity = (price: XMLBuilder): void => {
      if (l.baseQuantity) val(price, 'ram:BasisQuantity', l.baseQuantity, { unitCode: l.baseQuantityUnitCode ?? (asStated ? undefined : l.unitCode) });
    };
    if (l.grossPrice || l.priceDiscount) {
      const gross = ele(agreement, 'ram:GrossPriceProductTradePrice');
      // CII needs the gross price beside a discount: derived from net price and discount when not stated
      val(gross, 'ram:ChargeAmount', l.grossPrice ?? l.netPrice);
      const grossBasis = ciiForm?.grossBasis?.[l.id];
      if (grossBasis) val(gross, 'ram:BasisQuantity', grossBasis.quantity, { unitCode: grossBasis.unitCode });
      else baseQuantity(gross);
      if (l.priceDiscount) {
        const ac = ele(gross, 'ram:AppliedTradeAllowanceCharge');
        indicator(ac, l.priceCharge === true);
        val(ac, 'ram:ActualAmount', l.priceDiscount);
      }
    }
    const net = ele(agreement, 'ram:NetPriceProductTradePrice');
    val(net, 'ram:ChargeAmount', l.netPrice);
    baseQuantity(net);
    val(ele(item, 'ram:SpecifiedLineTradeDelivery'), 'ram:BilledQuantity', l.quantity, { unitCode: l.unitCode });

    const settlement = ele(item, 'ram:SpecifiedLineTradeSettlement');
    tradeTax(settlement, 'ram:ApplicableTradeTax', l.vatCategory, l.vatRate, asStated);
    if (l.period) {
      const p = ele(settlement, 'ram:BillingSpecifiedPeriod');
      date(p, 'ram:StartDateTime', l.period.start);
      date(p, 'ram:EndDateTime', l.period.end);
    }
    for (const ac of l.allowanceCharges ?? []) allowanceCharge(settlement, ac, asStated);
    val(ele(settlement, 'ram:SpecifiedTradeSettlementLineMonetarySummation'), 'ram:LineTotalAmount', l.netAmount);
    if (l.objectIdentifier) {
      const typed = !form?.untypedLineObjects?.includes(l.id);
      referencedDocument(
        settlement,
        { id: l.objectIdentifier.id, ...(typed ? { typeCode: '130' } : {}), ...(l.objectIdentifier.scheme ? { scheme: l.objectIdentifier.scheme } : {}) },
        true,
      );
    }
    if (l.accountingReference) val(ele(settlement, 'ram:ReceivableSpecifiedTradeAccountingAccount'), 'ram:ID', l.accountingReference);
  }

  const agreement = ele(transaction, 'ram:ApplicableHeaderTradeAgreement');
  val(agreement, 'ram:BuyerReference', inv.buyerReference);
  tradeParty(agreement, 'ram:SellerTradeParty', inv.seller, 'seller');
  tradeParty(agreement, 'ram:BuyerTradeParty', inv.buyer, 'buyer');
  if (inv.taxRepresentative) {
    const rep = ele(agreement, 'ram:SellerTaxRepresentativeTradeParty');
    val(rep, 'ram:Name', inv.taxRepresentative.name);
    address(rep, 'ram:PostalTradeAddress', inv.taxRepresentative.address ?? {});
    if (inv.taxRepresentative.vatId) val(ele(rep, 'ram:SpecifiedTaxRegistration'), 'ram:ID', inv.taxRepresentative.vatId, { schemeID: 'VA' });
  }
  if (inv.salesOrderReference) val(ele(agreement, 'ram:SellerOrderReferencedDocument'), 'ram:IssuerAssignedID', inv.salesOrderReference);
  if (inv.orderReference) val(ele(agreement, 'ram:BuyerOrderReferencedDocument'), 'ram:IssuerAssignedID', inv.orderReference);
  if (inv.contractReference) val(ele(agreement, 'ram:ContractReferencedDocument'), 'ram:IssuerAssignedID', inv.contractReference);
  for (const a of inv.attachments ?? []) referencedDocument(agreement, a, ciiForm !== undefined);
  if (inv.tenderReference) referencedDocument(agreement, { id: inv.tenderReference, typeCode: '50' }, true);
  if (inv.projectReference) {
    const project = ele(agreement, 'ram:SpecifiedProcuringProject');
    val(project, 'ram:ID', inv.projectReference);
    val(project, 'ram:Name', 'Project reference');
  }

  const delivery = ele(transaction, 'ram:ApplicableHeaderTradeDelivery');
  if (inv.delivery && (inv.delivery.partyName || inv.delivery.locationId || inv.delivery.address)) {
    const shipTo = ele(delivery, 'ram:ShipToTradeParty');
    if (inv.delivery.locationId) partyIds(shipTo, [inv.delivery.locationId]);
    val(shipTo, 'ram:Name', inv.delivery.partyName);
    address(shipTo, 'ram:PostalTradeAddress', inv.delivery.address);
  }
  if (inv.delivery?.date) date(ele(delivery, 'ram:ActualDeliverySupplyChainEvent'), 'ram:OccurrenceDateTime', inv.delivery.date);
  if (inv.despatchReference) val(ele(delivery, 'ram:DespatchAdviceReferencedDocument'), 'ram:IssuerAssignedID', inv.despatchReference);
  if (inv.receiptReference) val(ele(delivery, 'ram:ReceivingAdviceReferencedDocument'), 'ram:IssuerAssignedID', inv.receiptReference);

  const settlement = ele(transaction, 'ram:ApplicableHeaderTradeSettlement');
  const creditorId = [...(inv.seller.identifiers ?? []), ...(inv.payee?.identifiers ?? [])].find(isCreditorId);
  val(settlement, 'ram:CreditorReferenceID', creditorId?.id);
  val(settlement, 'ram:PaymentReference', inv.payment?.paymentReference);
  // a VAT accounting currency equal to the invoice's says nothing, and CII's BR-53 refuses it
  const vatCurrency = inv.vatCurrency && inv.vatCurrency !== inv.currency ? inv.vatCurrency : undefined;
  val(settlement, 'ram:TaxCurrencyCode', vatCurrency);
  val(settlement, 'ram:InvoiceCurrencyCode', inv.currency);
  if (inv.payee) {
    const payee = ele(settlement, 'ram:PayeeTradeParty');
    partyIds(
      payee,
      (inv.payee.identifiers ?? []).filter((i) => !isCreditorId(i)),
    );
    val(payee, 'ram:Name', inv.payee.name);
    if (inv.payee.legalId) val(ele(payee, 'ram:SpecifiedLegalOrganization'), 'ram:ID', inv.payee.legalId.id, { schemeID: inv.payee.legalId.scheme });
  }
  const pay = inv.payment;
  if (pay) {
    const means = ele(settlement, 'ram:SpecifiedTradeSettlementPaymentMeans');
    val(means, 'ram:TypeCode', pay.meansCode);
    val(means, 'ram:Information', pay.meansText);
    if (pay.card) {
      const card = ele(means, 'ram:ApplicableTradeSettlementFinancialCard');
      val(card, 'ram:ID', pay.card.accountNumber);
      val(card, 'ram:CardholderName', pay.card.holder);
    }
    if (pay.debitedAccount) val(ele(means, 'ram:PayerPartyDebtorFinancialAccount'), 'ram:IBANID', pay.debitedAccount);
    const creditorAccount = (el: XMLBuilder, iban: string, name: string | undefined, bic: string | undefined): void => {
      const acct = ele(el, 'ram:PayeePartyCreditorFinancialAccount');
      val(acct, 'ram:IBANID', iban);
      val(acct, 'ram:AccountName', name);
      if (bic) val(ele(el, 'ram:PayeeSpecifiedCreditorFinancialInstitution'), 'ram:BICID', bic);
    };
    if (pay.iban) creditorAccount(means, pay.iban, pay.accountName, pay.bic);
    for (const extra of pay.additionalAccounts ?? []) {
      const more = ele(settlement, 'ram:SpecifiedTradeSettlementPaymentMeans');
      val(more, 'ram:TypeCode', extra.meansCode);
      creditorAccount(more, extra.iban, extra.accountName, extra.bic);
    }
  }
  for (const [i, b] of inv.vatBreakdown.entries()) {
    const tax = ele(settlement, 'ram:ApplicableTradeTax');
    val(tax, 'ram:CalculatedAmount', b.taxAmount);
    val(tax, 'ram:TypeCode', 'VAT');
    val(tax, 'ram:ExemptionReason', b.exemptionReason);
    val(tax, 'ram:BasisAmount', b.taxableAmount);
    val(tax, 'ram:CategoryCode', b.category);
    val(tax, 'ram:ExemptionReasonCode', b.exemptionReasonCode);
    // BT-7 and BT-8 are the document's: stated once (CII-SR-461), on the first breakdown
    if (i === 0) date(tax, 'ram:TaxPointDate', inv.taxPointDate, 'udt:DateString');
    if (i === 0)
      val(tax, 'ram:DueDateTypeCode', inv.period?.descriptionCode && (VAT_POINT_CODE_UBL_TO_CII[inv.period.descriptionCode] ?? inv.period.descriptionCode));
    if (b.category !== 'O' || asStated) val(tax, 'ram:RateApplicablePercent', b.rate);
  }
  if (inv.period && (inv.period.start || inv.period.end)) {
    const p = ele(settlement, 'ram:BillingSpecifiedPeriod');
    date(p, 'ram:StartDateTime', inv.period.start);
    date(p, 'ram:EndDateTime', inv.period.end);
  }
  for (const ac of inv.allowanceCharges ?? []) allowanceCharge(settlement, ac, asStated);
  if (inv.paymentTerms || inv.dueDate || pay?.mandateReference) {
    const terms = ele(settlement, 'ram:SpecifiedTradePaymentTerms');
    val(terms, 'ram:Description', inv.paymentTerms);
    date(terms, 'ram:DueDateDateTime', inv.dueDate);
    val(terms, 'ram:DirectDebitMandateID', pay?.mandateReference);
  }
  const t = inv.totals;
  const zero = (v: string): boolean => /^[+-]?0(\.0+)?$/.test(v);
  const stated = (name: string): boolean => form?.statedTotals?.includes(name) ?? false;
  const sums = ele(settlement, 'ram:SpecifiedTradeSettlementHeaderMonetarySummation');
  val(sums, 'ram:LineTotalAmount', t.lineNetAmount);
  if (!zero(t.chargeTotal) || (inv.allowanceCharges ?? []).some((a) => a.charge) || stated('ChargeTotalAmount'))
    val(sums, 'ram:ChargeTotalAmount', t.chargeTotal);
  if (!zero(t.allowanceTotal) || (inv.allowanceCharges ?? []).some((a) => !a.charge) || stated('AllowanceTotalAmount'))
    val(sums, 'ram:AllowanceTotalAmount', t.allowanceTotal);
  val(sums, 'ram:TaxBasisTotalAmount', t.taxExclusiveAmount);
  if (!ciiForm?.noTaxTotal || !zero(t.taxAmount)) val(sums, 'ram:TaxTotalAmount', t.taxAmount, { currencyID: inv.currency });
  const accountingCurrency = vatCurrency ?? form?.accountingTaxCurrency;
  if (accountingCurrency && accountingCurrency !== inv.currency && inv.vatTotalInAccountingCurrency !== undefined)
    val(sums, 'ram:TaxTotalAmount', inv.vatTotalInAccountingCurrency, { currencyID: accountingCurrency });
  if (!zero(t.roundingAmount) || stated('PayableRoundingAmount')) val(sums, 'ram:RoundingAmount', t.roundingAmount);
  val(sums, 'ram:GrandTotalAmount', t.taxInclusiveAmount);
  if (!zero(t.prepaidAmount) || stated('PrepaidAmount')) val(sums, 'ram:TotalPrepaidAmount', t.prepaidAmount);
  val(sums, 'ram:DuePayableAmount', t.payableAmount);
  for (const p of inv.precedingInvoices ?? []) {
    const ref = ele(settlement, 'ram:InvoiceReferencedDocument');
    val(ref, 'ram:IssuerAssignedID', p.number);
    date(ref, 'ram:FormattedIssueDateTime', p.issueDate, 'qdt:DateTimeString');
  }
  if (inv.accountingReference) val(ele(settlement, 'ram:ReceivableSpecifiedTradeAccountingAccount'), 'ram:ID', inv.accountingReference);
  return doc.end({ prettyPrint: true });
}
