/**
 * Turns one of our UBL documents into @e-invoice-eu/core's own invoice JSON (its "internal format": UBL
 * element names as keys, attributes as "name@attribute" siblings, repeated elements as arrays), so the
 * comparison bench feeds both generators the very same invoice. Done once, outside the timed loop.
 */
import { createRequire } from 'node:module';
import { XMLParser } from 'fast-xml-parser';

type Json = Record<string, unknown>;
interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  $ref?: string;
}

/** The library's public surface the bench uses (loaded through require: its ES build does not resolve on Node). */
export interface EInvoiceEu {
  InvoiceService: new (logger: unknown) => { generate(data: unknown, options: unknown): Promise<string | Uint8Array> };
  invoiceSchema: SchemaNode & { $defs: Record<string, unknown> };
}

/** Loads @e-invoice-eu/core, a dev dependency of the bench only. */
export function loadEInvoiceEu(): EInvoiceEu {
  return createRequire(import.meta.url)('@e-invoice-eu/core') as EInvoiceEu;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
});

function resolve(node: SchemaNode, root: EInvoiceEu['invoiceSchema']): SchemaNode {
  if (!node.$ref || node.properties || node.items) return node;
  let target: unknown = root;
  for (const part of node.$ref.replace(/^#\//, '').split('/')) target = (target as Json)[part];
  return { ...(target as SchemaNode), ...node, $ref: undefined };
}

function convert(xml: unknown, schema: SchemaNode, root: EInvoiceEu['invoiceSchema'], dropped: Set<string>, path: string): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(xml as Json)) {
    if (key.startsWith('@xmlns')) continue;
    const prop = schema.properties?.[key];
    if (!prop) {
      dropped.add(`${path}/${key}`);
      continue;
    }
    const node = resolve(prop, root);
    const isArray = node.type === 'array';
    const itemSchema = isArray ? resolve(node.items ?? {}, root) : node;
    const values = Array.isArray(value) ? value : [value];
    const converted = values.map((v) => {
      if (itemSchema.type === 'object') return convert(v, itemSchema, root, dropped, `${path}/${key}`);
      if (typeof v === 'object' && v !== null) {
        for (const [attr, attrValue] of Object.entries(v as Json)) {
          if (attr === '#text') continue;
          const name = `${key}${attr}`;
          if (schema.properties?.[name]) out[name] = attrValue;
          else dropped.add(`${path}/${name}`);
        }
        return (v as Json)['#text'];
      }
      return v;
    });
    out[key] = isArray ? converted : converted[0];
  }
  return out;
}

/** Our UBL Invoice as e-invoice-eu's input, plus the elements its schema has no place for (to report). */
export function toEInvoiceEu(ubl: string, lib: EInvoiceEu): { data: Json; dropped: string[] } {
  const parsed = parser.parse(ubl) as Json;
  const invoice = parsed['Invoice'];
  if (!invoice) throw new Error('only UBL Invoice documents are converted for the comparison');
  const dropped = new Set<string>();
  const schema = lib.invoiceSchema.properties!['ubl:Invoice']!;
  const data = { 'ubl:Invoice': convert(invoice, schema, lib.invoiceSchema, dropped, '/Invoice') };
  return { data, dropped: [...dropped] };
}
