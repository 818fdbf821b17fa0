import { GatewayError, MappingError } from '../errors.js';
import type { DocumentAllowanceCharge, Invoice, InvoiceLine, SourcePosition } from '../model/invoice.js';
import { itemsAt, splitPath, whereMissing } from '../readers/path.js';
import type { ReadContext, SourceRecord } from '../readers/record.js';
import { assembleAllowanceCharge, assembleInvoice, assembleLine, type FieldValues, type MasterData } from './assemble.js';
import type { CompiledField, CompiledMapping } from './compile.js';
import { didYouMean } from '../config/suggest.js';
import { ValueProblem } from './value.js';
import { UNWRITABLE_NUMBER, unwritableNumberMessage } from '../model/rules.js';

/** The outcome for one group of records: a canonical invoice, or the reasons it could not be made. */
export type MappedGroup =
  { ok: true; key: string; source: SourcePosition; invoice: Invoice } | { ok: false; key: string; source: SourcePosition; errors: GatewayError[] };

function describePath(record: SourceRecord, path: string | undefined): string | undefined {
  if (!record.position.path) return path;
  return path ? `${record.position.path}/${path.replace(/\./g, '/')}` : record.position.path;
}

/** Reads the compiled fields from one record; problems become MappingErrors at the record's place. */
async function readFields(fields: CompiledField[], record: SourceRecord, ctx: ReadContext, errors: GatewayError[], prefix = ''): Promise<FieldValues> {
  const values: FieldValues = new Map();
  for (const { field, value } of fields) {
    try {
      let result = value.get(record);
      if (result instanceof Promise) result = await result;
      values.set(field, result);
    } catch (err) {
      if (!(err instanceof ValueProblem)) throw err;
      errors.push(
        new MappingError(err.message, {
          file: ctx.file,
          attachment: ctx.attachment,
          line: record.position.line,
          column: value.column,
          path: describePath(record, value.path),
          field: prefix + field,
        }),
      );
    }
  }
  return values;
}

/** Evaluates a mapping condition (skipWhen, when); a failure is a MappingError at the record's place. */
async function holds(
  condition: (r: SourceRecord) => Promise<boolean> | boolean,
  record: SourceRecord,
  ctx: ReadContext,
  errors: GatewayError[],
  field: string,
): Promise<boolean> {
  try {
    return await condition(record);
  } catch (err) {
    if (!(err instanceof ValueProblem)) throw err;
    errors.push(new MappingError(err.message, { file: ctx.file, attachment: ctx.attachment, line: record.position.line, path: record.position.path, field }));
    return false;
  }
}

/** A group of records that forms one invoice: the record with invoice data and the line records. */
interface RecordGroup {
  key: string;
  /** true when the key is only the record's position in the file */
  counted?: boolean;
  header: SourceRecord;
  lines: SourceRecord[];
}

/** Maps one group into a canonical invoice. */
async function mapGroup(group: RecordGroup, mapping: CompiledMapping, master: MasterData, ctx: ReadContext): Promise<MappedGroup> {
  const errors: GatewayError[] = [];
  const def = mapping.definition;
  const invoiceValues = await readFields(mapping.invoiceFields, group.header, ctx, errors);
  const lineRecords = def.group?.lines
    ? itemsAt(group.header.values, splitPath(def.group.lines)).map((values, i) => ({
        values: (typeof values === 'object' && values !== null ? values : { '#text': values }) as Record<string, unknown>,
        position: { ...group.header.position, path: `${group.header.position.path ?? ''}/${splitPath(def.group!.lines!).join('/')}[${i + 1}]` },
        parent: group.header,
      }))
    : group.lines;
  // the rows of a grouped file see their first row (the order's) as $record; a reader's record is kept as it is
  if (!def.group?.lines) for (const record of lineRecords) record.parent = group.header;
  if (def.group?.lines && !lineRecords.length) {
    // a lines path that is not in the record: say where it leaves it and what is there instead
    const gone = whereMissing(group.header.values, splitPath(def.group.lines), 'record');
    if (gone)
      errors.push(
        new MappingError(`group.lines: ${gone}`, {
          file: ctx.file,
          attachment: ctx.attachment,
          line: group.header.position.line,
          path: group.header.position.path,
          field: 'group.lines',
        }),
      );
  }
  const lines: InvoiceLine[] = [];
  for (const record of lineRecords) {
    if (mapping.skipLine && (await holds(mapping.skipLine, record, ctx, errors, 'line.skipWhen'))) continue;
    const values = await readFields(mapping.lineFields, record, ctx, errors, `lines[${lines.length}].`);
    lines.push(assembleLine(values, lines.length, def, record.position));
  }
  const allowanceCharges: DocumentAllowanceCharge[] = [];
  for (const ac of mapping.allowanceCharges) {
    if (ac.when && !(await holds(ac.when, group.header, ctx, errors, `${ac.charge ? 'charges' : 'allowances'}.when`))) continue;
    const values = await readFields(ac.fields, group.header, ctx, errors, ac.charge ? 'charges.' : 'allowances.');
    if (errors.length) continue;
    const made = assembleAllowanceCharge(values, ac.charge, lines);
    if (made) allowanceCharges.push(made);
  }
  const source = group.header.position;
  // A record counted by position is better known by the number or order it carries.
  const key = group.counted
    ? (invoiceValues.get('number') ?? invoiceValues.get('salesOrderReference') ?? invoiceValues.get('orderReference') ?? group.key)
    : group.key;
  if (errors.length) {
    // the record's other problems are all reported at once, an unwritable invoice number among them
    const number = invoiceValues.get('number');
    if (typeof number === 'string' && UNWRITABLE_NUMBER.test(number)) {
      errors.push(
        new MappingError(unwritableNumberMessage(number), {
          file: ctx.file,
          attachment: ctx.attachment,
          line: source.line,
          path: source.path,
          field: 'number',
        }),
      );
    }
    return { ok: false, key, source, errors };
  }
  const { invoice, problems } = assembleInvoice(invoiceValues, lines, allowanceCharges, def, master, { file: ctx.file, sourceKey: key, source });
  for (const p of problems) {
    errors.push(new MappingError(p.message, { file: ctx.file, attachment: ctx.attachment, line: source.line, path: source.path, field: p.field }));
  }
  if (!invoice || errors.length) return { ok: false, key, source, errors };
  return { ok: true, key, source, invoice };
}

