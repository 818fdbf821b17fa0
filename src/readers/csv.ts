import { parse, CsvError } from 'csv-parse';
import { ReaderError } from '../errors.js';
import { decodeToText } from './decode.js';
import type { ReadContext, ReaderInput, SourceRecord } from './record.js';

/** CSV reader options as written in a mapping's `reader:` block. */
export interface CsvReaderOptions {
  format: 'csv';
  /** default "utf-8" (a BOM is allowed) */
  encoding?: string;
  /** default ";" (what Dutch Excel and MS Access write) */
  delimiter?: string;
  /** default '"' */
  quote?: string;
  /** true: first row names the columns; false: columns are numbered 1, 2, 3 ... ; default true */
  header?: boolean;
  /** rows to skip before the header (title lines some exports write), default 0 */
  skipLines?: number;
  /** allow rows with fewer or more fields than the header, default false */
  relaxColumnCount?: boolean;
  /** skip blank lines, default true */
  skipEmptyLines?: boolean;
}

function locate(err: CsvError, ctx: ReadContext): ReaderError {
  const e = err as CsvError & { lines?: number; column?: number | string };
  const reason = err.message.replace(/^Invalid Record Length: /, 'wrong number of fields: ').replace(/ on line \d+$/, '');
  return new ReaderError(`CSV syntax error: ${reason}`, {
    file: ctx.file,
    attachment: ctx.attachment,
    line: typeof e.lines === 'number' ? e.lines : undefined,
    column: e.column ?? undefined,
  });
}

function newlinesIn(record: Record<string, string> | string[]): number {
  let count = 0;
  for (const value of Array.isArray(record) ? record : Object.values(record)) {
    // csv-parse counts a quoted CR and LF each as a line break, so they are counted the same way here.
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c === 10 || c === 13) count++;
    }
  }
  return count;
}

/** Streams CSV records with the line each one starts on; header names are trimmed. */
export async function* readCsv(input: ReaderInput, options: CsvReaderOptions, ctx: ReadContext): AsyncGenerator<SourceRecord> {
  const header = options.header ?? true;
  const text = decodeToText(input, options.encoding ?? 'utf-8', ctx);
  const parser = parse({
    delimiter: options.delimiter ?? ';',
    quote: options.quote ?? '"',
    bom: true,
    columns: header ? (names: string[]) => names.map((n) => n.trim()) : false,
    from_line: (options.skipLines ?? 0) + 1,
    relax_column_count: options.relaxColumnCount ?? false,
    skip_empty_lines: options.skipEmptyLines ?? true,
    info: true,
  });
  text.on('error', (err) => parser.destroy(err));
  text.pipe(parser);
  const firstLine = (options.skipLines ?? 0) + (header ? 2 : 1);
  // csv-parse's line counter stands at the record's end; the first record (whose start is
  // known) calibrates any constant difference.
  let offset: number | undefined;
  try {
    for await (const item of parser as AsyncIterable<{ record: Record<string, string> | string[]; info: { lines: number; empty_lines: number } }>) {
      const inner = newlinesIn(item.record);
      offset ??= item.info.lines - inner - (firstLine + item.info.empty_lines);
      const line = item.info.lines - inner - offset;
      let values: Record<string, unknown>;
      if (Array.isArray(item.record)) {
        values = {};
        item.record.forEach((v, i) => { values[String(i + 1)] = v; });
      } else {
        values = item.record;
      }
      yield { values, position: { line, ...(ctx.attachment ? { attachment: ctx.attachment } : {}) } };
    }
  } catch (err) {
    if (err instanceof ReaderError) throw err;
    if (err instanceof CsvError) throw locate(err, ctx);
    throw new ReaderError(`CSV could not be read: ${(err as Error).message}`, { file: ctx.file, attachment: ctx.attachment });
  }
}
