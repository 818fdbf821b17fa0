import { constants, createReadStream } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import type { GatewayConfig } from '../config/load.js';
import { GatewayError, RuleError } from '../errors.js';
import { mapRecords } from '../mapping/mapper.js';
import { mapUblFile } from '../mapping/ubl-source.js';
import { selectMapping } from '../mapping/select.js';
import type { CalculatedInvoice, SourcePosition } from '../model/invoice.js';
import { checkInvoice } from '../model/rules.js';
import { readEmlAttachments } from '../readers/eml.js';
import { readRecords, type ReaderInput } from '../readers/index.js';
import { routeInvoice, type Delivery } from '../routing/route.js';

/** One invoice taken from a file: ready to number and deliver, or rejected with its reasons. */
export type PreparedInvoice =
  | { ok: true; key: string; mapping: string; attachment?: string; invoice: CalculatedInvoice; deliveries: Delivery[] }
  | { ok: false; key: string; mapping?: string; attachment?: string; source: SourcePosition; errors: GatewayError[] };

/** How to open a file for preparation. */
export interface PrepareOptions {
  /** inbox folder the file was dropped in (selects the mapping with match.folder) */
  folder?: string;
  /** force a mapping by name */
  mapping?: string;
  /** name shown in reports (defaults to the file's base name) */
  displayName?: string;
}

/** A link swapped in for the file is not followed (the claim checked the file itself: see openDropped). */
// (fs.open takes numeric flags; @types/node types the stream option as a string only)
const NO_LINKS = (constants.O_RDONLY | constants.O_NOFOLLOW) as unknown as string;

/** The documents inside a file: the file itself, or each attachment of an e-mail. */
async function* documents(path: string, displayName: string): AsyncGenerator<{ input: ReaderInput | (() => ReaderInput); name: string; attachment?: string }> {
  if (extname(path).toLowerCase() === '.eml') {
    for (const a of await readEmlAttachments(createReadStream(path, { flags: NO_LINKS }), { file: displayName }))
      yield { input: a.content, name: a.name, attachment: a.name };
  } else {
    yield { input: () => createReadStream(path, { flags: NO_LINKS }), name: path };
  }
}

/**
 * Reads, maps, checks and routes every invoice in a file, streaming.
 * Per-invoice problems are yielded as rejected items; a problem with the file as a whole is thrown.
 */
export async function* prepareFile(path: string, config: GatewayConfig, options: PrepareOptions = {}): AsyncGenerator<PreparedInvoice> {
  const displayName = options.displayName ?? basename(path);
  for await (const doc of documents(path, displayName)) {
    // an attachment belongs to the source (inbox folder) of the mail that carried it
    const folder = options.folder ?? basename(dirname(path));
    const mapping = selectMapping(config.mappings, doc.name, { folder, mapping: doc.attachment ? undefined : options.mapping });
    const ctx = { file: displayName, ...(doc.attachment ? { attachment: doc.attachment } : {}) };
    const input = typeof doc.input === 'function' ? doc.input() : doc.input;
    const master = { sellers: config.sellers.sellers, customers: config.customers };
    const groups =
      mapping.definition.reader.format === 'ubl'
        ? mapUblFile(input, mapping, master, ctx)
        : mapRecords(readRecords(input, mapping.definition.reader, ctx), mapping, master, ctx);
    const tag = { mapping: mapping.name, ...(doc.attachment ? { attachment: doc.attachment } : {}) };
    for await (const group of groups) {
      if (!group.ok) {
        yield { ...tag, ok: false, key: group.key, source: group.source, errors: group.errors };
        continue;
      }
      const { invoice, violations } = checkInvoice(group.invoice);
      if (violations.length) {
        yield {
          ...tag,
          ok: false,
          key: group.key,
          source: group.source,
          errors: violations.map(
            (v) =>
              new RuleError(
                v.message,
                {
                  file: displayName,
                  attachment: doc.attachment,
                  line: v.source?.line,
                  path: v.source?.path,
                  field: v.field,
                },
                v.rule,
              ),
          ),
        };
        continue;
      }
      try {
        yield { ...tag, ok: true, key: group.key, invoice, deliveries: routeInvoice(invoice, config.customers) };
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        yield { ...tag, ok: false, key: group.key, source: group.source, errors: [err] };
      }
    }
  }
}
