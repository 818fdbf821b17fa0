import type { DateZones } from './date-zone.js';
/**
 * The canonical invoice: the EN 16931 semantic model in plain English names.
 * Every amount, quantity, price and rate is a decimal string ("1249.95"), never a number,
 * so that a value survives JSON, YAML and XML unchanged.
 */

/** A decimal in text form: digits, optional sign, optional decimal point ("-12.50"). */
export type DecimalText = string;
/** A calendar date in ISO form, yyyy-mm-dd. */
export type IsoDate = string;

/** Where a value came from in the source file, for error reports. */
export interface SourcePosition {
  /** 1-based line in a text file (CSV, fixed-width, JSON) */
  line?: number;
  /** column name or 1-based column number, or character range for fixed-width */
  column?: string;
  /** path inside a structured document (XML/JSON), e.g. "Facturen/Factuur[3]/Regel[2]" */
  path?: string;
  /** attachment name when the file is an e-mail */
  attachment?: string;
}

/** BT-3 invoice type codes accepted here (UNTDID 1001 subset used in EN 16931 CIUS). */
export const INVOICE_TYPE_CODES = [
  '380',
  '381',
  '383',
  '384',
  '386',
  '389',
  '751',
  '326',
  '261',
  '262',
  '296',
  '308',
  '396',
  '420',
  '458',
  '527',
  '532',
] as const;
export type InvoiceTypeCode = string;

/**
 * BT-3 codes that make a document a credit note (UNTDID 1001, the codes EN 16931 allows in a UBL
 * CreditNote): written as a CreditNote, booked as a credit, numbered in the credit-note series.
 */
export const CREDIT_NOTE_TYPE_CODES: ReadonlySet<string> = new Set(['81', '83', '261', '262', '296', '308', '381', '396', '420', '458', '532']);

/** Whether a document is a credit note: as it came (a UBL CreditNote stays one), else by its type code. */
export function isCreditNote(invoice: Pick<Invoice, 'typeCode' | 'meta'>): boolean {
  return isCreditNoteBy(invoice.typeCode, invoice.meta?.form?.root);
}

/** The same from the stored fields: the type code and, for a document that came as UBL or CII, its root element. */
export function isCreditNoteBy(typeCode: string, formRoot?: string): boolean {
  return formRoot ? formRoot === 'CreditNote' : CREDIT_NOTE_TYPE_CODES.has(typeCode);
}

/** BT-151 / BT-118 VAT category codes: the UNCL 5305 subset EN 16931 allows (B: Italian split payment). */
export const VAT_CATEGORIES = ['S', 'Z', 'E', 'AE', 'K', 'G', 'O', 'L', 'M', 'B'] as const;
export type VatCategory = (typeof VAT_CATEGORIES)[number];

/** An identifier with an optional scheme (ISO 6523 ICD for legal ids, EAS for endpoints). */
export interface Identifier {
  id: string;
  scheme?: string;
  /** the scheme's version (BT-158's listVersionID) */
  schemeVersion?: string;
}

/** BG-5 / BG-8 postal address. */
export interface PostalAddress {
  /** BT-35 / BT-50 */
  line1?: string;
  /** BT-36 / BT-51 */
  line2?: string;
  /** BT-162 / BT-163 */
  line3?: string;
  /** BT-37 / BT-52 */
  city?: string;
  /** BT-38 / BT-53 */
  postalCode?: string;
  /** BT-39 / BT-54 */
  countrySubdivision?: string;
  /** BT-40 / BT-55: ISO 3166-1 alpha-2 */
  country?: string;
}

/** BG-6 / BG-9 contact. */
export interface Contact {
  /** BT-41 / BT-56 */
  name?: string;
  /** BT-42 / BT-57 */
  phone?: string;
  /** BT-43 / BT-58 */
  email?: string;
}

/** BG-4 seller or BG-7 buyer. */
export interface Party {
  /** BT-27 / BT-44 */
  name: string;
  /** BT-28 / BT-45 */
  tradingName?: string;
  /** BT-29 / BT-46 identifiers, e.g. a customer number with no scheme */
  identifiers?: Identifier[];
  /** BT-30 / BT-47 legal registration, e.g. KvK with scheme 0106 */
  legalId?: Identifier;
  /** BT-31 / BT-48 VAT identifier with country prefix (NL123456789B01) */
  vatId?: string;
  /** BT-32 seller tax registration (fiscal number) */
  taxRegistrationId?: string;
  /** the tax scheme of BT-32 (UBL TaxScheme/ID), "FC" unless the document said otherwise (e.g. "LOC") */
  taxRegistrationScheme?: string;
  /** BT-33 additional legal information */
  legalInfo?: string;
  /** BT-34 / BT-49 electronic address (Peppol endpoint) with EAS scheme */
  endpoint?: Identifier;
  /** BG-5 / BG-8 */
  address?: PostalAddress;
  /** BG-6 / BG-9 */
  contact?: Contact;
}

