import iconv from 'iconv-lite';
import { ReaderError } from '../errors.js';
import { firstInvalidUtf8 } from './decode.js';
import type { ReadContext } from './record.js';

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Resolves XML's character references (&#x2013; &#8211;) and its five predefined entities, in one
 * pass, so "&amp;amp;" becomes "&amp;" and never "&". A DOCTYPE, which could define other entities,
 * is refused before any of this runs.
 */
export function decodeXmlReferences(value: string): string {
  if (!value.includes('&')) return value;
  return value.replace(/&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|(amp|lt|gt|quot|apos));/g, (whole, hex: string, dec: string, name: string) => {
    if (name) return PREDEFINED[name]!;
    const code = hex ? parseInt(hex, 16) : Number(dec);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/**
 * CDATA sections as the escaped text they stand for, so that the one decoding above gives back their
 * content literally ("<![CDATA[a &amp; b]]>" stays "a &amp; b"). No line breaks are added, so the
 * lines in a report still point into the file.
 */
export function cdataAsText(xml: string): string {
  if (!xml.includes('<![CDATA[')) return xml;
  return xml.replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, (_m, content: string) => content.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
}

/** fast-xml-parser options that leave entity handling to decodeXmlReferences (its own misses character references). */
export const XML_VALUE_DECODING = {
  processEntities: false,
  htmlEntities: false,
  tagValueProcessor: (_name: string, value: string) => decodeXmlReferences(value),
  attributeValueProcessor: (_name: string, value: string) => decodeXmlReferences(value),
} as const;

/** The encoding an XML document's BOM or declaration names; UTF-8 when it names none (as XML itself says). */
export function declaredXmlEncoding(bytes: Buffer): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  const head = bytes.subarray(0, 200).toString('latin1');
  const declared = /^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1];
  return (declared ?? 'utf-8').toLowerCase();
}

/**
 * The text of an XML document in the encoding it declares. UTF-8 is decoded strictly: a byte that is
 * not UTF-8 is reported with its line, never replaced by U+FFFD in silence.
 */
export function xmlBytesToText(bytes: Buffer, ctx: ReadContext): string {
  const encoding = declaredXmlEncoding(bytes);
  if (encoding === 'utf-8' || encoding === 'utf8') {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      const at = firstInvalidUtf8(bytes);
      const line = bytes.subarray(0, at).toString('latin1').split('\n').length;
      throw new ReaderError(
        `the XML says it is UTF-8 but byte 0x${bytes[at]?.toString(16).padStart(2, '0')} at offset ${at} is not; the sending software must declare the encoding it writes (e.g. encoding="ISO-8859-1")`,
        { file: ctx.file, attachment: ctx.attachment, line, field: 'encoding' },
      );
    }
  }
  if (!iconv.encodingExists(encoding)) {
    throw new ReaderError(`the XML declares the encoding "${encoding}", which is not known`, {
      file: ctx.file,
      attachment: ctx.attachment,
      line: 1,
      field: 'encoding',
    });
  }
  return iconv.decode(bytes, encoding, { stripBOM: true });
}
