import { EnvironmentError } from '../errors.js';
import { PeppolDirectory, type PeppolLookup } from '../peppol/lookup.js';
import type { PeppolDocumentKind } from '../peppol/identifiers.js';
import { openCommandLedger } from './ledger-commands.js';
import { loadCommandConfig, type CommonOptions } from './options.js';

function human(r: PeppolLookup & { cached: boolean }): string {
  const lines = [
    `${r.participant} (${r.document}): ${r.answer === 'yes' ? 'CAN RECEIVE' : r.answer === 'not-registered' ? 'NOT ON PEPPOL' : 'NOT FOR THIS DOCUMENT TYPE'}`,
    `  ${r.reason}`,
  ];
  if (r.smp) lines.push(`  SMP: ${r.smp}`);
  if (r.signature) lines.push(`  signature: ${r.signature.ok ? `valid, signed by ${r.signature.signer}` : r.signature.detail}`);
  if (r.endpoint) lines.push(`  endpoint: ${r.endpoint.address} (${r.endpoint.transportProfile})`);
  lines.push(`  checked ${r.checkedAt}${r.cached ? ' (kept in the ledger)' : ''}`);
  return lines.join('\n');
}

/** `invoice-gateway peppol lookup <scheme:id>`: can this participant receive our invoices over Peppol, and where. */
export async function peppolLookupCommand(
  participant: string,
  opts: CommonOptions & { document?: PeppolDocumentKind; json?: boolean; demo?: boolean },
): Promise<number> {
  const config = loadCommandConfig(opts);
  // the answer is kept in the ledger when there is one; a fresh installation asks the network each time
  const opened = await openCommandLedger(opts).catch((err: unknown) => {
    if (err instanceof EnvironmentError) return undefined;
    throw err;
  });
  try {
    const directory = new PeppolDirectory(config.service.peppol, opened?.ledger);
    const answer = await directory.lookup(participant, opts.document ?? 'invoice');
    process.stdout.write(opts.json ? `${JSON.stringify(answer, null, 2)}\n` : `${human(answer)}\n`);
    return answer.answer === 'yes' ? 0 : 1;
  } finally {
    await opened?.close();
  }
}