/** BG-13 delivery information. */
export interface DeliveryInformation {
  /** BT-70 */
  partyName?: string;
  /** BT-71 */
  locationId?: Identifier;
  /** BT-72 actual delivery date */
  date?: IsoDate;
  /** BG-15 */
  address?: PostalAddress;
}

/** BG-16 payment instructions. */
export interface PaymentInstructions {
  /** BT-81 UNCL 4461 code: 30 credit transfer, 58 SEPA credit transfer, 49 direct debit, ... */
  meansCode: string;
  /** BT-82 */
  meansText?: string;
  /** BT-83 payment reference (betalingskenmerk) */
  paymentReference?: string;
  /** BT-84 IBAN */
  iban?: string;
  /** BT-85 account name */
  accountName?: string;
  /** BT-86 BIC */
  bic?: string;
  /** BT-89 mandate reference for direct debit */
  mandateReference?: string;
  /** BT-91 debited account for direct debit */
  debitedAccount?: string;
  /** BG-18 payment card */
  card?: { accountNumber: string; network: string; holder?: string };
  /** BG-16 repeated: more accounts the buyer may pay to (each a further PaymentMeans in UBL) */
  additionalAccounts?: {
    meansCode: string;
    iban: string;
    accountName?: string;
    bic?: string;
    /** BT-83 of this payment means, when it has its own */
    paymentReference?: string;
    /** a credit note's due date as this payment means states it */
    dueDate?: IsoDate;
  }[];
}

/** BG-24 additional supporting document (or BT-18 invoiced object with typeCode 130). */
export interface SupportingDocument {
  /** BT-122 */
  id: string;
  scheme?: string;
  typeCode?: string;
  /** BT-123 */
  description?: string;
  /** BT-124 */
  uri?: string;
  /** BT-125 base64 content, with its mime code and file name */
  content?: string;
  mimeCode?: string;
  fileName?: string;
}

/** BG-20 document allowance (charge=false) or BG-21 document charge (charge=true). */
export interface DocumentAllowanceCharge {
  charge: boolean;
  /** BT-92 / BT-99 */
  amount: DecimalText;
  /** BT-93 / BT-100 */
  baseAmount?: DecimalText;
  /** BT-94 / BT-101 */
  percentage?: DecimalText;
  /** BT-95 / BT-102 */
  vatCategory: VatCategory;
  /** BT-96 / BT-103 */
  vatRate?: DecimalText;
  /** BT-97 / BT-104 */
  reason?: string;
  /** BT-98 / BT-105 */
  reasonCode?: string;
}

/** BG-27 line allowance (charge=false) or BG-28 line charge (charge=true). */
export interface LineAllowanceCharge {
  charge: boolean;
  /** BT-136 / BT-141 */
  amount: DecimalText;
  /** BT-137 / BT-142 */
  baseAmount?: DecimalText;
  /** BT-138 / BT-143 */
  percentage?: DecimalText;
  /** BT-139 / BT-144 */
  reason?: string;
  /** BT-140 / BT-145 */
  reasonCode?: string;
}

