import { XMLParser } from 'fast-xml-parser';
import type { Identifier } from '../model/invoice.js';
import { XML_VALUE_DECODING } from './xml-text.js';

/** An element as fast-xml-parser gives it: children by local name, attributes as "@name", text as "#text". */
export type XmlNode = Record<string, unknown>;

/**
 * The parser for an e-invoice syntax (UBL, CII): namespace prefixes dropped, values as text,
 * character references decoded once, the given elements always read as lists. Whitespace is kept
 * (free text needs it, see rawTxt); everything else is trimmed as it is read (txt).
 */
export function eInvoiceParser(repeating: ReadonlySet<string>): XMLParser {
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    removeNSPrefix: true,
    // a DOCTYPE (which could define other entities) is refused before parsing
    ...XML_VALUE_DECODING,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    textNodeName: '#text',
    isArray: (name) => repeating.has(name),
  });
}

/** The element (the first, when it repeated), or undefined. */
export function node(v: unknown): XmlNode | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as XmlNode) : Array.isArray(v) ? (v[0] as XmlNode | undefined) : undefined;
}

/** Every occurrence of an element, as a list. */
export function list(v: unknown): XmlNode[] {
  return v === undefined ? [] : Array.isArray(v) ? (v as XmlNode[]) : [v as XmlNode];
}

/** A value as stated, its surrounding whitespace kept: free text (notes, payment terms), whose line breaks can matter (XRechnung's BR-DE-18). */
export function rawTxt(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.trim() === '' ? undefined : v;
  if (Array.isArray(v)) return rawTxt(v[0]);
  if (typeof v === 'object') return rawTxt((v as XmlNode)['#text']);
  return String(v);
}

/** A value without its surrounding whitespace (codes, amounts, dates, names). */
export function txt(v: unknown): string | undefined {
  return rawTxt(v)?.trim();
}

/** An attribute's value. */
export function attr(v: unknown, name: string): string | undefined {
  const a = node(v)?.[`@${name}`];
  return typeof a === 'string' ? a : undefined;
}

/** The element at a path of local names below `n`. */
export function path(n: unknown, ...steps: string[]): unknown {
  let cur: unknown = n;
  for (const s of steps) cur = node(cur)?.[s];
  return cur;
}

/** The object without its undefined values and empty lists (the canonical model leaves them out). */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))) as T;
}

/** An identifier with its scheme attribute (and, where asked, its version attribute). */
export function ident(v: unknown, schemeAttr = 'schemeID', versionAttr?: string): Identifier | undefined {
  const id = txt(v);
  if (id === undefined) return undefined;
  return compact({ id, scheme: attr(v, schemeAttr), schemeVersion: versionAttr ? attr(v, versionAttr) : undefined });
}

/** xsd:boolean: "true" or "1" (and "false" or "0"). */
export function bool(v: unknown): boolean {
  const t = txt(v);
  return t === 'true' || t === '1';
}
