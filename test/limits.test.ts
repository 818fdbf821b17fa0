import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { RoutingError } from '../src/errors.js';
import { DEFAULT_LIMITS } from '../src/model/limits.js';
import { routeInvoice } from '../src/routing/route.js';
import { Issuer } from '../src/service/issuing.js';
import { prepareFile } from '../src/service/prepare.js';
import { ROOT, tempDir } from './helpers/paths.js';
import { membersCsv } from './helpers/service.js';

const config = () => loadConfig({ configDir: join(ROOT, 'config'), mappingsDir: join(ROOT, 'mappings') });

/** The verdicts of the issuing step on a file, without storing anything. */
async function verdicts(path: string, folder: string) {
  const issuer = new Issuer(config(), undefined);
  const out = [];
  for await (const item of prepareFile(path, config(), { folder })) out.push(await issuer.check(item));
  return out;
}

describe('plausibility limits and lookups (before an invoice takes a number)', () => {
  it('refuses oversized values and far-off issue dates before numbering, and quotes bad values shortened', async () => {
    const dir = tempDir();
    const rows = membersCsv(3).split('\n');
    rows[1] = rows[1]!.replace('Lid 5001', `Lid ${'x'.repeat(50_000)}`);
    rows[2] = rows[2]!.replace(/02-01-2027$/, '02-01-9999');
    rows[3] = rows[3]!.replace(';215,00;', `;${'9'.repeat(200_000)}x;`);
    const path = join(dir, 'contributie_big.csv');
    writeFileSync(path, rows.join('\n'));
    const [big, future, badPrice] = await verdicts(path, 'members');
    assert.ok(big && !big.ok && future && !future.ok && badPrice && !badPrice.ok);
    assert.match(
      big.errors.map((e) => `${e.code} ${e.describe()}`).join('\n'),
      /GW-LIMIT-LENGTH .*field buyer\.name: buyer\.name is 50,0\d\d characters long; at most 1,000 are accepted/,
    );
    assert.match(future.errors.map((e) => `${e.code} ${e.describe()}`).join('\n'), /GW-LIMIT-DATE .*issueDate 9999-01-02 is \d+ days in the future/);
    const message = badPrice.errors[0]!.describe();
    assert.ok(message.length < 400, `the bad value is shortened in the report: ${message.length} characters`);
    assert.match(message, /\(200,001 characters\)/);
    assert.equal(DEFAULT_LIMITS.maxTextLength, 1000);
  });
  it('customer keys like constructor, __proto__ and toString are unknown customers', () => {
    const cfg = config();
    const customers = { ...cfg.customers, unknownCustomers: 'reject' as const };
    for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const invoice = { kind: 'invoice', buyer: { name: 'x' }, meta: { customerKey: key, sourceFile: 'f.csv', source: { line: 2 } } };
      assert.throws(
        () => routeInvoice(invoice as never, customers),
        (e: unknown) => e instanceof RoutingError && /is not in config\/customers.yaml/.test(e.message),
        key,
      );
    }
  });
});

describe('small correctness points seen on real files', () => {
  it('Dutch amounts below zero print "€ -9,00"; English ones "-€9.00"', async () => {
    const { formatMoney } = await import('../src/model/display.js');
    assert.equal(formatMoney('-9.00', 'EUR', 'nl'), '€ -9,00');
    assert.equal(formatMoney('-9.00', 'EUR', 'en'), '-€9.00');
  });

  it('a description with a line break: no raw CR in UBL, a space in one-line fields', async () => {
    const { writeUbl } = await import('../src/formats/ubl/write.js');
    const { lineBreaks } = await import('../src/formats/text.js');
    const [item] = await verdicts(join(ROOT, 'inbox-sample', 'access', 'orders_20261130.csv'), 'access');
    assert.ok(item?.ok);
    item.invoice.lines[0]!.itemName = 'Koffie\r\nextra sterk';
    const xml = writeUbl({ ...item.invoice, number: 'T-1' }, { profile: 'peppol' }).toString();
    assert.ok(!xml.includes('\r'), 'no raw CR in the XML');
    assert.match(xml, /Koffie\nextra sterk/);
    assert.equal(lineBreaks('a\r\n b\rc', ' '), 'a b c');
  });

  it('the error report counts the rejected invoices it was given, even when the list is cut short', async () => {
    const { renderErrorReport } = await import('../src/report/error-report.js');
    const text = renderErrorReport('f.csv', [{ key: '1', errors: [] }], { accepted: 2, rejectedCount: 1500 });
    assert.match(text, /Invoices accepted: 2; rejected: 1500/);
  });
});