/** BG-25 invoice line. */
export interface InvoiceLine {
  /** BT-126 */
  id: string;
  /** BT-127 */
  note?: string;
  /** BT-129 invoiced quantity */
  quantity: DecimalText;
  /** BT-130 UN/ECE Rec 20 unit code (C62 piece, HUR hour, KGM kilogram, ...) */
  unitCode: string;
  /** BT-131 line net amount; computed when absent, checked against the computation when given */
  netAmount?: DecimalText;
  /** BT-132 referenced purchase order line */
  orderLineReference?: string;
  /** BT-133 buyer accounting reference (e.g. cost centre) */
  accountingReference?: string;
  /** BG-26 invoice line period */
  period?: { start?: IsoDate; end?: IsoDate };
  /** BG-27 / BG-28 */
  allowanceCharges?: LineAllowanceCharge[];
  /** BT-146 item net price, with as many decimals as the source gives (EN 16931 sets no limit) */
  netPrice: DecimalText;
  /** BT-147 price discount (gross price − net price) */
  priceDiscount?: DecimalText;
  /** BT-148 item gross price */
  grossPrice?: DecimalText;
  /** BT-149 price base quantity (default 1) */
  baseQuantity?: DecimalText;
  /** BT-150 the base quantity's unit, when the source states one (it may differ from BT-130's) */
  baseQuantityUnitCode?: string;
  /**
   * The price adjustment (priceDiscount's amount) is a surcharge on the gross price, not a discount:
   * UBL's ChargeIndicator true, which EN 16931's syntax allows and Peppol refuses (PEPPOL-EN16931-R044)
   */
  priceCharge?: boolean;
  /** BT-151 */
  vatCategory: VatCategory;
  /** BT-152 rate in percent; absent for category O */
  vatRate?: DecimalText;
  /** BT-153 */
  itemName: string;
  /** BT-154 */
  description?: string;
  /** BT-155 */
  sellerItemId?: string;
  /** BT-156 */
  buyerItemId?: string;
  /** BT-157 standard item id, e.g. GTIN with scheme 0160 */
  standardItemId?: Identifier;
  /** BT-158 item classification (e.g. the item group used for ledger accounts) */
  classification?: Identifier;
  /** BT-128 invoice line object identifier */
  objectIdentifier?: Identifier;
  /** BT-159 item country of origin */
  originCountry?: string;
  /** BG-32 item attributes */
  attributes?: { name: string; value: string }[];
  /** further BT-158 classifications beyond the first */
  moreClassifications?: Identifier[];
  /** where the line came from */
  source?: SourcePosition;
}

/** BG-3 preceding invoice reference (required by us for a credit note). */
export interface PrecedingInvoice {
  /** BT-25 */
  number: string;
  /** BT-26 */
  issueDate?: IsoDate;
}

/** VAT exemption reason per category (BT-120 / BT-121). */
export interface VatExemption {
  category: VatCategory;
  reason?: string;
  reasonCode?: string;
}

/** The kind of document: an EN 16931 invoice, or a quotation (outside EN 16931). */
export type DocumentKind = 'invoice' | 'quote';

/** A canonical invoice (or credit note) as mapped from a source, before or after numbering. */
export interface Invoice {
  kind: DocumentKind;
  /** BT-1; absent until numbered, unless the source's number is kept */
  number?: string;
  /** BT-2 */
  issueDate: IsoDate;
  /** BT-3: 380 commercial invoice, 381 credit note, ... */
  typeCode: InvoiceTypeCode;
  /** BT-5 ISO 4217 */
  currency: string;
  /** BT-6 VAT accounting currency, when it differs */
  vatCurrency?: string;
  /** BT-7 */
  taxPointDate?: IsoDate;
  /** BT-9 */
  dueDate?: IsoDate;
  /** BT-10 buyer reference */
  buyerReference?: string;
  /** BT-11 project reference */
  projectReference?: string;
  /** BT-12 contract reference */
  contractReference?: string;
  /** BT-13 purchase order reference */
  orderReference?: string;
  /** BT-14 sales order reference */
  salesOrderReference?: string;
  /** BT-19 buyer accounting reference */
  accountingReference?: string;
  /** BT-15 receiving advice reference */
  receiptReference?: string;
  /** BT-16 despatch advice reference */
  despatchReference?: string;
  /** BT-17 tender or lot reference */
  tenderReference?: string;
  /** BG-24 supporting documents, and BT-18 (typeCode 130) */
  attachments?: SupportingDocument[];
  /** BG-10 payee, when not the seller */
  payee?: Party;
  /** BG-11 seller tax representative */
  taxRepresentative?: Party;
  /** BT-111 total VAT in the VAT accounting currency (BT-6) */
  vatTotalInAccountingCurrency?: DecimalText;
  /** BT-20 payment terms */
  paymentTerms?: string;
  /** BG-1 / BT-22 notes */
  notes?: string[];
  /** BG-3 */
  precedingInvoices?: PrecedingInvoice[];
  /** BG-4 */
  seller: Party;
  /** BG-7 */
  buyer: Party;
  /** BG-13 */
  delivery?: DeliveryInformation;
  /** BG-14 invoicing period; BT-8 the VAT point date code (UNTDID 2005: 3 issue, 35 delivery, 432 payment) */
  period?: { start?: IsoDate; end?: IsoDate; descriptionCode?: string };
  /** BT-23 business process type (UBL ProfileID) of a document passed through; written ones take the route's profile */
  businessProcess?: string;
  /** BG-16 */
  payment?: PaymentInstructions;
  /** BG-20 / BG-21 */
  allowanceCharges?: DocumentAllowanceCharge[];
  /** BT-120 / BT-121 exemption reasons per category */
  vatExemptions?: VatExemption[];
  /** BT-113 amount already paid */
  prepaidAmount?: DecimalText;
  /** BT-114 rounding amount */
  roundingAmount?: DecimalText;
  /** BG-25 */
  lines: InvoiceLine[];
  /** quotes only: the date the offer is valid until */
  validUntil?: IsoDate;
  /** gateway data, not part of EN 16931 */
  meta: InvoiceMeta;
}

