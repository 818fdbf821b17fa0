import type { CustomersConfig, SellerConfig } from '../config/types.js';
import { MappingError, ReaderError } from '../errors.js';
import type { CalculatedInvoice, Party } from '../model/invoice.js';
import { readAll, type ReadContext, type ReaderInput } from '../readers/record.js';
import { readEInvoice } from '../readers/e-invoice.js';
import type { CompiledMapping } from './compile.js';
import type { MappedGroup } from './mapper.js';
import { own } from '../util/own.js';

function sameParty(a: Party, b: Party): boolean {
  const norm = (s?: string) => s?.replace(/\s/g, '').toUpperCase();
  return Boolean(
    (a.vatId && norm(a.vatId) === norm(b.vatId)) ||
    (a.legalId && b.legalId && a.legalId.id === b.legalId.id) ||
    (a.endpoint && b.endpoint && a.endpoint.id === b.endpoint.id && a.endpoint.scheme === b.endpoint.scheme),
  );
}

/**
 * An e-invoice dropped by a system that already writes one (UBL, CII, a Factur-X PDF): read whole, its seller and customer
 * recognised in the master data by VAT id, legal id or Peppol endpoint, its own number kept.
 */
export async function* mapUblFile(
  input: ReaderInput,
  mapping: CompiledMapping,
  master: { sellers: Record<string, SellerConfig>; customers: CustomersConfig },
  ctx: ReadContext,
): AsyncGenerator<MappedGroup> {
  const bytes = await readAll(input, 50 * 1024 * 1024, () => new ReaderError('UBL file larger than 50 MB', { file: ctx.file }));
  if (!bytes.length) throw new ReaderError('the file is empty', { file: ctx.file, attachment: ctx.attachment });
  const invoice: CalculatedInvoice = await readEInvoice(bytes, ctx);
  const source = invoice.meta.source;
  const sellerKey = Object.entries(master.sellers).find(([, s]) => sameParty(s, invoice.seller))?.[0] ?? mapping.definition.defaults?.seller;
  if (!sellerKey || !own(master.sellers, sellerKey)) {
    yield {
      ok: false,
      key: invoice.number ?? '',
      source,
      errors: [
        new MappingError(
          `the seller ${invoice.seller.name} (${invoice.seller.vatId ?? invoice.seller.legalId?.id ?? 'no id'}) is not in config/sellers.yaml; set defaults.seller in the mapping to accept it`,
          { file: ctx.file, path: 'AccountingSupplierParty', field: 'seller' },
        ),
      ],
    };
    return;
  }
  const customerKey = Object.entries(master.customers.customers ?? {}).find(([, c]) => sameParty(c.party, invoice.buyer))?.[0];
  invoice.meta = {
    ...invoice.meta,
    sellerKey,
    sourceKey: invoice.number ?? '',
    ...(customerKey ? { customerKey } : {}),
    language: (customerKey && own(master.customers.customers, customerKey)?.language) || 'nl',
  };
  yield { ok: true, key: invoice.number ?? '', source, invoice };
}
