import { basename, dirname } from 'node:path';
import { GatewayError } from '../errors.js';
import { renderErrorReport, type RejectedItem } from '../report/error-report.js';
import { prepareFile } from '../service/prepare.js';
import { loadCommandConfig, type CommonOptions } from './options.js';

/** `invoice-gateway dry-run <file>`: the invoices in a file, their totals and routes, without sending anything. */
export async function dryRunCommand(file: string, opts: CommonOptions & { mapping?: string; folder?: string; summary?: boolean }): Promise<number> {
  const config = loadCommandConfig(opts);
  const invoices: unknown[] = [];
  const rejected: RejectedItem[] = [];
  let mappingName: string | undefined;
  try {
    for await (const item of prepareFile(file, config, { mapping: opts.mapping, folder: opts.folder ?? basename(dirname(file)) })) {
      mappingName ??= item.mapping;
      if (item.ok) invoices.push(opts.summary ? summarise(item.invoice, item.deliveries) : { ...item.invoice, deliveries: item.deliveries });
      else rejected.push(item);
    }
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    rejected.push({ key: '', errors: [err] });
  }
  const output = { file: basename(file), mapping: mappingName ?? null, invoices, rejected: rejected.map((r) => ({ key: r.key, errors: r.errors.map((e) => e.toJSON()) })) };
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  if (rejected.length) {
    process.stderr.write(renderErrorReport(basename(file), rejected, { accepted: invoices.length }));
    return 1;
  }
  process.stderr.write(`${invoices.length} invoice(s) in ${basename(file)}, mapping ${mappingName ?? '?'}: all accepted\n`);
  return 0;
}

function summarise(invoice: import('../model/invoice.js').CalculatedInvoice, deliveries: import('../routing/route.js').Delivery[]): unknown {
  return {
    key: invoice.meta.sourceKey,
    number: invoice.number ?? null,
    buyer: invoice.buyer.name,
    issueDate: invoice.issueDate,
    lines: invoice.lines.length,
    totals: invoice.totals,
    routes: deliveries.map((d) => `${d.format} → ${d.transport}:${d.target}`),
  };
}

