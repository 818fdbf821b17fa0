import { calculateInvoice } from './calculate.js';
import { dec, decShared, isDecimalText } from './decimal.js';
import { isCreditNote, VAT_CATEGORIES, type CalculatedInvoice, type Invoice, type Party, type SourcePosition, type VatCategory } from './invoice.js';
import { quoteValue } from '../errors.js';

/** One broken business rule: its EN 16931 id (or GW-* for the gateway's own), the field and where it came from. */
export interface RuleViolation {
  rule: string;
  /** canonical field path, e.g. "lines[2].vatRate" */
  field: string;
  message: string;
  source?: SourcePosition;
}

/** Result of checking an invoice: its calculation and every rule it breaks. */
export interface InvoiceCheck {
  invoice: CalculatedInvoice;
  violations: RuleViolation[];
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const CURRENCY = /^[A-Z]{3}$/;
const COUNTRY = /^[A-Z]{2}$/;
/**
 * An invoice number may hold any text EN 16931 allows ("1316/85"); the files and mails it names are
 * made safe where they are named (util/safe-name.ts). Control characters are refused: no XML
 * document or mail header can carry them.
 */
// eslint-disable-next-line no-control-regex -- control characters are what it finds
export const UNWRITABLE_NUMBER = /[\u0000-\u001f\u007f]/;

/** Why an invoice number is refused. */
export function unwritableNumberMessage(number: string): string {
  return `invoice number ${quoteValue(number)} holds a control character, which no UBL document or mail can carry`;
}

/** Collects violations with the invoice's source position as the default location. */
class Findings {
  readonly list: RuleViolation[] = [];
  constructor(private readonly defaultSource: SourcePosition) {}
  add(rule: string, field: string, message: string, source?: SourcePosition): void {
    this.list.push({ rule, field, message, source: source ?? this.defaultSource });
  }
  require(value: unknown, rule: string, field: string, what: string, source?: SourcePosition): boolean {
    if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
      this.add(rule, field, `${what} is missing`, source);
      return false;
    }
    return true;
  }
}

function checkDate(f: Findings, value: string | undefined, field: string, what: string): void {
  if (value !== undefined && (!ISO_DATE.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)))) {
    f.add('GW-DATE', field, `${what} is not a valid date: "${value}"`);
  }
}

function checkDecimal(f: Findings, value: string | undefined, field: string, what: string, source?: SourcePosition): boolean {
  if (value === undefined) return true;
  if (!isDecimalText(value)) {
    f.add('GW-NUMBER', field, `${what} is not a number: "${value}"`, source);
    return false;
  }
  return true;
}

function checkParty(f: Findings, party: Party | undefined, prefix: 'seller' | 'buyer', rules: { name: string; address: string; country: string }): void {
  const label = prefix === 'seller' ? 'Seller' : 'Buyer';
  if (!party) {
    f.add(rules.name, prefix, `${label} is missing`);
    return;
  }
  f.require(party.name, rules.name, `${prefix}.name`, `${label} name (${prefix === 'seller' ? 'BT-27' : 'BT-44'})`);
  if (!party.address) {
    f.add(rules.address, `${prefix}.address`, `${label} postal address (${prefix === 'seller' ? 'BG-5' : 'BG-8'}) is missing`);
    return;
  }
  if (f.require(party.address.country, rules.country, `${prefix}.address.country`, `${label} country code`)) {
    if (!COUNTRY.test(party.address.country!)) {
      f.add('BR-CL-14', `${prefix}.address.country`, `${label} country code must be ISO 3166-1 alpha-2 (e.g. NL): "${party.address.country}"`);
    }
  }
}

/** Sum check with the rule id when a declared total differs from the computation. */
function checkDeclared(f: Findings, declared: string | undefined, computed: string, rule: string, field: string, what: string): void {
  if (declared === undefined) return;
  if (!isDecimalText(declared)) {
    f.add('GW-NUMBER', field, `${what} stated in the source is not a number: "${declared}"`);
  } else if (!dec(declared).eq(dec(computed))) {
    f.add(rule, field, `${what} stated in the source (${declared}) differs from the sum of the lines (${computed})`);
  }
}

