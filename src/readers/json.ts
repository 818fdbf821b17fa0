import { ReaderError } from '../errors.js';
import { decodeToText } from './decode.js';
import { itemsAt, splitPath, whereMissing } from './path.js';
import { readAll, type ReadContext, type ReaderInput, type SourceRecord } from './record.js';
import { streamToString } from './xml.js';
import type { MappingFileSchema } from '../config/schema-types.js';

/** A JSON reader's options (the schema's shape). */
export type JsonReaderOptions = MappingFileSchema.JsonReader;

/** Line and column of a character offset, for JSON syntax errors. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** Reads a JSON export (e.g. a webshop order export) into one record per order. */
export async function* readJson(input: ReaderInput, options: JsonReaderOptions, ctx: ReadContext): AsyncGenerator<SourceRecord> {
  const maxBytes = options.maxBytes ?? 100 * 1024 * 1024;
  const bytes = await readAll(
    input,
    maxBytes,
    () => new ReaderError(`JSON file is larger than ${maxBytes} bytes`, { file: ctx.file, attachment: ctx.attachment }),
  );
  const text = await streamToString(decodeToText(bytes, options.encoding ?? 'utf-8', ctx));
  if (text.trim() === '') throw new ReaderError('the file is empty', { file: ctx.file, attachment: ctx.attachment });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const pos = /position (\d+)/.exec(message);
    const where = pos ? lineColumn(text, Number(pos[1])) : undefined;
    throw new ReaderError(
      `JSON is not valid: ${message.replace(/ in JSON at position \d+.*$/, '')}${pos && Number(pos[1]) >= text.trimEnd().length ? ' (the file ends too early: is it truncated?)' : /end of JSON/i.test(message) ? ' (is the file truncated?)' : ''}`,
      {
        file: ctx.file,
        attachment: ctx.attachment,
        line: where?.line,
        column: where?.column,
      },
    );
  }
  const steps = splitPath(options.records ?? '');
  const records = itemsAt(doc, steps);
  if (records.length === 0) {
    // the real cause: a step of the path that is not in the file (with what is there), or an empty list
    const why = whereMissing(doc, steps, 'file') ?? `the list at "${options.records ?? '$'}" is empty`;
    throw new ReaderError(`no records: ${why}; reader.records in the mapping says where they are`, {
      file: ctx.file,
      attachment: ctx.attachment,
      path: options.records,
    });
  }
  const base = steps.length ? steps.join('.') : '$';
  for (const [i, values] of records.entries()) {
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      throw new ReaderError(`record ${i + 1} is not an object`, { file: ctx.file, attachment: ctx.attachment, path: `${base}[${i}]` });
    }
    yield { values: values as Record<string, unknown>, position: { path: `${base}[${i}]`, ...(ctx.attachment ? { attachment: ctx.attachment } : {}) } };
  }
}
