import { ReaderError } from '../errors.js';
import { readCsv } from './csv.js';
import { readFixedWidth } from './fixed-width.js';
import { readJson } from './json.js';
import type { MappingFileSchema } from '../config/schema-types.js';
import type { ReadContext, ReaderInput, SourceRecord } from './record.js';
import { readXml } from './xml.js';

/** Reader options of any format, as in a mapping's `reader:` block. */
export type ReaderOptions = MappingFileSchema.MappingFile['reader'];

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
