import { basename, dirname } from 'node:path';
import { failureKind, GatewayError } from '../errors.js';
import { renderErrorReport, type RejectedItem } from '../report/error-report.js';
import { Issuer } from '../service/issuing.js';
import { createLogger } from '../service/log.js';
import { prepareFile } from '../service/prepare.js';
import { UblGate } from '../validation/gate.js';
import { loadCommandConfig, type CommonOptions } from './options.js';

/**
 * `invoice-gateway dry-run <file>`: the invoices in a file, their totals and routes, without
 * storing or sending anything. It runs the service's own issuing checks (UBL validation included),
 * so its verdict is the service's verdict.
 */
export async function dryRunCommand(file: string, opts: CommonOptions & { mapping?: string; folder?: string; summary?: boolean }): Promise<number> {
  const config = loadCommandConfig(opts);
  const invoices: unknown[] = [];
  const rejected: RejectedItem[] = [];
  let mappingName: string | undefined;
  const gate = new UblGate(createLogger({ console: false }));
  const issuer = new Issuer(config, gate);
  try {
    for await (const prepared of prepareFile(file, config, { mapping: opts.mapping, folder: opts.folder ?? basename(dirname(file)) })) {
      const item = await issuer.check(prepared);
      mappingName ??= item.mapping;
      if (item.ok) {
        const held = issuer.holdOf(item) ? { held: 'deferred: checked against the official rules again when it is issued' } : {};
        invoices.push(
          opts.summary ? { ...(summarise(item.invoice, item.deliveries) as object), ...held } : { ...item.invoice, deliveries: item.deliveries, ...held },
        );
      } else rejected.push(item);
    }
  } catch (err) {
    if (!(err instanceof GatewayError) || failureKind(err) !== 'input') throw err;
    rejected.push({ key: '', errors: [err] });
  } finally {
    await gate.close();
  }
  const output = {
    file: basename(file),
    mapping: mappingName ?? null,
    invoices,
    rejected: rejected.map((r) => ({ key: r.key, errors: r.errors.map((e) => e.toJSON()) })),
  };
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  if (rejected.length) {
    process.stderr.write(renderErrorReport(basename(file), rejected, { accepted: invoices.length, dryRun: true }));
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
