/** Line breaks as one format allows them: "\n" (PDF, UBL text; a raw CR shows as a box or is lost in XML) or a space (one-line fields). */
export function lineBreaks(value: string, as: '\n' | ' '): string {
  return as === '\n' ? value.replace(/\r\n?/g, '\n') : value.replace(/\s*[\r\n]+\s*/g, ' ');
}

/** A copy of a document with every text's line breaks normalised (for renderers that draw text as given). */
export function withLineBreaks<T>(value: T, as: '\n' | ' '): T {
  if (typeof value === 'string') return lineBreaks(value, as) as T;
  if (Array.isArray(value)) return value.map((v) => withLineBreaks(v, as)) as T;
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withLineBreaks(v, as)])) as T;
  }
  return value;
}

/**
 * Text for xmlbuilder2's txt(): its serializer leaves an "&" alone when what follows looks like an
 * entity or character reference ("&amp;", "&#39;"), so a literal "AT&amp;T" in the data would come out
 * as "AT&T". Those ampersands are escaped here; every other one the serializer escapes itself.
 */
export function literal(value: string): string {
  return value.includes('&') ? value.replace(/&(?=[A-Za-z]+;|#\d+;)/g, '&amp;') : value;
}
