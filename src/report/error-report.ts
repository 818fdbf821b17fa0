import { formatLocation, GatewayError } from '../errors.js';

/** A rejected invoice (or the whole file) with the errors that caused it. */
export interface RejectedItem {
  /** the source's invoice or order key; empty for the file as a whole */
  key: string;
  mapping?: string;
  attachment?: string;
  errors: GatewayError[];
}

/** The error report for people: what failed, where in the file, which field, why, and what to do. */
export function renderErrorReport(
  file: string,
  rejected: RejectedItem[],
  context: { accepted?: number; rejectedCount?: number; policy?: string; dryRun?: boolean } = {},
): string {
  const lines: string[] = [];
  const total = rejected.reduce((n, r) => n + r.errors.length, 0);
  lines.push(`invoice-gateway could not process everything in ${file}`);
  const wholeFile = rejected.some((r) => r.key === '');
  // the count of rejected invoices, not of the entries listed (the list is cut at a limit)
  const invoicesRejected =
    context.rejectedCount !== undefined ? Math.max(0, context.rejectedCount - (wholeFile ? 1 : 0)) : rejected.filter((r) => r.key !== '').length;
  if (context.accepted !== undefined)
    lines.push(`Invoices accepted: ${context.accepted}; rejected: ${invoicesRejected}${wholeFile ? ' (and the file as a whole has errors)' : ''}`);
  if (context.policy) lines.push(context.policy);
  lines.push(`Problems: ${total}`, '');
  for (const item of rejected) {
    const head = item.key ? `Invoice ${item.key}` : 'The file';
    lines.push(`${head}${item.mapping ? ` (mapping ${item.mapping})` : ''}${item.attachment ? ` in attachment ${item.attachment}` : ''}:`);
    for (const err of item.errors) {
      const where = formatLocation({ ...err.location, file: undefined, attachment: undefined });
      const rule = /^(BR|GW|PEPPOL|UBL)-/.test(err.code) ? `[${err.code}] ` : '';
      lines.push(`  - ${rule}${where ? `${where}: ` : ''}${err.message}`);
    }
    lines.push('');
  }
  lines.push('What to do: correct the export in the source system (or the mapping in mappings/), then drop the corrected file into the inbox again.');
  if (context.dryRun) lines.push('This was a dry run: nothing was numbered, stored or sent.');
  else {
    lines.push('Invoices listed above were not numbered and not sent.');
    if (context.accepted) {
      lines.push(
        'Invoices of this file that were issued are recognised in the corrected file by their key and are not issued again (its receipt lists them as "issued before");',
      );
      lines.push('only the invoices listed above will be issued from it. The same file dropped again unchanged is a duplicate and issues nothing.');
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The same report as JSON for tools. */
export function errorReportJson(file: string, rejected: RejectedItem[], context: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    file,
    ...context,
    rejected: rejected.map((r) => ({
      key: r.key,
      ...(r.mapping ? { mapping: r.mapping } : {}),
      ...(r.attachment ? { attachment: r.attachment } : {}),
      errors: r.errors.map((e) => e.toJSON()),
    })),
  };
}
