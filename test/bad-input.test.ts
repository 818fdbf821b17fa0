import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import iconv from 'iconv-lite';
import { GatewayError } from '../src/errors.js';
import type { DeliveryRecord } from '../src/ledger/ledger.js';
import { documentBaseName } from '../src/service/outbox.js';
import { prepareAll, shippedConfig } from './helpers/config.js';
import { compileMapping } from '../src/mapping/compile.js';
import { loadYaml } from '../src/config/yaml-file.js';
import type { MappingDefinition } from '../src/mapping/definition.js';
import { ROOT, SAMPLES as SAMPLES_DIR, tempDir } from './helpers/paths.js';

const HEADER = 'Ordernr;Orderdatum;Debiteur;Referentie klant;Regel;Artikel;Omschrijving;Aantal;Eenheid;Prijs excl.;Korting %;BTW %';

/** Writes a file into an inbox folder named like the source, as the legacy software would. */
function drop(folder: string, name: string, content: string | Buffer): string {
  const dir = join(tempDir(), folder);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

function accessCsv(rows: string[]): Buffer {
  return iconv.encode(`${[HEADER, ...rows].join('\r\n')}\r\n`, 'windows-1252');
}

async function fileError(file: string): Promise<GatewayError> {
  try {
    await prepareAll(file);
  } catch (err) {
    assert.ok(err instanceof GatewayError, String(err));
    return err;
  }
  assert.fail('expected the file to be rejected');
}

describe('bad input: every rejection names file, place, field and reason', () => {
  it('an unparsable price: file, line, column, field, value', async () => {
    const file = drop('access', 'orders_1.csv', accessCsv(['1;28-11-2026;10001;;1;A;Pen;2;st;1,50;;21', '2;28-11-2026;10001;;1;A;Pen;2;st;abc;;21']));
    const items = await prepareAll(file);
    assert.equal(items.filter((i) => i.ok).length, 1, 'the good invoice still goes on');
    const bad = items.find((i) => !i.ok);
    assert.ok(bad && !bad.ok);
    const err = bad.errors[0]!;
    assert.equal(err.describe(), `orders_1.csv:3, column 'Prijs excl.', field lines[0].netPrice: not a number: "abc"`);
  });

  it('a date that does not exist (31-02-2026)', async () => {
    const file = drop('access', 'orders_2.csv', accessCsv(['1;31-02-2026;10001;;1;A;Pen;2;st;1,50;;21']));
    const [item] = await prepareAll(file);
    assert.ok(item && !item.ok);
    assert.match(item.errors[0]!.describe(), /orders_2.csv:2, column 'Orderdatum', field issueDate: date does not exist: "31-02-2026"/);
  });

  it('a missing column is named, with the near miss in the header', async () => {
    const file = drop(
      'access',
      'orders_3.csv',
      iconv.encode(`${HEADER.replace('Prijs excl.', 'Prijs ex')}\r\n1;28-11-2026;10001;;1;A;Pen;2;st;1,50;;21\r\n`, 'windows-1252'),
    );
    const err = await fileError(file);
    assert.match(err.describe(), /column 'Prijs excl\.' is not in the file, did you mean 'Prijs ex'\?/);
  });

  it('the wrong encoding: a Windows-1252 file read as UTF-8 names the line and the fix', async () => {
    const file = drop(
      'members',
      'contributie_x.csv',
      iconv.encode(
        'Lidnummer;Voorletters;Tussenvoegsel;Achternaam;Straat;Huisnummer;Postcode;Woonplaats;E-mail;Soort lid;Contributie;Seizoen;Factuurdatum\n1001;A.;;Çelik;Dorpsstraat;1;3811 AB;Amersfoort;a@example.nl;Senior;215,00;2027;02-01-2027\n',
        'windows-1252',
      ),
    );
    const err = await fileError(file);
    assert.match(
      err.describe(),
      /contributie_x.csv:2, field reader.encoding: the file is not valid UTF-8: byte 0xc7 at offset \d+.*reader.encoding: windows-1252/,
    );
  });

  it('an invoice number with characters no file name may hold is kept as it is; its files and mails get a safe name', async () => {
    const xml =
      '<Facturen><Factuur nummer="../../2026/x" soort="FACTUUR"><Datum>2026-11-27</Datum><Vervaldatum>2026-12-27</Vervaldatum><Debiteur code="10003"/><Regels><Regel nr="1"><Omschrijving>Pen</Omschrijving><Aantal eenheid="C62">1</Aantal><Prijs>1.00</Prijs><Btw code="HOOG" perc="21"/></Regel></Regels></Factuur></Facturen>';
    const [item] = await prepareAll(drop('erp', 'facturen_slash.xml', xml));
    if (!item?.ok) assert.fail(item?.errors.map((e) => e.describe()).join('\n'));
    assert.equal(item.invoice.number, '../../2026/x', 'the number as the source gave it (EN 16931 allows any text)');
    const name = documentBaseName({ invoiceNumber: item.invoice.number, idempotencyKey: `s.${item.invoice.number}.ubl-1` } as DeliveryRecord);
    assert.equal(name, '~2E.~2F..~2F2026~2Fx', 'one file name, in no other folder');
    assert.equal(basename(name), name);
  });

  it('a control character in an invoice number is reported together with the other errors of the record', async () => {
    const xml =
      '<Facturen><Factuur nummer="A\u00011" soort="FACTUUR"><Datum>2026-11-27</Datum><Vervaldatum>2026-12-27</Vervaldatum><Debiteur code="10003"/><Regels><Regel nr="1"><Omschrijving>Pen</Omschrijving><Aantal eenheid="C62">1</Aantal><Prijs>een</Prijs><Btw code="HOOG" perc="21"/></Regel></Regels></Factuur></Facturen>';
    const [item] = await prepareAll(drop('erp', 'facturen_bad2.xml', xml));
    assert.ok(item && !item.ok);
    const described = item.errors.map((e) => e.describe()).join('\n');
    assert.match(described, /not a number: "een"/);
    assert.match(described, /field number: invoice number .* holds a control character/);
  });

  it('every missing column is named, not only the first', async () => {
    const file = drop(
      'access',
      'orders_4.csv',
      iconv.encode(`${HEADER.replace('Prijs excl.', 'Prijs').replace('BTW %', 'BTW')}\r\n1;28-11-2026;10001;;1;A;Pen;2;st;1,50;;21\r\n`, 'windows-1252'),
    );
    const err = await fileError(file);
    assert.match(err.describe(), /2 columns are not in the file: 'Prijs excl\.'.*; 'BTW %'/);
  });

  it('XML with a DOCTYPE, truncated XML and an empty file are refused as a whole', async () => {
    const doctype = await fileError(drop('erp', 'facturen_a.xml', '<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "http://evil/x.dtd">\n<Facturen/>'));
    assert.match(doctype.describe(), /facturen_a.xml:2: XML with a <!DOCTYPE> declaration is refused/);
    const truncated = await fileError(drop('erp', 'facturen_b.xml', '<Facturen><Factuur nummer="1">\n<Datum>2026-11-27</Datum>\n<Regels><Regel'));
    assert.match(truncated.describe(), /facturen_b.xml:\d+:\d+: XML is not well-formed/);
    const empty = await fileError(drop('erp', 'facturen_c.xml', ''));
    assert.match(empty.describe(), /facturen_c.xml: the file is empty/);
  });

  it('an empty CSV yields no invoices and no crash; a file no mapping knows is named', async () => {
    assert.deepEqual(await prepareAll(drop('access', 'orders_4.csv', '')), []);
    const err = await fileError(drop('access', 'unknown.txt', 'x'));
    assert.match(err.message, /no mapping applies to 'unknown.txt' in folder 'access'/);
    // a members file dropped in the Access folder: the mapping that takes its name, and how to use it
    const astray = await fileError(drop('access', 'contributie_x.csv', 'x'));
    assert.match(
      astray.message,
      /no mapping applies to 'contributie_x.csv' in folder 'access'; members-contribution takes this name in folder 'members': move it there, or name the mapping with --mapping members-contribution/,
    );
  });

  it("a webshop mapping: a line's VAT rate from its order's tax lines ($record); a lines path that is not in the order is named with what is there", async () => {
    // WooCommerce's REST export: each item names its tax line by id; the rate is on the order
    const order = (id: number, items: string) => ({
      orders: [
        {
          order_id: `WC-${id}`,
          created_at: '2026-11-28',
          currency: 'EUR',
          status: 'completed',
          customer: { customer_id: 'C1', first_name: 'Jan', last_name: 'Jansen', email: 'jan@example.nl' },
          billing_address: { street: 'Dorpsstraat 1', postcode: '3811 AB', city: 'Amersfoort', country: 'NL' },
          payment: { status: 'open', amount: 0 },
          shipping: { price_ex_vat: 0, vat_rate: 21, method: 'PostNL' },
          tax_lines: [
            { id: 7, rate: 21 },
            { id: 8, rate: 9 },
          ],
          [items]: [
            { sku: 'A', name: 'Koffie', qty: 2, price_ex_vat: 5, tax_id: 8 },
            { sku: 'B', name: 'Mok', qty: 1, price_ex_vat: 10, tax_id: 7 },
          ],
        },
      ],
    });
    const config = shippedConfig();
    const source = loadYaml<MappingDefinition>(join(ROOT, 'mappings', 'webshop-orders.yaml'), 'mapping');
    const mapping = compileMapping({
      ...source,
      value: { ...source.value, line: { ...source.value.line, vatRate: { expr: '($t := tax_id; $record.tax_lines[id = $t].rate)' } } },
    });
    const withRates = { ...config, mappings: [mapping] };
    const [ok] = await prepareAll(drop('webshop', 'orders-1.json', JSON.stringify(order(1, 'items'))), withRates);
    assert.ok(ok?.ok, JSON.stringify(ok));
    assert.deepEqual(
      ok.invoice.lines.map((l) => l.vatRate),
      ['9', '21'],
    );
    const [bad] = await prepareAll(drop('webshop', 'orders-2.json', JSON.stringify(order(2, 'line_items'))), withRates);
    assert.ok(bad && !bad.ok);
    assert.match(bad.errors[0]!.describe(), /field group\.lines: group\.lines: 'items' is not in the record \(it has 'order_id', .*'line_items'\)/);
  });

  it('a business rule failure names the rule and the field', async () => {
    // debtor 99999 is not in customers.yaml and the file carries no buyer name or address
    const file = drop('access', 'orders_5.csv', accessCsv(['1;28-11-2026;99999;;1;A;Pen;2;st;1,50;;21']));
    const [item] = await prepareAll(file);
    assert.ok(item && !item.ok);
    assert.deepEqual(
      item.errors.map((e) => `${e.code} ${e.describe()}`),
      [
        'BR-07 orders_5.csv:2, field buyer.name: Buyer name (BT-44) is missing',
        'BR-10 orders_5.csv:2, field buyer.address: Buyer postal address (BG-8) is missing',
      ],
    );
  });

  it('rows of one invoice that are not together are reported, not merged silently', async () => {
    const file = drop(
      'access',
      'orders_6.csv',
      accessCsv(['1;28-11-2026;10001;;1;A;Pen;2;st;1,50;;21', '2;28-11-2026;10001;;1;A;Pen;2;st;1,50;;21', '1;28-11-2026;10001;;2;B;Pen;2;st;1,50;;21']),
    );
    const items = await prepareAll(file);
    const bad = items.find((i) => !i.ok);
    assert.ok(bad && !bad.ok);
    assert.match(bad.errors[0]!.describe(), /orders_6.csv:4.*rows of invoice '1' are not together: it appeared before at line 2/);
  });
});

describe('mail files', () => {
  it('an .eml file: each attachment goes through the mapping chosen for its file name', async () => {
    const csv = readFileSync(join(SAMPLES_DIR, 'access', 'orders_20261130.csv'));
    const eml = [
      'From: access@devries-kantoor.nl',
      'To: gateway@devries-kantoor.nl',
      'Subject: orders',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      'Orders attached.',
      '--b1',
      'Content-Type: text/csv; name="orders_20261130.csv"',
      'Content-Disposition: attachment; filename="orders_20261130.csv"',
      'Content-Transfer-Encoding: base64',
      '',
      csv.toString('base64').replace(/(.{76})/g, '$1\r\n'),
      '--b1--',
      '',
    ].join('\r\n');
    const file = drop('access', 'mail-1.eml', eml);
    const items = await prepareAll(file);
    assert.deepEqual(
      items.map((i) => [i.ok, i.key, i.mapping, i.attachment]),
      [
        [true, '40117', 'access-orders', 'orders_20261130.csv'],
        [true, '40118', 'access-orders', 'orders_20261130.csv'],
        [true, '40119', 'access-orders', 'orders_20261130.csv'],
      ],
    );
  });
});
