import { basename } from 'node:path';
import type { CalculatedInvoice } from '../model/invoice.js';
import { renderErrorReport } from '../report/error-report.js';
import { Issuer } from '../service/issuing.js';
import { createLogger } from '../observability/log.js';
import { summariseInvoice, tryFile } from '../service/try-file.js';
import { UblGate } from '../validation/gate.js';
import { loadCommandConfig, type CommonOptions } from './options.js';

/** What an e-invoice source was read as: "UBL 2.1", "UN/CEFACT CII (factur-x.xml in invoice.pdf)"; undefined for other sources. */
export function eInvoiceSyntax(invoice: CalculatedInvoice | undefined): string | undefined {
  const form = invoice?.meta.form;
  if (!form) return undefined;
  const name = form.syntax === 'cii' ? 'UN/CEFACT CII' : 'UBL 2.1';
  const inside = invoice.meta.source.attachment;
  return inside ? `${name} (${inside})` : name;
}

/**
 * `invoice-gateway dry-run <file>`: the invoices in a file, their totals and routes, without
 * storing or sending anything. It runs the service's own issuing checks (UBL validation included),
 * so its verdict is the service's verdict.
 */
export async function dryRunCommand(file: string, opts: CommonOptions & { mapping?: string; folder?: string; summary?: boolean }): Promise<number> {
  const config = loadCommandConfig(opts);
  const gate = new UblGate(createLogger({ console: false }));
  const result = await tryFile(file, config, new Issuer(config, gate), {
    ...(opts.mapping ? { mapping: opts.mapping } : {}),
    ...(opts.folder ? { folder: opts.folder } : {}),
  }).finally(() => gate.close());
  const held = { held: 'deferred: checked against the official rules again when it is issued' };
  const readAs = eInvoiceSyntax(result.accepted[0]?.invoice ?? undefined);
  const output = {
    file: basename(file),
    mapping: result.mapping ?? null,
    ...(readAs ? { readAs } : {}),
    invoices: result.accepted.map((a) => ({
      ...(opts.summary ? summariseInvoice(a.invoice, a.deliveries) : { ...a.invoice, deliveries: a.deliveries }),
      ...(a.held ? held : {}),
    })),
    rejected: result.rejected.map((r) => ({ key: r.key, errors: r.errors.map((e) => e.toJSON()) })),
  };
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  if (result.rejected.length) {
    process.stderr.write(renderErrorReport(basename(file), result.rejected, { accepted: result.accepted.length, dryRun: true }));
    return 1;
  }
  process.stderr.write(
    `${result.accepted.length} invoice(s) in ${basename(file)}, mapping ${result.mapping ?? '?'}${readAs ? ` (read as ${readAs})` : ''}: all accepted\n`,
  );
  return 0;
}
