import type { CustomerConfig, CustomersConfig, RouteConfig } from '../config/types.js';
import { RoutingError } from '../errors.js';
import { isBatchedFormat } from '../formats/batched.js';
import { carriedEInvoice } from '../formats/carried-xml.js';
import type { Invoice } from '../model/invoice.js';
import { own } from '../util/own.js';

/** One planned delivery of an invoice: a format over a transport to a target, with its options. */
export interface Delivery {
  /** stable id within the invoice: "<format>-<transport>-<n>" */
  routeId: string;
  format: RouteConfig['format'];
  transport: RouteConfig['transport'];
  /** e-mail address, or the name of a target in gateway.yaml */
  target: string;
  options: Omit<RouteConfig, 'format' | 'transport' | 'target'>;
  /** why this route was chosen: the customer's own, or the default */
  reason: string;
  /** what the receipt adds (why a Peppol route went by its fallback) */
  note?: string;
}

/** Decides where an invoice goes: its customer's routes, or the defaults; a quote never goes to accounting or as UBL. */
export function routeInvoice(invoice: Invoice, customers: CustomersConfig): Delivery[] {
  const key = invoice.meta.customerKey;
  const customer = key !== undefined ? own(customers.customers, key) : undefined;
  const where = { file: invoice.meta.sourceFile, line: invoice.meta.source.line, path: invoice.meta.source.path, field: 'customer' };
  let routes: RouteConfig[] | undefined;
  let reason: string;
  if (customer) {
    routes = routesOf(customer, customers);
    reason = customer.routes?.length ? `routes of customer ${key}` : `default routes (customer ${key} has none of its own)`;
  } else {
    if (customers.unknownCustomers === 'reject') {
      throw new RoutingError(`customer '${key ?? '(none)'}' is not in config/customers.yaml and unknownCustomers is 'reject'`, where);
    }
    routes = customers.defaults?.routes;
    reason = key === undefined ? 'default routes (the invoice names no customer)' : `default routes (customer ${key} is not in customers.yaml)`;
  }
  if (!routes?.length) throw new RoutingError('no routes: neither the customer nor defaults.routes in config/customers.yaml give one', where);
  const email = invoice.buyer.contact?.email ?? customer?.email;
  const deliveries: Delivery[] = [];
  routes.forEach((route, i) => {
    // a quotation is no invoice: it never goes out as an e-invoice or into the books
    if (
      invoice.kind === 'quote' &&
      ((route.format !== 'pdf' && carriedEInvoice({ format: route.format, options: {} }, { kind: 'invoice' })) || isBatchedFormat(route.format))
    )
      return;
    const { format, transport, target, ...options } = route;
    let resolved = target;
    if (transport === 'email') resolved = target ?? email;
    if (isBatchedFormat(format)) {
      // an accounting route names its administration; its target, if any, is where the batch file goes
      resolved = options.administration ?? target ?? 'default';
      if (options.administration && target) options.via = target;
    }
    if (transport === 'peppol' && options.fallback) {
      // the fallback is planned now, so that choosing it later needs nothing the invoice does not carry
      const fallbackTarget = options.fallback.target ?? (options.fallback.transport === 'email' ? email : undefined);
      if (!fallbackTarget)
        throw new RoutingError(
          `route ${i + 1} (Peppol, else ${options.fallback.format} by ${options.fallback.transport}) has no target for its fallback: give the customer an email or set fallback.target`,
          {
            ...where,
            field: 'routes.fallback.target',
          },
        );
      options.fallback = { ...options.fallback, target: fallbackTarget };
    }
    if (!resolved) {
      throw new RoutingError(
        transport === 'email'
          ? `route ${i + 1} (${format} by e-mail) has no address: give the customer an email in customers.yaml, map buyer.email, or set the route's target`
          : `route ${i + 1} (${format} over ${transport}) needs a target`,
        { ...where, field: transport === 'email' ? 'buyer.email' : 'routes.target' },
      );
    }
    const language = options.language ?? (invoice.meta.language === 'en' ? 'en' : 'nl');
    deliveries.push({ routeId: `${format}-${transport}-${i + 1}`, format, transport, target: resolved, options: { ...options, language }, reason });
  });
  if (!deliveries.length) throw new RoutingError(`no route fits this ${invoice.kind}: quotations go by PDF only`, where);
  return deliveries;
}

/** The routes a known customer's invoices take: its own, or the defaults when it has none. */
export function routesOf(customer: CustomerConfig, customers: CustomersConfig): RouteConfig[] | undefined {
  return customer.routes?.length ? customer.routes : customers.defaults?.routes;
}

/** Every route the customers file names: the defaults' and each customer's. */
export function configuredRoutes(customers: CustomersConfig): RouteConfig[] {
  return [...(customers.defaults?.routes ?? []), ...Object.values(customers.customers ?? {}).flatMap((c) => c.routes ?? [])];
}

/** A route as people read it: "pdf → email", "ubl → sftp:jansen-sftp", "exact-online → folder:devries". */
export function routeLabel(r: { format: string; transport: string; target?: string; administration?: string }): string {
  const where = r.target ?? r.administration;
  return `${r.format} → ${r.transport}${where ? `:${where}` : ''}`;
}
