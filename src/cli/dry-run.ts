import { basename } from 'node:path';
import { renderErrorReport } from '../report/error-report.js';
import { Issuer } from '../service/issuing.js';
import { createLogger } from '../observability/log.js';
import { summariseInvoice, tryFile } from '../service/try-file.js';
import { UblGate } from '../validation/gate.js';
import { loadCommandConfig, type CommonOptions } from './options.js';

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
  const output = {
    file: basename(file),
    mapping: result.mapping ?? null,
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
  process.stderr.write(`${result.accepted.length} invoice(s) in ${basename(file)}, mapping ${result.mapping ?? '?'}: all accepted\n`);
  return 0;
}