/** What the gateway knows about an invoice besides EN 16931: its origin and its customer. */
export interface InvoiceMeta {
  /** key into customer master data (debtor number) */
  customerKey?: string;
  /** key into seller config */
  sellerKey: string;
  /** the source file the invoice was mapped from */
  sourceFile: string;
  /** the group key in the source (e.g. the source's invoice or order number) */
  sourceKey: string;
  /** where in the source file the invoice starts */
  source: SourcePosition;
  /** true when `number` came from the source and is kept */
  numberFromSource?: boolean;
  /** order status from the source (for deferred invoicing: "shipped") */
  orderStatus?: string;
  /** totals the source file states, checked against our calculation (BR-CO-*) */
  declaredTotals?: { netAmount?: DecimalText; vatAmount?: DecimalText; payableAmount?: DecimalText };
  /** customer language for PDF and e-mail */
  language?: string;
  /** free-form values the mapping passes on to routes and templates */
  extra?: Record<string, string>;
  /** the time zones the dates of a UBL came with, by field (see model/date-zone.ts) */
  dateZones?: DateZones;
  /** how an e-invoice passed through (UBL or CII) was written, where the model alone cannot say it */
  form?: SourceForm;
  /**
   * The document states its own line amounts, VAT breakdown and totals (a UBL file): they are kept
   * as the legally binding figures, and the official rules, not a recalculation, judge them.
   */
  amountsDeclared?: boolean;
}

/**
 * The form an e-invoice passed through came in, kept so that it goes out as it came: the same root
 * element (UBL), the optional totals it stated (even as zero), BT-111's own currency.
 */
export interface SourceForm {
  /** the syntax it came in */
  syntax: 'ubl' | 'cii';
  /** a UBL's root element */
  root?: 'Invoice' | 'CreditNote';
  /** the optional totals it stated, by their UBL names (AllowanceTotalAmount, ChargeTotalAmount, PrepaidAmount, PayableRoundingAmount) */
  statedTotals?: string[];
  /** the currency of the VAT total in accounting currency (BT-111) when no TaxCurrencyCode (BT-6) names it */
  accountingTaxCurrency?: string;
  /** the first payment means states the credit note's due date (a CreditNote has no DueDate of its own) */
  dueDateInPaymentMeans?: boolean;
  /** ids of the lines whose object identifier (BT-128) came without its type code 130 */
  untypedLineObjects?: string[];
  /** a CII's gross price base quantity by line id, where it differs from the net price's (CII states both) */
  grossBasis?: Record<string, { quantity?: string; unitCode?: string }>;
  /** a CII stated no VAT total (BT-110 is optional there; UBL always states it) */
  noTaxTotal?: boolean;
}

/** BG-23 VAT breakdown per category and rate. */
export interface VatBreakdown {
  /** BT-118 */
  category: VatCategory;
  /** BT-119 */
  rate?: DecimalText;
  /** BT-116 taxable amount */
  taxableAmount: DecimalText;
  /** BT-117 */
  taxAmount: DecimalText;
  /** BT-120 */
  exemptionReason?: string;
  /** BT-121 */
  exemptionReasonCode?: string;
}

/** BG-22 document totals. */
export interface DocumentTotals {
  /** BT-106 sum of line net amounts */
  lineNetAmount: DecimalText;
  /** BT-107 sum of allowances on document level */
  allowanceTotal: DecimalText;
  /** BT-108 sum of charges on document level */
  chargeTotal: DecimalText;
  /** BT-109 total without VAT */
  taxExclusiveAmount: DecimalText;
  /** BT-110 total VAT */
  taxAmount: DecimalText;
  /** BT-112 total with VAT */
  taxInclusiveAmount: DecimalText;
  /** BT-113 */
  prepaidAmount: DecimalText;
  /** BT-114 */
  roundingAmount: DecimalText;
  /** BT-115 amount due for payment */
  payableAmount: DecimalText;
}

/** An invoice with its computed line amounts, VAT breakdown and totals. */
export interface CalculatedInvoice extends Invoice {
  lines: (InvoiceLine & { netAmount: DecimalText })[];
  vatBreakdown: VatBreakdown[];
  totals: DocumentTotals;
}
