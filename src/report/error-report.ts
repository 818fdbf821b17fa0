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
export function renderErrorReport(file: string, rejected: RejectedItem[], context: { accepted?: number; policy?: string } = {}): string {
  const lines: string[] = [];
  const total = rejected.reduce((n, r) => n + r.errors.length, 0);
  lines.push(`invoice-gateway could not process everything in ${file}`);
  if (context.accepted !== undefined) lines.push(`Invoices accepted: ${context.accepted}; rejected: ${rejected.filter((r) => r.key !== '').length}${rejected.some((r) => r.key === '') ? ' (and the file as a whole has errors)' : ''}`);
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
  lines.push('Invoices listed above were not numbered and not sent.');
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
