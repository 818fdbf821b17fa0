import type { CalculatedInvoice } from './invoice.js';
import type { RuleViolation } from './rules.js';

/** Bounds that keep a value a renderer or a number series cannot handle from taking a number. */
export interface PlausibilityLimits {
  /** longest text value of an invoice (names, ids, descriptions), in characters */
  maxTextLength: number;
  /** longest note (BT-22, BT-127, payment terms), in characters */
  maxNoteLength: number;
  /** an issue date more than this many days before today is refused */
  maxDaysInPast: number;
  /** an issue date more than this many days after today is refused */
  maxDaysInFuture: number;
}

/** Defaults: generous for real invoices, far below what exhausts a PDF worker or opens a stray year. */
export const DEFAULT_LIMITS: PlausibilityLimits = { maxTextLength: 1000, maxNoteLength: 10_000, maxDaysInPast: 731, maxDaysInFuture: 366 };

/** Fields whose values are free text of paragraph length. */
const NOTE_FIELDS = /(^|\.)(notes?(\[\d+\])?|paymentTerms|description)$/;
/** Fields that carry data, not text for people: the embedded source document is one. */
const SKIPPED = new Set(['meta', 'attachments']);

function* texts(value: unknown, path: string): Generator<[string, string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield* texts(value[i], `${path}[${i}]`);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) if (!SKIPPED.has(key)) yield* texts(v, path ? `${path}.${key}` : key);
  }
}

const dayNumber = (iso: string): number => Math.floor(Date.parse(`${iso}T00:00:00Z`) / 86_400_000);
/** The local calendar date of a moment as YYYY-MM-DD (an invoice's dates are local dates). */
export const localIsoDate = (now: Date): string =>
  `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;

/** Violations of the plausibility limits (GW-LIMIT-*): oversized values and issue dates far from today. */
export function checkPlausible(invoice: CalculatedInvoice, limits: PlausibilityLimits, now: Date): RuleViolation[] {
  const found: RuleViolation[] = [];
  for (const [field, text] of texts(invoice, '')) {
    const max = NOTE_FIELDS.test(field) ? limits.maxNoteLength : limits.maxTextLength;
    if (text.length > max) {
      found.push({
        rule: 'GW-LIMIT-LENGTH',
        field,
        message: `${field} is ${text.length.toLocaleString('en')} characters long; at most ${max.toLocaleString('en')} are accepted (limits in gateway.yaml)`,
      });
    }
  }
  const today = dayNumber(localIsoDate(now));
  for (const field of ['issueDate', 'dueDate', 'taxPointDate'] as const) {
    const iso = invoice[field];
    if (typeof iso !== 'string' || Number.isNaN(Date.parse(iso))) continue;
    const offset = dayNumber(iso) - today;
    const tooFar =
      field === 'issueDate'
        ? offset < -limits.maxDaysInPast || offset > limits.maxDaysInFuture
        : Math.abs(offset) > limits.maxDaysInPast + limits.maxDaysInFuture;
    if (tooFar) {
      found.push({
        rule: 'GW-LIMIT-DATE',
        field,
        message: `${field} ${iso} is ${Math.abs(offset)} days ${offset < 0 ? 'in the past' : 'in the future'}; an issue date must lie between ${limits.maxDaysInPast} days ago and ${limits.maxDaysInFuture} days ahead (limits in gateway.yaml)`,
      });
    }
  }
  return found;
}
