import type { CalculatedInvoice } from '../model/invoice.js';
import type { Delivery } from '../routing/route.js';
import { documentKindOf, receiverOf } from '../transports/peppol.js';
import type { PeppolDirectory } from './lookup.js';

/**
 * "Peppol first, else e-mail": a Peppol route with a fallback asks the network before the invoice
 * takes a number; when the buyer cannot receive this document type over Peppol, the invoice goes by
 * the fallback route instead, and the receipt says why. A lookup that fails for the environment
 * (DNS or SMP out of reach, a bad signature) is thrown: the file waits, nobody is blamed.
 */
export async function choosePeppolRoutes(invoice: CalculatedInvoice, deliveries: Delivery[], directory: () => PeppolDirectory): Promise<Delivery[]> {
  const chosen: Delivery[] = [];
  for (const d of deliveries) {
    const fallback = d.options.fallback;
    if (d.transport !== 'peppol' || !fallback) {
      chosen.push(d);
      continue;
    }
    const receiver = receiverOf(invoice, d.options.participant);
    const found = receiver ? await directory().lookup(receiver, documentKindOf(invoice)) : undefined;
    if (found?.answer === 'yes') {
      chosen.push({ ...d, note: `over Peppol: ${found.reason}` });
      continue;
    }
    const { format, transport, target, ...options } = fallback;
    chosen.push({
      routeId: `${d.routeId}-fallback`,
      format,
      transport,
      target: target!,
      options: { ...options, language: options.language ?? d.options.language },
      reason: d.reason,
      note: `by ${format} over ${transport} instead of Peppol: ${found?.reason ?? 'the buyer has no Peppol id (BT-49)'}`,
    });
  }
  return chosen;
}
