import { quoteValue } from '../errors.js';
/** A compiled date format such as "dd-mm-yyyy": a pattern and the positions of its parts. */
interface DateFormat {
  pattern: RegExp;
  parts: ('y4' | 'y2' | 'm' | 'd')[];
}

const cache = new Map<string, DateFormat>();
const TOKENS: [string, 'y4' | 'y2' | 'm' | 'd', string][] = [
  ['yyyy', 'y4', '(\\d{4})'],
  ['yy', 'y2', '(\\d{2})'],
  ['mm', 'm', '(\\d{2})'],
  ['dd', 'd', '(\\d{2})'],
  ['m', 'm', '(\\d{1,2})'],
  ['d', 'd', '(\\d{1,2})'],
];

/** Compiles a format made of yyyy, yy, mm, m, dd, d and literal separators; throws on a format without y, m and d. */
export function compileDateFormat(format: string): DateFormat {
  const hit = cache.get(format);
  if (hit) return hit;
  let source = '^';
  const parts: DateFormat['parts'] = [];
  let rest = format.toLowerCase() === 'iso' ? 'yyyy-mm-dd' : format.toLowerCase();
  while (rest.length) {
    const token = TOKENS.find(([t]) => rest.startsWith(t));
    if (token) {
      source += token[2];
      parts.push(token[1]);
      rest = rest.slice(token[0].length);
    } else {
      if (/[a-z]/.test(rest[0]!)) throw new Error(`date format "${format}" has an unknown letter "${rest[0]}" (use dd, mm, yyyy, d, m, yy)`);
      source += rest[0]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      rest = rest.slice(1);
    }
  }
  const kinds = new Set(parts.map((p) => (p.startsWith('y') ? 'y' : p)));
  if (kinds.size !== 3 || parts.length !== 3) throw new Error(`date format "${format}" needs exactly one day, month and year part`);
  const compiled = { pattern: new RegExp(`${source}$`), parts };
  cache.set(format, compiled);
  return compiled;
}

/** Parses a date in the given format into yyyy-mm-dd, refusing dates that do not exist (31-02-2026). */
export function parseDate(raw: string, format: string): { value: string } | { error: string } {
  const text = raw.trim().replace(/[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/, '');
  const f = compileDateFormat(format);
  const m = f.pattern.exec(text);
  if (!m) return { error: `not a date in the format ${format}: ${quoteValue(raw)}` };
  let year = 0;
  let month = 0;
  let day = 0;
  f.parts.forEach((part, i) => {
    const n = Number(m[i + 1]);
    if (part === 'y4') year = n;
    else if (part === 'y2') year = n < 70 ? 2000 + n : 1900 + n;
    else if (part === 'm') month = n;
    else day = n;
  });
  const check = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || day < 1 || check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    return { error: `date does not exist: ${quoteValue(raw)} (read as day ${day}, month ${month}, year ${year} with format ${format})` };
  }
  return { value: `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}` };
}

/** Adds days to an ISO date. */
export function addDays(isoDate: string, days: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