/** Where a VAT category is given: the official rules number their line, allowance and charge variants 2/3/4 and 5/6/7. */
type VatPlace = 'line' | 'allowance' | 'charge';
const VAT_PLACE_OFFSET: Record<VatPlace, number> = { line: 0, allowance: 1, charge: 2 };

/** The group of EN 16931 rules for each category: K is intra-community (IC), L the Canary Islands (IG), M Ceuta and Melilla (IP). */
const VAT_RULE_GROUP: Record<VatCategory, string> = { S: 'S', Z: 'Z', E: 'E', AE: 'AE', K: 'IC', G: 'G', O: 'O', L: 'IG', M: 'IP', B: 'B' };

/**
 * Checks the category-specific rules (BR-S, BR-Z, BR-E, BR-AE, BR-IC, BR-G, BR-O, BR-IG, BR-IP) of a
 * line, document allowance or document charge, under the rule ids the official rules use for it.
 */
function checkVatCategory(
  f: Findings,
  invoice: Invoice,
  category: VatCategory,
  rate: string | undefined,
  field: string,
  place: VatPlace,
  source?: SourcePosition,
): void {
  // B (split payment): its rules concern the whole invoice (see checkSplitPayment)
  if (category === 'B') return;
  const group = VAT_RULE_GROUP[category];
  const partyRule = `BR-${group}-0${2 + VAT_PLACE_OFFSET[place]}`;
  const rateRule = `BR-${group}-0${5 + VAT_PLACE_OFFSET[place]}`;
  const r = rate === undefined ? undefined : decShared(rate);
  switch (category) {
    case 'S':
      if (r === undefined || !r.gt(0))
        f.add(rateRule, `${field}.vatRate`, `VAT rate must be greater than zero for standard rated (S), got "${rate ?? ''}"`, source);
      break;
    case 'Z':
    case 'E':
    case 'AE':
    case 'K':
    case 'G':
      if (r === undefined || !r.eq(0)) f.add(rateRule, `${field}.vatRate`, `VAT rate must be 0 for category ${category}, got "${rate ?? ''}"`, source);
      break;
    case 'L':
    case 'M':
      if (r === undefined || r.lt(0)) f.add(rateRule, `${field}.vatRate`, `VAT rate must be 0 or more for category ${category}, got "${rate ?? ''}"`, source);
      break;
    case 'O':
      if (r !== undefined) f.add(rateRule, `${field}.vatRate`, `a line outside the scope of VAT (O) must have no VAT rate, got "${rate}"`, source);
      break;
    default:
      break;
  }
  if (category !== 'O' && !invoice.seller?.vatId && !invoice.seller?.taxRegistrationId) {
    f.add(partyRule, 'seller.vatId', `category ${category} needs the seller's VAT identifier (BT-31)`, source);
  }
  if (category === 'AE' && !invoice.buyer?.vatId && !invoice.buyer?.legalId) {
    f.add(partyRule, 'buyer.vatId', "reverse charge (AE, btw verlegd) needs the buyer's VAT identifier (BT-48)", source);
  }
  if (category === 'K' && !invoice.buyer?.vatId) {
    f.add(partyRule, 'buyer.vatId', "an intra-community supply (K) needs the buyer's VAT identifier (BT-48)", source);
  }
  if (category === 'O' && invoice.seller?.vatId) {
    f.add(partyRule, 'seller.vatId', 'an invoice outside the scope of VAT (O) must not carry the seller VAT identifier', source);
  }
}

/**
 * Split payment (B) is Italian: every country in the invoice is IT (BR-B-01), and no line,
 * allowance or charge is standard rated beside it (BR-B-02).
 */
function checkSplitPayment(f: Findings, invoice: Invoice): void {
  const categories = [...invoice.lines.map((l) => l.vatCategory), ...(invoice.allowanceCharges ?? []).map((ac) => ac.vatCategory)];
  if (!categories.includes('B')) return;
  const countries = [invoice.seller, invoice.buyer, invoice.taxRepresentative, invoice.delivery].map((party) => party?.address?.country).filter(Boolean);
  if (countries.some((c) => c !== 'IT'))
    f.add('BR-B-01', 'vatCategory', `an invoice with split payment (B) must be a domestic Italian invoice; it names ${[...new Set(countries)].join(', ')}`);
  if (categories.includes('S'))
    f.add('BR-B-02', 'vatCategory', 'an invoice with split payment (B) must not have a line, allowance or charge that is standard rated (S)');
}

