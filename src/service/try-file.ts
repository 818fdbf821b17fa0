import { basename, dirname } from 'node:path';
import type { GatewayConfig } from '../config/load.js';
import { failureKind, GatewayError } from '../errors.js';
import type { CalculatedInvoice } from '../model/invoice.js';
import type { RejectedItem } from '../report/error-report.js';
import { routeLabel, type Delivery } from '../routing/route.js';
import type { Issuer } from './issuing.js';
import { prepareFile } from './prepare.js';

/** One invoice a dry run accepted, with its routes and whether it would be held back. */
export interface TriedInvoice {
  invoice: CalculatedInvoice;
  deliveries: Delivery[];
  held: boolean;
}

/** What a dry run of one file found: the mapping that read it, the invoices it accepted and those it rejected. */
export interface TryResult {
  file: string;
  mapping?: string;
  accepted: TriedInvoice[];
  rejected: RejectedItem[];
}

/**
 * Runs a file through the service's own issuing checks (UBL validation included) without storing
 * or sending anything: what `dry-run` prints and what the console's "try a file" shows.
 */
export async function tryFile(
  path: string,
  config: GatewayConfig,
  issuer: Issuer,
  options: { mapping?: string; folder?: string; name?: string } = {},
): Promise<TryResult> {
  const result: TryResult = { file: options.name ?? basename(path), accepted: [], rejected: [] };
  try {
    for await (const prepared of prepareFile(path, config, { mapping: options.mapping, folder: options.folder ?? basename(dirname(path)) })) {
      const item = await issuer.check(prepared);
      result.mapping ??= item.mapping;
      if (item.ok) result.accepted.push({ invoice: item.invoice, deliveries: item.deliveries, held: issuer.holdOf(item) !== undefined });
      else result.rejected.push(item);
    }
  } catch (err) {
    if (!(err instanceof GatewayError) || failureKind(err) !== 'input') throw err;
    result.rejected.push({ key: '', errors: [err] });
  }
  return result;
}

/** The short form of an accepted invoice: key, number, buyer, date, lines, totals and routes. */
export function summariseInvoice(invoice: CalculatedInvoice, deliveries: Delivery[]): Record<string, unknown> {
  return {
    key: invoice.meta.sourceKey,
    number: invoice.number ?? null,
    buyer: invoice.buyer.name,
    issueDate: invoice.issueDate,
    lines: invoice.lines.length,
    totals: invoice.totals,
    routes: deliveries.map(routeLabel),
  };
}
