import { Decimal as DecimalJs } from 'decimal.js';

/** Decimal type for every amount, quantity, price and rate: never a JavaScript number. */
export const Decimal = DecimalJs.clone({ precision: 40, rounding: DecimalJs.ROUND_HALF_UP, toExpNeg: -30, toExpPos: 40 });
export type Decimal = InstanceType<typeof Decimal>;

const DECIMAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** True when the text is a plain decimal ("12", "-0.5", "1249.95"): no exponent, no grouping. */
export function isDecimalText(text: string): boolean {
  return DECIMAL_TEXT.test(text);
}

/** Parse a plain decimal string; throws on anything else (no exponents, no locale marks). */
export function dec(text: string | Decimal): Decimal {
  if (typeof text !== 'string') return text;
  if (!isDecimalText(text)) throw new Error(`not a decimal number: "${text}"`);
  return new Decimal(text);
}

/** EN 16931 amount: two decimals, half away from zero (1.005 → 1.01, -1.005 → -1.01). */
export function roundAmount(value: Decimal): Decimal {
  return value.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
}

/** Amount as its canonical text: always exactly two decimals ("12.50"). */
export function amountText(value: Decimal): string {
  return roundAmount(value).toFixed(2);
}

/** A price or quantity as text without trailing zeros beyond `minDecimals` ("12.5000" → "12.50"). */
export function plainText(value: Decimal, minDecimals = 0): string {
  const text = value.toFixed();
  if (!text.includes('.')) return minDecimals > 0 ? `${text}.${'0'.repeat(minDecimals)}` : text;
  const [whole, frac] = text.split('.') as [string, string];
  let trimmed = frac.replace(/0+$/, '');
  if (trimmed.length < minDecimals) trimmed = trimmed.padEnd(minDecimals, '0');
  return trimmed ? `${whole}.${trimmed}` : whole;
}

/** Sum decimals exactly. */
export function sum(values: Iterable<Decimal>): Decimal {
  let total = new Decimal(0);
  for (const v of values) total = total.plus(v);
  return total;
}
