import { createInterface } from 'node:readline';
import { ReaderError } from '../errors.js';
import { decodeToText } from './decode.js';
import type { ReadContext, ReaderInput, SourceRecord } from './record.js';
import type { MappingFileSchema } from '../config/schema-types.js';

/** A fixed-width reader's options (the schema's shape). */
export type FixedWidthReaderOptions = MappingFileSchema.FixedWidthReader;

/** One field of a fixed-width layout; positions are 1-based as in the source system's documentation. */
export type FixedWidthColumn = NonNullable<FixedWidthReaderOptions['columns']>[number];

function cut(line: string, col: FixedWidthColumn): string {
  return line.slice(col.start - 1, col.start - 1 + col.length).trim();
}

/** Streams a fixed-width text file line by line; each line is cut by its layout. */
export async function* readFixedWidth(input: ReaderInput, options: FixedWidthReaderOptions, ctx: ReadContext): AsyncGenerator<SourceRecord> {
  const lines = createInterface({ input: decodeToText(input, options.encoding ?? 'utf-8', ctx), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    let layout = options.columns;
    let type: string | undefined;
    if (options.recordType) {
      type = line.slice(options.recordType.start - 1, options.recordType.start - 1 + options.recordType.length).trim();
      if (options.ignoreTypes?.includes(type)) continue;
      layout = options.layouts?.[type];
      if (!layout) {
        throw new ReaderError(`unknown record type "${type}" (the mapping knows ${Object.keys(options.layouts ?? {}).join(', ') || 'none'})`, {
          file: ctx.file,
          attachment: ctx.attachment,
          line: lineNo,
          column: `${options.recordType.start}-${options.recordType.start + options.recordType.length - 1}`,
        });
      }
    }
    if (!layout) throw new ReaderError('the mapping has no columns for this fixed-width file', { file: ctx.file, field: 'reader.columns' });
    const values: Record<string, unknown> = {};
    for (const col of layout) values[col.name] = cut(line, col);
    yield { values, position: { line: lineNo, ...(ctx.attachment ? { attachment: ctx.attachment } : {}) }, ...(type !== undefined ? { type } : {}) };
  }
}
