import { strict as assert } from 'node:assert';
import { RoutingError } from '../src/errors.js';
import type { Invoice } from '../src/model/invoice.js';
import { routeInvoice, routesOf } from '../src/routing/route.js';
import { shippedConfig } from './helpers/config.js';

function invoiceFor(customerKey: string | undefined, kind: Invoice['kind'] = 'invoice', email?: string): Invoice {
  return {
    kind,
    issueDate: '2026-11-30',
    typeCode: '380',
    currency: 'EUR',
    lines: [],
    seller: { name: 'S' },
    buyer: { name: 'B', ...(email ? { contact: { email } } : {}) },
    meta: { sellerKey: 'devries', sourceFile: 'f.csv', sourceKey: '1', source: { line: 2 }, ...(customerKey ? { customerKey } : {}) },
  };
}

describe('routing', () => {
  const customers = shippedConfig().customers;
  it("takes the customer's own routes, with targets resolved", () => {
    const d = routeInvoice(invoiceFor('10001'), customers);
    assert.deepEqual(
      d.map((x) => `${x.format}/${x.transport}/${x.target}`),
      ['pdf/email/administratie@bakkerijjansen.nl', 'ubl/sftp/jansen-sftp', 'exact-online/folder/devries'],
    );
    assert.equal(d[1]!.options.profile, 'peppol');
  });
  it('sends unknown customers the default way, to the e-mail from the file', () => {
    const d = routeInvoice(invoiceFor('55555', 'invoice', 'x@example.nl'), customers);
    assert.deepEqual(
      d.map((x) => `${x.format}/${x.transport}/${x.target}`),
      ['pdf/email/x@example.nl'],
    );
    assert.match(d[0]!.reason, /not in customers.yaml/);
  });
  it("a known customer without routes of its own takes the defaults; the console's configuration page shows them as such (routesOf)", () => {
    const plain = { ...customers, customers: { ...customers.customers, '77777': { party: { name: 'Zonder Routes B.V.' }, email: 'a@b.nl' } } };
    assert.deepEqual(routesOf(plain.customers['77777']!, plain), customers.defaults?.routes);
    assert.deepEqual(routesOf(customers.customers!['10001']!, customers), customers.customers!['10001']!.routes);
    const d = routeInvoice(invoiceFor('77777'), plain);
    assert.match(d[0]!.reason, /default routes \(customer 77777 has none of its own\)/);
  });
  it('rejects unknown customers when configured to', () => {
    assert.throws(() => routeInvoice(invoiceFor('55555'), { ...customers, unknownCustomers: 'reject' }), RoutingError);
  });
  it('fails clearly when an e-mail route has no address', () => {
    assert.throws(() => routeInvoice(invoiceFor('55555'), customers), /has no address/);
  });
  it('never routes a quotation to UBL or accounting', () => {
    const d = routeInvoice(invoiceFor('10001', 'quote'), customers);
    assert.deepEqual(
      d.map((x) => x.format),
      ['pdf'],
    );
  });
});
