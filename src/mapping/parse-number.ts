import { quoteValue } from '../errors.js';
/** Number formats a legacy file may write: Dutch "1.249,95", English "1,249.95", plain "1249.95". */
export type NumberFormat = 'nl' | 'en' | 'plain';

const PATTERNS: Record<NumberFormat, { grouped: RegExp; simple: RegExp; group: string; decimal: string }> = {
  nl: { grouped: /^\d{1,3}(\.\d{3})+(,\d+)?$/, simple: /^\d+(,\d+)?$/, group: '.', decimal: ',' },
  en: { grouped: /^\d{1,3}(,\d{3})+(\.\d+)?$/, simple: /^\d+(\.\d+)?$/, group: ',', decimal: '.' },
  plain: { grouped: /^$/, simple: /^\d*\.?\d+$|^\d+\.$/, group: '', decimal: '.' },
};

const SIMPLE_INTEGER = /^\d{1,15}$/;

/**
 * Parses a number as written in the source into a plain decimal string, exactly (no floats).
 * Accepts a leading or trailing minus ("12,50-", as COBOL-era exports write), a "+", and a euro sign.
 * Returns an error text instead of throwing, so the caller can add the location.
 */
export function parseNumber(raw: string, format: NumberFormat): { value: string } | { error: string } {
  if (SIMPLE_INTEGER.test(raw)) return { value: raw.length > 1 && raw.charCodeAt(0) === 48 ? raw.replace(/^0+(?=\d)/, '') : raw };
  let text = raw.trim().replace(/^€\s*/, '').replace(/\s*€$/, '').replace(/\s/g, '');
  let negative = false;
  if (text.startsWith('-') || text.startsWith('+')) {
    negative = text.startsWith('-');
    text = text.slice(1);
  } else if (text.endsWith('-')) {
    negative = true;
    text = text.slice(0, -1);
  }
  const p = PATTERNS[format];
  let normal: string;
  if (p.simple.test(text)) {
    normal = format === 'nl' ? text.replace(',', '.') : text;
  } else if (p.grouped.test(text)) {
    normal = text.split(p.group).join('').replace(p.decimal, '.');
  } else {
    const hint =
      format === 'nl' && /^\d+\.\d{1,2}$/.test(text)
        ? ' (it has a decimal point, but the mapping expects Dutch numbers with a decimal comma: set number: en or plain if the source writes 12.50)'
        : format !== 'nl' && /^\d+,\d{1,2}$/.test(text)
          ? ' (it has a decimal comma: set number: nl if the source writes Dutch numbers)'
          : '';
    return { error: `not a number: ${quoteValue(raw)}${hint}` };
  }
  if (normal.startsWith('.')) normal = `0${normal}`;
  if (normal.endsWith('.')) normal = normal.slice(0, -1);
  normal = normal.replace(/^0+(?=\d)/, '');
  return { value: negative && !/^0(\.0*)?$/.test(normal) ? `-${normal}` : normal };
}