const UNIT_CODE = /^[A-Z0-9]{2,3}$/;
const PLAIN_PRICE = /^\d+(\.\d{0,4})?$/;
const VAT_CATEGORY_SET: ReadonlySet<string> = new Set(VAT_CATEGORIES);

/**
 * A line that passes every line-level rule below without a message: all it holds is present and
 * well-formed. Stricter than the detailed checks, never looser, so skipping them loses nothing.
 */
function lineIsPlainlyValid(line: Invoice['lines'][number]): boolean {
  if (!line.id || !line.itemName || line.itemName.trim() === '' || line.id.trim() === '') return false;
  if (!isDecimalText(line.quantity) || !UNIT_CODE.test(line.unitCode) || !PLAIN_PRICE.test(line.netPrice)) return false;
  if (line.baseQuantity !== undefined || line.grossPrice !== undefined) return false;
  if (!VAT_CATEGORY_SET.has(line.vatCategory) || (line.vatRate !== undefined && !isDecimalText(line.vatRate))) return false;
  if (line.allowanceCharges) {
    for (const ac of line.allowanceCharges) {
      if (
        !isDecimalText(ac.amount) ||
        (ac.percentage !== undefined && !isDecimalText(ac.percentage)) ||
        (ac.baseAmount !== undefined && !isDecimalText(ac.baseAmount))
      )
        return false;
    }
  }
  return true;
}

