import type { CustomerConfig, CustomersConfig, SellerConfig } from '../config/types.js';
import { amountText, dec, decShared, isDecimalText, ONE_HUNDREDTH, roundAmount } from '../model/decimal.js';
import type { DocumentAllowanceCharge, Invoice, InvoiceLine, Party, PostalAddress, SourcePosition, VatCategory } from '../model/invoice.js';
import type { MappingDefinition } from './definition.js';
import { addDays } from './parse-date.js';
import { own } from '../util/own.js';

/** Field values read for one invoice or line, by canonical path ("buyer.address.city"). */
export type FieldValues = Map<string, string | undefined>;

/** Seller and customer master data the mapping looks up by key. */
export interface MasterData {
  sellers: Record<string, SellerConfig>;
  customers: CustomersConfig;
}

/** A problem found while assembling, with the field it concerns. */
export interface AssemblyProblem {
  field: string;
  message: string;
}

function addressFrom(v: FieldValues, prefix: string, base?: PostalAddress): PostalAddress | undefined {
  const keys = ['line1', 'line2', 'line3', 'city', 'postalCode', 'countrySubdivision', 'country'] as const;
  const address: PostalAddress = { ...(base ?? {}) };
  let any = base !== undefined;
  for (const k of keys) {
    const value = v.get(`${prefix}.${k}`);
    if (value !== undefined) {
      address[k] = k === 'country' ? value.toUpperCase() : value;
      any = true;
    }
  }
  return any ? address : undefined;
}

/** The buyer: master data as the base, values from the file filling in or replacing it. */
function buyerFrom(v: FieldValues, customer: CustomerConfig | undefined): Party {
  // A shallow copy: nested parts are replaced, never changed, so master data stays untouched.
  const base: Party = customer ? { ...customer.party } : { name: '' };
  const set = <K extends keyof Party>(key: K, value: Party[K] | undefined): void => {
    if (value !== undefined) base[key] = value;
  };
  set('name', v.get('buyer.name'));
  set('tradingName', v.get('buyer.tradingName'));
  set('vatId', v.get('buyer.vatId')?.replace(/\s/g, '').toUpperCase());
  const legalId = v.get('buyer.legalId');
  if (legalId) base.legalId = { id: legalId, ...(v.get('buyer.legalIdScheme') ? { scheme: v.get('buyer.legalIdScheme') } : {}) };
  const endpoint = v.get('buyer.endpointId');
  if (endpoint) base.endpoint = { id: endpoint, scheme: v.get('buyer.endpointScheme') ?? base.endpoint?.scheme ?? '0106' };
  const identifier = v.get('buyer.identifier');
  if (identifier) base.identifiers = [{ id: identifier }];
  const address = addressFrom(v, 'buyer.address', base.address);
  if (address) base.address = address;
  const contactName = v.get('buyer.contactName');
  const phone = v.get('buyer.phone');
  const email = v.get('buyer.email');
  if (contactName || phone || email) {
    base.contact = { ...(base.contact ?? {}), ...(contactName ? { name: contactName } : {}), ...(phone ? { phone } : {}), ...(email ? { email } : {}) };
  }
  return base;
}

/** How long a quotation stands when neither its source nor the customer's settings say. */
const DEFAULT_QUOTE_VALID_DAYS = 30;

