import type { Readable } from 'node:stream';
import Papa from 'papaparse';
import { ReaderError } from '../errors.js';
import { decodeToText } from './decode.js';
import type { SourcePosition } from '../model/invoice.js';
import type { ReadContext, ReaderInput, SourceRecord } from './record.js';
import type { MappingFileSchema } from '../config/schema-types.js';

/** A CSV reader's options, as in a mapping's `reader:` block (the schema's shape). */
export type CsvReaderOptions = MappingFileSchema.CsvReader;

/** Line breaks inside a record's fields (quoted newlines): CRLF counts once, like a text editor. */
function lineBreaksIn(cells: string[]): number {
  let count = 0;
  for (const value of cells) {
    if (value.length < 2 && value !== '\n' && value !== '\r') continue;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c === 10 || (c === 13 && value.charCodeAt(i + 1) !== 10)) count++;
    }
  }
  return count;
}

/** Column names of a CSV file and their positions, shared by all its records. */
class ColumnIndex {
  readonly index = new Map<string, number>();
  constructor(readonly names: string[]) {
    names.forEach((n, i) => {
      if (!this.index.has(n)) this.index.set(n, i);
    });
  }
}

/** A CSV record: cells by position, with the values object made only when something asks for it. */
class CsvRecord implements SourceRecord {
  private made?: Record<string, unknown>;
  constructor(
    private readonly cells: string[],
    private readonly columns: ColumnIndex,
    readonly position: SourcePosition,
  ) {}
  get values(): Record<string, unknown> {
    if (!this.made) {
      const values: Record<string, unknown> = {};
      this.columns.names.forEach((name, i) => {
        values[name] = this.cells[i];
      });
      this.made = values;
    }
    return this.made;
  }
  cell(column: string): unknown {
    const i = this.columns.index.get(column);
    return i === undefined ? undefined : this.cells[i];
  }
}

/** Rows of one parsed chunk, handed from PapaParse's callback to the async reader. */
interface ParsedChunk {
  rows: string[][];
  errors: Papa.ParseError[];
}

/**
 * PapaParse's chunk callbacks as an async iterator with back-pressure: the parser is paused
 * after each chunk until the reader has taken its rows, so memory stays bounded.
 */
async function* papaChunks(text: Readable, config: Papa.ParseConfig): AsyncGenerator<ParsedChunk> {
  let pending: ParsedChunk | undefined;
  let parser: Papa.Parser | undefined;
  let finished = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  text.on('error', (err) => {
    failure = err;
    signal();
  });
  // @types/papaparse only types browser inputs; Node readable streams are supported at run time.
  (Papa.parse as unknown as (input: Readable, config: Papa.ParseConfig) => void)(text, {
    ...config,
    chunk: (results: Papa.ParseResult<string[]>, p: Papa.Parser) => {
      p.pause();
      parser = p;
      pending = { rows: results.data, errors: results.errors };
      signal();
    },
    complete: () => {
      finished = true;
      signal();
    },
    error: (err: Error) => {
      failure = err;
      signal();
    },
  } as Papa.ParseConfig<string[]>);
  for (;;) {
    if (failure) throw failure;
    if (pending) {
      const chunk = pending;
      pending = undefined;
      yield chunk;
      parser?.resume();
      continue;
    }
    if (finished) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
}

/** Streams CSV records with the line each one starts on; header names are trimmed. */
export async function* readCsv(input: ReaderInput, options: CsvReaderOptions, ctx: ReadContext): AsyncGenerator<SourceRecord> {
  const hasHeader = options.header ?? true;
  const skipEmpty = options.skipEmptyLines ?? true;
  let toSkip = options.skipLines ?? 0;
  const text = decodeToText(input, options.encoding ?? 'utf-8', ctx);
  const where = ctx.attachment ? { attachment: ctx.attachment } : {};
  // PapaParse reads about twice as fast as csv-parse; lines are counted here from the rows and
  // the line breaks inside quoted fields, so every record knows where it starts.
  let line = 1;
  let columns: ColumnIndex | undefined;
  try {
    for await (const chunk of papaChunks(text, {
      delimiter: options.delimiter ?? ';',
      quoteChar: options.quote ?? '"',
      skipEmptyLines: false,
      header: false,
    })) {
      const starts: number[] = [];
      for (const cells of chunk.rows) {
        const start = line;
        starts.push(start);
        line += 1 + lineBreaksIn(cells);
      }
      const bad = chunk.errors.find((e) => e.code !== 'UndetectableDelimiter');
      if (bad) {
        const row = typeof bad.row === 'number' ? starts[bad.row] : undefined;
        throw new ReaderError(`CSV syntax error: ${bad.code === 'MissingQuotes' ? 'a quoted field is never closed (a missing quote)' : bad.message}`, {
          file: ctx.file,
          attachment: ctx.attachment,
          line: row,
        });
      }
      for (let r = 0; r < chunk.rows.length; r++) {
        const cells = chunk.rows[r]!;
        if (toSkip > 0) {
          toSkip--;
          continue;
        }
        if (cells.length === 1 && cells[0] === '' && (skipEmpty || !columns)) continue;
        if (!columns) {
          columns = new ColumnIndex(hasHeader ? cells.map((n) => n.trim()) : cells.map((_c, i) => String(i + 1)));
          if (hasHeader) continue;
        }
        if (cells.length !== columns.names.length && !options.relaxColumnCount) {
          throw new ReaderError(
            `wrong number of fields: ${cells.length} instead of ${columns.names.length} (is a delimiter inside an unquoted text, or a quote missing?)`,
            {
              file: ctx.file,
              attachment: ctx.attachment,
              line: starts[r],
            },
          );
        }
        yield new CsvRecord(cells, columns, { line: starts[r]!, ...where });
      }
    }
  } catch (err) {
    if (err instanceof ReaderError) throw err;
    throw new ReaderError(`CSV could not be read: ${(err as Error).message}`, { file: ctx.file, attachment: ctx.attachment });
  }
}