/** The EN 16931 core rules that can be checked on the model, plus the gateway's own (GW-*). */
export function checkInvoice(invoice: Invoice): InvoiceCheck {
  const f = new Findings(invoice.meta.source);
  const isQuote = invoice.kind === 'quote';

  if (invoice.number !== undefined && UNWRITABLE_NUMBER.test(invoice.number)) {
    f.add('GW-NUMBER-TEXT', 'number', unwritableNumberMessage(invoice.number));
  }
  if (f.require(invoice.issueDate, 'BR-03', 'issueDate', 'Invoice issue date (BT-2)'))
    checkDate(f, invoice.issueDate, 'issueDate', 'Invoice issue date (BT-2)');
  checkDate(f, invoice.dueDate, 'dueDate', 'Payment due date (BT-9)');
  checkDate(f, invoice.delivery?.date, 'delivery.date', 'Actual delivery date (BT-72)');
  if (!isQuote) {
    if (f.require(invoice.typeCode, 'BR-04', 'typeCode', 'Invoice type code (BT-3)') && !/^\d{3}$/.test(invoice.typeCode)) {
      f.add('BR-CL-01', 'typeCode', `Invoice type code must be a UNTDID 1001 code such as 380 or 381: "${invoice.typeCode}"`);
    }
  }
  if (f.require(invoice.currency, 'BR-05', 'currency', 'Invoice currency code (BT-5)') && !CURRENCY.test(invoice.currency)) {
    f.add('BR-CL-04', 'currency', `currency must be an ISO 4217 code such as EUR: "${invoice.currency}"`);
  }
  checkParty(f, invoice.seller, 'seller', { name: 'BR-06', address: 'BR-08', country: 'BR-09' });
  checkParty(f, invoice.buyer, 'buyer', { name: 'BR-07', address: 'BR-10', country: 'BR-11' });
  // EN 16931 lets a credit note stand alone; the Dutch rules (NL-R-001, and Dutch VAT law) do not, for a seller in the Netherlands
  if (isCreditNote(invoice) && !isQuote && !invoice.precedingInvoices?.length && invoice.seller?.address?.country === 'NL') {
    f.add(
      'NL-R-001',
      'precedingInvoices',
      'for a seller in the Netherlands a credit note must name the invoice it credits (preceding invoice reference, BG-3 / BT-25)',
    );
  }
  for (const [i, p] of (invoice.precedingInvoices ?? []).entries()) {
    f.require(p.number, 'BR-55', `precedingInvoices[${i}].number`, 'Preceding invoice reference (BT-25)');
  }
  if (invoice.lines.length === 0) f.add('BR-16', 'lines', 'an invoice needs at least one line (BG-25)');

  let numbersOk = true;
  const lineIds = new Set<string>();
  for (const [i, line] of invoice.lines.entries()) {
    const src = line.source;
    if (line.id && lineIds.has(line.id)) f.add('GW-LINE-ID', `lines[${i}].id`, `line id "${line.id}" is used twice in this invoice`, src);
    lineIds.add(line.id);
    // Most lines of a bulk file are plainly fine: only the others get the detailed checks and messages.
    if (lineIsPlainlyValid(line)) {
      if (!isQuote) checkVatCategory(f, invoice, line.vatCategory, line.vatRate, `lines[${i}]`, 'line', src);
      continue;
    }
    const at = `lines[${i}]`;
    f.require(line.id, 'BR-21', `${at}.id`, 'Invoice line identifier (BT-126)', src);
    if (f.require(line.quantity, 'BR-22', `${at}.quantity`, 'Invoiced quantity (BT-129)', src))
      numbersOk = checkDecimal(f, line.quantity, `${at}.quantity`, 'Invoiced quantity (BT-129)', src) && numbersOk;
    else numbersOk = false;
    if (f.require(line.unitCode, 'BR-23', `${at}.unitCode`, 'Unit of measure code (BT-130)', src) && !/^[A-Z0-9]{2,3}$/.test(line.unitCode)) {
      f.add('BR-CL-23', `${at}.unitCode`, `unit code must be a UN/ECE Rec 20 code such as C62, HUR or KGM: "${line.unitCode}"`, src);
    }
    if (f.require(line.itemName, 'BR-25', `${at}.itemName`, 'Item name (BT-153)', src)) {
      /* present */
    }
    if (f.require(line.netPrice, 'BR-26', `${at}.netPrice`, 'Item net price (BT-146)', src)) {
      if (checkDecimal(f, line.netPrice, `${at}.netPrice`, 'Item net price (BT-146)', src)) {
        const price = decShared(line.netPrice);
        if (price.lt(0)) f.add('BR-27', `${at}.netPrice`, `Item net price (BT-146) must not be negative: ${line.netPrice}`, src);
      } else numbersOk = false;
    } else numbersOk = false;
    numbersOk = checkDecimal(f, line.baseQuantity, `${at}.baseQuantity`, 'Price base quantity (BT-149)', src) && numbersOk;
    if (line.baseQuantity !== undefined && isDecimalText(line.baseQuantity) && !dec(line.baseQuantity).gt(0)) {
      f.add('GW-BASE-QUANTITY', `${at}.baseQuantity`, `Price base quantity must be positive: ${line.baseQuantity}`, src);
    }
    numbersOk = checkDecimal(f, line.grossPrice, `${at}.grossPrice`, 'Item gross price (BT-148)', src) && numbersOk;
    for (const [j, ac] of (line.allowanceCharges ?? []).entries()) {
      numbersOk =
        checkDecimal(f, ac.amount === '' ? undefined : ac.amount, `${at}.allowanceCharges[${j}].amount`, 'Line allowance/charge amount', src) && numbersOk;
      numbersOk = checkDecimal(f, ac.percentage, `${at}.allowanceCharges[${j}].percentage`, 'Line allowance/charge percentage', src) && numbersOk;
      numbersOk = checkDecimal(f, ac.baseAmount, `${at}.allowanceCharges[${j}].baseAmount`, 'Line allowance/charge base amount', src) && numbersOk;
    }
    if (!isQuote) {
      if (!line.vatCategory) {
        f.add('BR-CO-04', `${at}.vatCategory`, 'Invoiced item VAT category code (BT-151) is missing', src);
      } else if (!VAT_CATEGORIES.includes(line.vatCategory)) {
        f.add('BR-CL-18', `${at}.vatCategory`, `VAT category must be one of ${VAT_CATEGORIES.join(', ')}: "${line.vatCategory}"`, src);
      } else if (checkDecimal(f, line.vatRate, `${at}.vatRate`, 'VAT rate (BT-152)', src)) {
        checkVatCategory(f, invoice, line.vatCategory, line.vatRate, at, 'line', src);
      } else numbersOk = false;
    }
  }
  for (const [i, ac] of (invoice.allowanceCharges ?? []).entries()) {
    const at = `allowanceCharges[${i}]`;
    if (!ac.reason && !ac.reasonCode)
      f.add(ac.charge ? 'BR-42' : 'BR-33', `${at}.reason`, `document ${ac.charge ? 'charge' : 'allowance'} needs a reason or reason code`);
    numbersOk = checkDecimal(f, ac.amount === '' ? undefined : ac.amount, `${at}.amount`, 'Document allowance/charge amount', undefined) && numbersOk;
    if (!ac.vatCategory)
      f.add(ac.charge ? 'BR-37' : 'BR-32', `${at}.vatCategory`, `document ${ac.charge ? 'charge' : 'allowance'} VAT category code is missing`);
    else if (!VAT_CATEGORIES.includes(ac.vatCategory))
      f.add('BR-CL-18', `${at}.vatCategory`, `VAT category must be one of ${VAT_CATEGORIES.join(', ')}: "${ac.vatCategory}"`);
    else if (checkDecimal(f, ac.vatRate, `${at}.vatRate`, 'VAT rate', undefined))
      checkVatCategory(f, invoice, ac.vatCategory, ac.vatRate, at, ac.charge ? 'charge' : 'allowance');
    else numbersOk = false;
  }
  if (!isQuote) checkSplitPayment(f, invoice);
  numbersOk = checkDecimal(f, invoice.prepaidAmount, 'prepaidAmount', 'Paid amount (BT-113)') && numbersOk;
  numbersOk = checkDecimal(f, invoice.roundingAmount, 'roundingAmount', 'Rounding amount (BT-114)') && numbersOk;

  if (!numbersOk || invoice.lines.length === 0) {
    return { invoice: emptyCalculation(invoice), violations: f.list };
  }
  if (invoice.meta.amountsDeclared) {
    // A UBL document's own figures are binding; the official rules check them, not a recalculation.
    return { invoice: invoice as CalculatedInvoice, violations: f.list };
  }
  const declaredLineAmounts = invoice.lines.map((l) => l.netAmount);
  const calculated = calculateInvoice(invoice);
  declaredLineAmounts.forEach((declaredAmount, i) => {
    if (declaredAmount !== undefined) {
      checkDeclared(
        f,
        declaredAmount,
        calculated.lines[i]!.netAmount,
        'GW-LINE-NET',
        `lines[${i}].netAmount`,
        `Line net amount (BT-131) of line ${invoice.lines[i]!.id}`,
      );
    }
  });
  const declared = invoice.meta.declaredTotals;
  checkDeclared(f, declared?.netAmount, calculated.totals.taxExclusiveAmount, 'BR-CO-13', 'totals.taxExclusiveAmount', 'Invoice total without VAT (BT-109)');
  checkDeclared(f, declared?.vatAmount, calculated.totals.taxAmount, 'BR-CO-14', 'totals.taxAmount', 'Invoice total VAT amount (BT-110)');
  checkDeclared(f, declared?.payableAmount, calculated.totals.payableAmount, 'BR-CO-16', 'totals.payableAmount', 'Amount due for payment (BT-115)');
  if (!isQuote && calculated.totals.payableAmount !== '0.00' && dec(calculated.totals.payableAmount).gt(0) && !invoice.dueDate && !invoice.paymentTerms) {
    f.add('BR-CO-25', 'dueDate', 'a positive amount due needs a payment due date (BT-9) or payment terms (BT-20)');
  }
  if (isQuote && !invoice.validUntil) f.add('GW-QUOTE-VALID', 'validUntil', 'a quotation needs a validity date');
  return { invoice: calculated, violations: f.list };
}

function emptyCalculation(invoice: Invoice): CalculatedInvoice {
  const zero = '0.00';
  return {
    ...invoice,
    lines: invoice.lines.map((l) => ({ ...l, netAmount: l.netAmount ?? zero })),
    vatBreakdown: [],
    totals: {
      lineNetAmount: zero,
      allowanceTotal: zero,
      chargeTotal: zero,
      taxExclusiveAmount: zero,
      taxAmount: zero,
      taxInclusiveAmount: zero,
      prepaidAmount: zero,
      roundingAmount: zero,
      payableAmount: zero,
    },
  };
}