const sellerParties = new WeakMap<SellerConfig, Party>();
/** The seller as a party, made once per seller and frozen: every invoice of a run shares it. */
function sellerParty(seller: SellerConfig): Party {
  let party = sellerParties.get(seller);
  if (!party) {
    const { payment: _payment, logo: _logo, website: _website, ...rest } = seller;
    party = deepFreeze(structuredClone(rest));
    sellerParties.set(seller, party);
  }
  return party;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Default VAT category when the mapping gives only a rate: standard above zero, zero-rated at zero. */
function categoryFor(rate: string | undefined, fallback: string | undefined): VatCategory | undefined {
  if (fallback) return fallback as VatCategory;
  if (rate === undefined || !isDecimalText(rate)) return undefined;
  return decShared(rate).gt(0) ? 'S' : 'Z';
}

/** Builds one canonical line from its field values. */
export function assembleLine(v: FieldValues, index: number, def: MappingDefinition, source: SourcePosition): InvoiceLine {
  const rateText = v.get('vatRate');
  const category = v.get('vatCategory')?.toUpperCase() ?? categoryFor(rateText, def.defaults?.vatCategory);
  const line: InvoiceLine = {
    id: v.get('id') ?? String(index + 1),
    quantity: v.get('quantity') ?? '',
    unitCode: v.get('unitCode') ?? def.defaults?.unitCode ?? 'C62',
    netPrice: v.get('netPrice') ?? '',
    vatCategory: (category ?? '') as VatCategory,
    itemName: v.get('itemName') ?? '',
    source,
  };
  if (category !== 'O' && rateText !== undefined) line.vatRate = rateText;
  if (category && category !== 'O' && category !== 'S' && rateText === undefined) line.vatRate = '0';
  // Optional fields are set one by one in a fixed order, so every line has the same hidden shape.
  const note = v.get('note');
  if (note !== undefined) line.note = note;
  const grossPrice = v.get('grossPrice');
  if (grossPrice !== undefined) line.grossPrice = grossPrice;
  const baseQuantity = v.get('baseQuantity');
  if (baseQuantity !== undefined) line.baseQuantity = baseQuantity;
  const description = v.get('description');
  if (description !== undefined) line.description = description;
  const sellerItemId = v.get('sellerItemId');
  if (sellerItemId !== undefined) line.sellerItemId = sellerItemId;
  const buyerItemId = v.get('buyerItemId');
  if (buyerItemId !== undefined) line.buyerItemId = buyerItemId;
  const orderLineReference = v.get('orderLineReference');
  if (orderLineReference !== undefined) line.orderLineReference = orderLineReference;
  const accountingReference = v.get('accountingReference');
  if (accountingReference !== undefined) line.accountingReference = accountingReference;
  const netAmount = v.get('netAmount');
  if (netAmount !== undefined) line.netAmount = netAmount;
  const gtin = v.get('standardItemId');
  if (gtin) line.standardItemId = { id: gtin, scheme: '0160' };
  const group = v.get('itemGroup');
  if (group) line.classification = { id: group, scheme: 'ZZZ' };
  const start = v.get('periodStart');
  const end = v.get('periodEnd');
  if (start || end) line.period = { ...(start ? { start } : {}), ...(end ? { end } : {}) };
  const allowances = [];
  const discountAmount = v.get('discountAmount');
  const discountPercentage = v.get('discountPercentage');
  if (discountAmount !== undefined || discountPercentage !== undefined) {
    let amount = discountAmount;
    let baseAmount: string | undefined;
    if (
      amount === undefined &&
      discountPercentage !== undefined &&
      isDecimalText(line.quantity) &&
      isDecimalText(line.netPrice) &&
      isDecimalText(discountPercentage)
    ) {
      let base = dec(line.quantity).times(decShared(line.netPrice));
      if (line.baseQuantity !== undefined && isDecimalText(line.baseQuantity) && !decShared(line.baseQuantity).eq(0))
        base = base.div(decShared(line.baseQuantity));
      const rounded = roundAmount(base);
      baseAmount = amountText(rounded);
      amount = amountText(rounded.times(decShared(discountPercentage)).times(ONE_HUNDREDTH));
    }
    if (amount !== undefined && isDecimalText(amount) && !dec(amount).eq(0)) {
      allowances.push({
        charge: false,
        amount: amountText(dec(amount)),
        ...(discountPercentage ? { percentage: discountPercentage } : {}),
        ...(baseAmount ? { baseAmount } : {}),
        reason: v.get('discountReason') ?? 'Korting',
      });
    }
  }
  const chargeAmount = v.get('chargeAmount');
  if (chargeAmount !== undefined && !dec(chargeAmount).eq(0))
    allowances.push({ charge: true, amount: amountText(dec(chargeAmount)), reason: v.get('chargeReason') ?? 'Toeslag' });
  if (allowances.length) line.allowanceCharges = allowances;
  return line;
}

/** Builds a document charge/allowance from its field values. */
export function assembleAllowanceCharge(v: FieldValues, charge: boolean, lines: InvoiceLine[]): DocumentAllowanceCharge | undefined {
  const amount = v.get('amount');
  if (amount === undefined || dec(amount).eq(0)) return undefined;
  const rate = v.get('vatRate') ?? lines[0]?.vatRate;
  const category = (v.get('vatCategory')?.toUpperCase() ?? categoryFor(rate, undefined) ?? lines[0]?.vatCategory ?? 'S') as VatCategory;
  return {
    charge,
    amount: amountText(dec(amount)),
    vatCategory: category,
    ...(category !== 'O' && rate !== undefined ? { vatRate: rate } : {}),
    reason: v.get('reason') ?? (charge ? 'Verzendkosten' : 'Korting'),
    ...(v.get('reasonCode') ? { reasonCode: v.get('reasonCode') } : {}),
  };
}

/** Builds the canonical invoice from invoice-level values, its lines and the master data. */
export function assembleInvoice(
  v: FieldValues,
  lines: InvoiceLine[],
  allowanceCharges: DocumentAllowanceCharge[],
  def: MappingDefinition,
  master: MasterData,
  origin: { file: string; sourceKey: string; source: SourcePosition },
): { invoice?: Invoice; problems: AssemblyProblem[] } {
  const problems: AssemblyProblem[] = [];
  const sellerKey = v.get('seller') ?? def.defaults?.seller ?? Object.keys(master.sellers)[0] ?? 'default';
  const seller = own(master.sellers, sellerKey);
  if (!seller)
    problems.push({ field: 'seller', message: `seller '${sellerKey}' is not in config/sellers.yaml (known: ${Object.keys(master.sellers).join(', ')})` });
  const customerKey = v.get('customer');
  const customer = customerKey !== undefined ? own(master.customers.customers, customerKey) : undefined;
  if (customerKey !== undefined && !customer && master.customers.unknownCustomers === 'reject') {
    problems.push({ field: 'customer', message: `customer '${customerKey}' is not in config/customers.yaml, and unknownCustomers is 'reject'` });
  }
  if (!seller) return { problems };

  const issueDate = v.get('issueDate') ?? '';
  const kind = (v.get('kind') ?? def.defaults?.kind ?? 'invoice') as Invoice['kind'];
  const terms = customer?.paymentTermsDays ?? master.customers.defaults?.paymentTermsDays;
  // dates are counted from the issue date only once it parsed (a bad one is reported by the checks)
  const issueDateValid = /^\d{4}-\d{2}-\d{2}$/.test(issueDate);
  const dueDate = v.get('dueDate') ?? (kind === 'invoice' && issueDateValid && terms !== undefined ? addDays(issueDate, terms) : undefined);
  const invoice: Invoice = {
    kind,
    issueDate,
    typeCode: v.get('typeCode') ?? def.defaults?.typeCode ?? '380',
    currency: (v.get('currency') ?? def.defaults?.currency ?? 'EUR').toUpperCase(),
    seller: sellerParty(seller),
    buyer: buyerFrom(v, customer),
    lines,
    meta: {
      sellerKey,
      sourceFile: origin.file,
      sourceKey: origin.sourceKey,
      source: origin.source,
      language: v.get('language') ?? customer?.language ?? master.customers.defaults?.language ?? 'nl',
    },
  };
  const sourceNumber = v.get('number');
  if (sourceNumber !== undefined && def.numbering?.keepSourceNumber) {
    invoice.number = sourceNumber;
    invoice.meta.numberFromSource = true;
  }
  if (customerKey !== undefined) invoice.meta.customerKey = customerKey;
  if (dueDate) invoice.dueDate = dueDate;
  const text: [keyof Invoice, string][] = [
    ['taxPointDate', 'taxPointDate'],
    ['buyerReference', 'buyerReference'],
    ['orderReference', 'orderReference'],
    ['salesOrderReference', 'salesOrderReference'],
    ['projectReference', 'projectReference'],
    ['contractReference', 'contractReference'],
    ['accountingReference', 'accountingReference'],
    ['paymentTerms', 'paymentTerms'],
    ['prepaidAmount', 'prepaidAmount'],
    ['validUntil', 'validUntil'],
  ];
  for (const [key, field] of text) {
    const value = v.get(field);
    if (value !== undefined) (invoice as unknown as Record<string, unknown>)[key] = value;
  }
  if (!invoice.buyerReference && customer?.buyerReference) invoice.buyerReference = customer.buyerReference;
  if (kind === 'quote' && !invoice.validUntil && issueDateValid) {
    // an offer without an end date in the source stands for the customer's usual period
    invoice.validUntil = addDays(issueDate, customer?.quoteValidDays ?? master.customers.defaults?.quoteValidDays ?? DEFAULT_QUOTE_VALID_DAYS);
  }
  const note = v.get('note');
  if (note) invoice.notes = [note];
  const preceding = v.get('precedingInvoice.number');
  if (preceding)
    invoice.precedingInvoices = [{ number: preceding, ...(v.get('precedingInvoice.issueDate') ? { issueDate: v.get('precedingInvoice.issueDate') } : {}) }];
  if (seller.payment) {
    invoice.payment = { ...seller.payment, meansCode: v.get('paymentMeansCode') ?? seller.payment.meansCode };
    const reference = v.get('paymentReference');
    if (reference) invoice.payment.paymentReference = reference;
  }
  const deliveryDate = v.get('delivery.date');
  const deliveryName = v.get('delivery.partyName');
  const deliveryAddress = addressFrom(v, 'delivery.address');
  if (deliveryDate || deliveryName || deliveryAddress) {
    invoice.delivery = {
      ...(deliveryDate ? { date: deliveryDate } : {}),
      ...(deliveryName ? { partyName: deliveryName } : {}),
      ...(deliveryAddress ? { address: deliveryAddress } : {}),
    };
  }
  const periodStart = v.get('period.start');
  const periodEnd = v.get('period.end');
  if (periodStart || periodEnd) invoice.period = { ...(periodStart ? { start: periodStart } : {}), ...(periodEnd ? { end: periodEnd } : {}) };
  if (allowanceCharges.length) invoice.allowanceCharges = allowanceCharges;
  const declared = { netAmount: v.get('totals.netAmount'), vatAmount: v.get('totals.vatAmount'), payableAmount: v.get('totals.payableAmount') };
  if (declared.netAmount || declared.vatAmount || declared.payableAmount) {
    invoice.meta.declaredTotals = Object.fromEntries(Object.entries(declared).filter(([, x]) => x !== undefined));
  }
  const status = v.get('orderStatus');
  if (status) invoice.meta.orderStatus = status;
  const extra = [...v.entries()].filter(([k, x]) => k.startsWith('extra.') && x !== undefined);
  if (extra.length) invoice.meta.extra = Object.fromEntries(extra.map(([k, x]) => [k.slice(6), x as string]));
  return { invoice, problems };
}
