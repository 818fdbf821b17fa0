import BigJs from 'big.js';

/**
 * Decimal type for every amount, quantity, price and rate: never a JavaScript number.
 * big.js: exact decimal arithmetic, the smallest and fastest of the well-kept decimal libraries,
 * which matters when a bulk file holds a million lines.
 */
export const Decimal = BigJs();
Decimal.DP = 20; // division (price ÷ base quantity, × rate ÷ 100) keeps 20 decimals before rounding
Decimal.RM = 1; // ROUND_HALF_UP, the EN 16931 rounding
Decimal.NE = -30;
Decimal.PE = 40;
Decimal.strict = false;
export type Decimal = BigJs.Big;

/** 1/100, to take a percentage by multiplication (division is the slowest big.js operation). */
export const ONE_HUNDREDTH = new Decimal('0.01');

/** Half-up rounding mode of big.js (1), named. */
const ROUND_HALF_UP = 1;

const DECIMAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** True when the text is a plain decimal ("12", "-0.5", "1249.95"): no exponent, no grouping. */
export function isDecimalText(text: string): boolean {
  return DECIMAL_TEXT.test(text);
}

/** Parse a plain decimal string; throws on anything else (no exponents, no locale marks). */
export function dec(text: string | Decimal): Decimal {
  if (typeof text !== 'string') return text;
  if (!DECIMAL_TEXT.test(text)) throw new Error(`not a decimal number: "${text}"`);
  return new Decimal(text);
}

const shared = new Map<string, Decimal>();
/**
 * Parse a value that repeats across a file (a VAT rate, a unit price of a membership run):
 * decimals are immutable, so one parsed instance per text is shared; the cache stays small.
 */
export function decShared(text: string): Decimal {
  let value = shared.get(text);
  if (value === undefined) {
    value = dec(text);
    if (shared.size < 4096) shared.set(text, value);
  }
  return value;
}

/** EN 16931 amount: two decimals, half away from zero (1.005 → 1.01, -1.005 → -1.01). */
export function roundAmount(value: Decimal): Decimal {
  return value.round(2, ROUND_HALF_UP);
}

/** Amount as its canonical text: always exactly two decimals ("12.50"). */
export function amountText(value: Decimal): string {
  return value.toFixed(2, ROUND_HALF_UP);
}

/** Value as text without exponent ("0.0000001", "1000000"). */
export function decimalText(value: Decimal): string {
  return value.toFixed();
}

/** Sum decimals exactly. */
export function sum(values: Iterable<Decimal>): Decimal {
  let total = new Decimal(0);
  for (const v of values) total = total.plus(v);
  return total;
}
