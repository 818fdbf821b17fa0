import { ReaderError } from '../errors.js';
import { readCsv, type CsvReaderOptions } from './csv.js';
import { readFixedWidth, type FixedWidthReaderOptions } from './fixed-width.js';
import { readJson, type JsonReaderOptions } from './json.js';
import type { ReadContext, ReaderInput, SourceRecord } from './record.js';
import { readXml, type XmlReaderOptions } from './xml.js';

/** Reader options of any format, as in a mapping's `reader:` block. */
export type ReaderOptions = CsvReaderOptions | XmlReaderOptions | JsonReaderOptions | FixedWidthReaderOptions | { format: 'ubl'; maxBytes?: number };

/** Reads records of the mapping's format; every reader reports errors as ReaderError with a location. */
export function readRecords(input: ReaderInput, options: ReaderOptions, ctx: ReadContext): AsyncGenerator<SourceRecord> {
  switch (options.format) {
    case 'csv':
      return readCsv(input, options, ctx);
    case 'xml':
      return readXml(input, options, ctx);
    case 'json':
      return readJson(input, options, ctx);
    case 'fixed-width':
      return readFixedWidth(input, options, ctx);
    case 'ubl':
      throw new ReaderError('UBL files are read whole (readUbl), not as records', { file: ctx.file });
    default:
      throw new ReaderError(`unknown reader format "${(options as { format: string }).format}"`, { file: ctx.file, field: 'reader.format' });
  }
}

export type { ReadContext, ReaderInput, SourceRecord } from './record.js';
