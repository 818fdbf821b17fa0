import { createHash } from 'node:crypto';

/** Kept as they are: what every file system, SFTP server and mail header takes. */
const KEPT = /[A-Za-z0-9._-]/;
/** Longest part of a name this gives; longer texts end in a hash of the whole. */
const MAX = 120;

/**
 * A text (an invoice number, a delivery key) as part of a file name or Message-ID. Letters,
 * digits, ".", "_" and "-" stay; any other character becomes "~" and its UTF-8 bytes in hex
 * ("1316/85" → "1316~2F85"), and so does a leading "." or "-" (no hidden or option-like names).
 * Two different texts never give one name, and a text that was already safe is unchanged.
 */
export function safeName(text: string): string {
  let out = '';
  for (const [i, ch] of [...text].entries()) {
    const kept = KEPT.test(ch) && !(i === 0 && (ch === '.' || ch === '-'));
    out += kept ? ch : [...Buffer.from(ch, 'utf-8')].map((b) => `~${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  if (out.length <= MAX) return out;
  return `${out.slice(0, MAX - 17)}~${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}
