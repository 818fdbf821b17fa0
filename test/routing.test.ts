import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { RoutingError } from '../src/errors.js';
import type { Invoice } from '../src/model/invoice.js';
import { routeInvoice } from '../src/routing/route.js';
import { CLI, ROOT, SAMPLES } from './helpers/paths.js';
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

describe('dry-run command', () => {
  it('prints canonical JSON with totals and routes, exit code 0', () => {
    const r = spawnSync(process.execPath, [CLI, 'dry-run', join(SAMPLES, 'access', 'orders_20261130.csv')], { cwd: ROOT, encoding: 'utf-8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { mapping: string; invoices: { totals: { payableAmount: string }; deliveries: unknown[] }[] };
    assert.equal(out.mapping, 'access-orders');
    assert.deepEqual(
      out.invoices.map((i) => i.totals.payableAmount),
      ['2014.97', '36.09', '138.47'],
    );
    assert.equal(out.invoices[0]!.deliveries.length, 3);
  });
  it('exits 1 with the error report on stderr when the file is rejected', () => {
    const r = spawnSync(process.execPath, [CLI, 'dry-run', join(ROOT, 'test', 'fixtures', 'bad', 'access', 'orders_bad.csv')], {
      cwd: ROOT,
      encoding: 'utf-8',
    });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /Invoice 50002 \(mapping access-orders\):\n {2}- line 3, column 'Prijs excl.', field lines\[0\].netPrice: not a number: "12.50" \(it has a decimal point/,
    );
  });
});