/** Checks, on the first record of a CSV file, that every column the mapping reads is in the header. */
function checkColumns(record: SourceRecord, mapping: CompiledMapping, ctx: ReadContext): void {
  if (mapping.definition.reader.format !== 'csv') return;
  const present = Object.keys(record.values);
  // every missing column at once: a renamed header usually renames more than one
  const missing = [...mapping.columns].filter((column) => !Object.prototype.hasOwnProperty.call(record.values, column));
  if (!missing.length) return;
  const named = missing.map((column: string) => `'${column}'${didYouMean(column, present)}`);
  const message =
    missing.length === 1
      ? `column '${missing[0]}' is not in the file${didYouMean(missing[0]!, present)}`
      : `${missing.length} columns are not in the file: ${named.join('; ')}`;
  throw new MappingError(`${message} (the header has: ${present.join(', ')})`, {
    file: ctx.file,
    attachment: ctx.attachment,
    line: 1,
    column: missing[0],
    field: `mapping ${mapping.name}`,
  });
}

function groupKey(record: SourceRecord, by: string[]): string {
  if (by.length === 1 && record.cell) {
    const v = record.cell(by[0]!);
    return typeof v === 'string' ? v.trim() : '';
  }
  return by
    .map((c) => {
      const v = record.cell ? record.cell(c) : record.values[c];
      return typeof v === 'string' ? v.trim() : v === undefined || v === null ? '' : String(v);
    })
    .join('|');
}

/**
 * Maps a stream of records into invoices, one group at a time, so memory stays bounded:
 * rows of one invoice must be consecutive (as exports write them); a key that comes back later is an error.
 */
export async function* mapRecords(
  records: AsyncIterable<SourceRecord>,
  mapping: CompiledMapping,
  master: MasterData,
  ctx: ReadContext,
): AsyncGenerator<MappedGroup> {
  const def = mapping.definition;
  const by = def.group?.by === undefined ? [] : [def.group.by].flat();
  const headerType = def.group?.headerType;
  const lineType = def.group?.lineType;
  const done = new Map<string, number | undefined>();
  let current: RecordGroup | undefined;
  let first = true;
  let count = 0;

  for await (const record of records) {
    if (first) {
      checkColumns(record, mapping, ctx);
      first = false;
    }
    if (headerType) {
      if (record.type === headerType) {
        if (current) yield await mapGroup(current, mapping, master, ctx);
        count++;
        current = { key: by.length ? groupKey(record, by) : `${count}`, counted: !by.length, header: record, lines: [] };
      } else if (record.type === lineType) {
        if (!current) {
          yield {
            ok: false,
            key: '',
            source: record.position,
            errors: [
              new MappingError(`a line record (type ${lineType}) comes before any header record (type ${headerType})`, {
                file: ctx.file,
                line: record.position.line,
              }),
            ],
          };
          continue;
        }
        current.lines.push(record);
      }
      continue;
    }
    if (!by.length) {
      count++;
      yield await mapGroup({ key: `${count}`, counted: true, header: record, lines: [record] }, mapping, master, ctx);
      continue;
    }
    const key = groupKey(record, by);
    if (key.replace(/\|/g, '') === '') {
      yield {
        ok: false,
        key: '',
        source: record.position,
        errors: [
          new MappingError(
            `the grouping column${by.length > 1 ? 's' : ''} ${by.map((c) => `'${c}'`).join(', ')} ${by.length > 1 ? 'are' : 'is'} empty, so this row belongs to no invoice`,
            { file: ctx.file, attachment: ctx.attachment, line: record.position.line, path: record.position.path, column: by[0] },
          ),
        ],
      };
      continue;
    }
    if (current && current.key === key) {
      current.lines.push(record);
      continue;
    }
    if (current) {
      done.set(current.key, current.header.position.line);
      yield await mapGroup(current, mapping, master, ctx);
    }
    if (done.has(key)) {
      const firstLine = done.get(key);
      yield {
        ok: false,
        key,
        source: record.position,
        errors: [
          new MappingError(
            `rows of invoice '${key}' are not together: it appeared before${firstLine ? ` at line ${firstLine}` : ''}; rows of one invoice must follow each other`,
            { file: ctx.file, attachment: ctx.attachment, line: record.position.line, column: by[0] },
          ),
        ],
      };
      current = undefined;
      continue;
    }
    current = { key, header: record, lines: [record] };
  }
  if (current) yield await mapGroup(current, mapping, master, ctx);
}
