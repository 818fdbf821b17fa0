import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ReaderError } from '../errors.js';
import { decodeToText } from './decode.js';
import { cdataAsText, XML_VALUE_DECODING } from './xml-text.js';
import { itemsAt, splitPath } from './path.js';
import { readAll, type ReadContext, type ReaderInput, type SourceRecord } from './record.js';
import type { MappingFileSchema } from '../config/schema-types.js';

/** An XML reader's options (the schema's shape). */
export type XmlReaderOptions = MappingFileSchema.XmlReader;

const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;

/** Elements inside each other that the parser takes (invoices nest a dozen deep; more is an attack or a broken export). */
const MAX_NESTED_TAGS = 100;

/** Where the elements first nest deeper than `limit`: line and column (1-based) of that start tag, for the report. */
export function tooDeepAt(text: string, limit: number): { line: number; column: number; name: string } | undefined {
  let depth = 0;
  const tags = /<(\/?)([A-Za-z_][\w.:-]*)[^>]*?(\/?)>|<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>/g;
  for (let m = tags.exec(text); m; m = tags.exec(text)) {
    if (!m[2]) continue;
    if (m[1]) depth--;
    else if (!m[3] && ++depth > limit) {
      const before = text.slice(0, m.index);
      const line = before.split('\n').length;
      return { line, column: m.index - before.lastIndexOf('\n'), name: m[2] };
    }
  }
  return undefined;
}

/** Rejects DOCTYPE and ENTITY declarations: no external entities (XXE), no entity expansion (billion laughs). */
export function rejectDoctype(text: string, ctx: ReadContext): void {
  const match = /<!(DOCTYPE|ENTITY)/i.exec(text);
  if (match) {
    const line = text.slice(0, match.index).split('\n').length;
    throw new ReaderError(
      `XML with a <!${match[1]!.toUpperCase()}> declaration is refused: document type declarations can read local files or expand entities without bound (XXE, billion laughs); remove it from the export`,
      { file: ctx.file, attachment: ctx.attachment, line },
    );
  }
}

/** Parses a whole XML text with entity processing off and values kept as strings. */
export function parseXmlText(
  text: string,
  ctx: ReadContext,
  options: { arrays?: (path: string) => boolean; removeNamespacePrefixes?: boolean } = {},
): Record<string, unknown> {
  rejectDoctype(text, ctx);
  const verdict = XMLValidator.validate(text, { allowBooleanAttributes: true });
  if (verdict !== true) {
    const { msg, line, col } = verdict.err;
    const unclosed = /^Invalid '\[(.*)\]' found/s.exec(msg);
    const reason = unclosed
      ? `elements never closed: ${unclosed[1]!
          .split(',')
          .map((n) => `<${n.trim().replace(/^"|"$/g, '')}>`)
          .join(', ')} (is the file truncated?)`
      : msg;
    throw new ReaderError(`XML is not well-formed: ${reason}`, {
      file: ctx.file,
      attachment: ctx.attachment,
      line,
      column: col,
    });
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    removeNSPrefix: options.removeNamespacePrefixes ?? true,
    // character references and the predefined entities, decoded once; a DOCTYPE that could define more was refused above
    ...XML_VALUE_DECODING,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    textNodeName: '#text',
    maxNestedTags: MAX_NESTED_TAGS,
    isArray: options.arrays ? (_name, jpath) => options.arrays!(String(jpath)) : undefined,
  });
  try {
    return parser.parse(cdataAsText(text)) as Record<string, unknown>;
  } catch (err) {
    // the parser's own limits (nesting depth, entity expansion) throw plain errors: they are about this file
    const deep = /nested tags/i.test((err as Error).message) ? tooDeepAt(text, MAX_NESTED_TAGS) : undefined;
    throw new ReaderError(
      `XML could not be read: ${(err as Error).message}${deep ? ` (more than ${MAX_NESTED_TAGS} elements inside each other at <${deep.name}>)` : ''}`,
      { file: ctx.file, attachment: ctx.attachment, ...(deep ? { line: deep.line, column: deep.column } : {}) },
    );
  }
}

/** Reads a legacy XML file into one record per element at `records`. */
export async function* readXml(input: ReaderInput, options: XmlReaderOptions, ctx: ReadContext): AsyncGenerator<SourceRecord> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const bytes = await readAll(
    input,
    maxBytes,
    () => new ReaderError(`XML file is larger than ${maxBytes} bytes`, { file: ctx.file, attachment: ctx.attachment }),
  );
  if (bytes.length === 0 || bytes.toString('utf-8').trim() === '') throw new ReaderError('the file is empty', { file: ctx.file, attachment: ctx.attachment });
  const text = await streamToString(decodeToText(bytes, options.encoding ?? 'utf-8', ctx));
  const recordSteps = splitPath(options.records);
  const recordPath = recordSteps.join('.');
  const arrayNames = new Set(options.arrays ?? []);
  const doc = parseXmlText(text, ctx, {
    removeNamespacePrefixes: options.removeNamespacePrefixes,
    arrays: (jpath) => jpath === recordPath || arrayNames.has(jpath.split('.').pop() ?? ''),
  });
  const records = itemsAt(doc, recordSteps);
  if (records.length === 0) {
    throw new ReaderError(`no <${recordSteps[recordSteps.length - 1]}> elements at ${recordSteps.join('/')}; check reader.records in the mapping`, {
      file: ctx.file,
      attachment: ctx.attachment,
      path: recordSteps.join('/'),
    });
  }
  for (const [i, values] of records.entries()) {
    yield {
      values: (typeof values === 'object' && values !== null ? values : { '#text': values }) as Record<string, unknown>,
      position: { path: `${recordSteps.join('/')}[${i + 1}]`, ...(ctx.attachment ? { attachment: ctx.attachment } : {}) },
    };
  }
}

/** Collects a text stream. */
export async function streamToString(stream: AsyncIterable<string | Buffer>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += typeof chunk === 'string' ? chunk : chunk.toString('utf-8');
  return text;
}
