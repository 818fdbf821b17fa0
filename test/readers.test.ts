import { strict as assert } from 'node:assert';
import iconv from 'iconv-lite';
import { ReaderError } from '../src/errors.js';
import { readCsv } from '../src/readers/csv.js';
import { readEmlAttachments } from '../src/readers/eml.js';
import { readFixedWidth } from '../src/readers/fixed-width.js';
import { readJson } from '../src/readers/json.js';
import type { SourceRecord } from '../src/readers/record.js';
import { readXml } from '../src/readers/xml.js';
import { declaredXmlEncoding, xmlBytesToText } from '../src/readers/xml-text.js';

const ctx = { file: 'test-file' };

async function all(gen: AsyncIterable<SourceRecord>): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of gen) out.push(r);
  return out;
}

async function rejects(gen: AsyncIterable<SourceRecord>, pattern: RegExp): Promise<ReaderError> {
  try {
    await all(gen);
  } catch (err) {
    assert.ok(err instanceof ReaderError, `expected ReaderError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return err;
  }
  assert.fail('expected a ReaderError');
}

describe('CSV reader', () => {
  const text = 'Nr;Omschrijving;Prijs\r\n1;"Crème, ""extra""";1.249,95\r\n2;"twee\r\nregels";3\r\n';
  it("reads Windows-1252 with CRLF, quotes and quoted newlines, with each record's line", async () => {
    const rows = await all(readCsv(iconv.encode(text, 'windows-1252'), { format: 'csv', encoding: 'windows-1252' }, ctx));
    assert.deepEqual(
      rows.map((r) => r.values['Omschrijving']),
      ['Crème, "extra"', 'twee\r\nregels'],
    );
    assert.deepEqual(
      rows.map((r) => r.position.line),
      [2, 3],
    );
  });
  it('reads UTF-8 with and without BOM, and ISO-8859-1', async () => {
    for (const bytes of [Buffer.from(`\uFEFF${text}`), Buffer.from(text)]) {
      const rows = await all(readCsv(bytes, { format: 'csv' }, ctx));
      assert.deepEqual(Object.keys(rows[0]!.values), ['Nr', 'Omschrijving', 'Prijs']);
      assert.equal(rows[0]!.values['Omschrijving'], 'Crème, "extra"');
    }
    const latin = await all(readCsv(iconv.encode(text, 'iso-8859-1'), { format: 'csv', encoding: 'iso-8859-1' }, ctx));
    assert.equal(latin[0]!.values['Omschrijving'], 'Crème, "extra"');
  });
  it('numbers columns when there is no header', async () => {
    const rows = await all(readCsv(Buffer.from('a,b\nc,d\n'), { format: 'csv', header: false, delimiter: ',' }, ctx));
    assert.deepEqual(rows[1]!.values, { 1: 'c', 2: 'd' });
    assert.equal(rows[1]!.position.line, 2);
  });
  it('names the line of a Windows-1252 byte in a file read as UTF-8', async () => {
    const err = await rejects(readCsv(iconv.encode(text, 'windows-1252'), { format: 'csv' }, ctx), /not valid UTF-8.*windows-1252/);
    assert.equal(err.location.line, 2);
  });
  it('reports a row with the wrong number of fields with its line', async () => {
    const err = await rejects(readCsv(Buffer.from('a;b\n1;2\n3;4;5\n'), { format: 'csv' }, ctx), /wrong number of fields|Invalid Record Length/i);
    assert.equal(err.location.line, 3);
  });
  it('reports an unclosed quote', async () => {
    await rejects(readCsv(Buffer.from('a;b\n1;"open\n'), { format: 'csv' }, ctx), /quote/i);
  });
  it('refuses an unknown encoding name', async () => {
    await rejects(readCsv(Buffer.from('a\n1\n'), { format: 'csv', encoding: 'klingon' }, ctx), /unknown encoding/);
  });
});

describe('XML reader', () => {
  it('decodes character references and entities once, and CDATA not at all', async () => {
    const xml =
      '<?xml version="1.0"?><Root><Inv note="A&amp;amp;B &#x2013;"><Text>s&#252;&#xDF; &amp;amp; &lt;b&gt;</Text><Raw><![CDATA[a &amp; <b>]]></Raw></Inv></Root>';
    const [row] = await all(readXml(Buffer.from(xml), { format: 'xml', records: 'Root/Inv' }, ctx));
    assert.equal(row!.values['@note'], 'A&amp;B –');
    assert.equal(row!.values['Text'], 'süß &amp; <b>');
    assert.equal(row!.values['Raw'], 'a &amp; <b>');
  });

  it('a UBL is read in the encoding its declaration names; bad UTF-8 is reported with its line, never replaced in silence', () => {
    const latin1 = Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?>\n<Invoice>Müller</Invoice>', 'latin1');
    assert.equal(declaredXmlEncoding(latin1), 'iso-8859-1');
    assert.match(xmlBytesToText(latin1, ctx), /Müller/);
    const broken = Buffer.concat([Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<Invoice>\nM'), Buffer.from([0xfc]), Buffer.from('ller</Invoice>')]);
    assert.throws(
      () => xmlBytesToText(broken, ctx),
      (err: unknown) => err instanceof ReaderError && err.location.line === 3 && /byte 0xfc/.test(err.message) && /declare the encoding/.test(err.message),
    );
    assert.equal(declaredXmlEncoding(Buffer.from('<Invoice/>')), 'utf-8', 'no declaration: UTF-8, as XML says');
  });

  it('selects records by path, with attributes and namespace prefixes removed, values as text', async () => {
    const xml = '<?xml version="1.0"?><x:Root xmlns:x="urn:x"><x:Inv nr="7"><x:Amount>0012.50</x:Amount><x:Line>a</x:Line></x:Inv><x:Inv nr="8"/></x:Root>';
    const rows = await all(readXml(Buffer.from(xml), { format: 'xml', records: 'Root/Inv', arrays: ['Line'] }, ctx));
    assert.equal(rows.length, 2);
    assert.equal(rows[0]!.values['@nr'], '7');
    assert.equal(rows[0]!.values['Amount'], '0012.50');
    assert.deepEqual(rows[0]!.values['Line'], ['a']);
    assert.equal(rows[1]!.position.path, 'Root/Inv[2]');
  });
  it('refuses an XXE file with a clear error and the line', async () => {
    const xxe = '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<r>&x;</r>';
    const err = await rejects(readXml(Buffer.from(xxe), { format: 'xml', records: 'r' }, ctx), /DOCTYPE.*refused.*XXE/);
    assert.equal(err.location.line, 2);
  });
  it('refuses a billion-laughs file quickly without expanding it', async () => {
    const lol = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE lolz [',
      '<!ENTITY lol "lol">',
      ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`),
      ']>',
      '<lolz>&lol9;</lolz>',
    ].join('\n');
    const before = process.memoryUsage().rss;
    const started = process.hrtime.bigint();
    await rejects(readXml(Buffer.from(lol), { format: 'xml', records: 'lolz' }, ctx), /DOCTYPE/);
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 1000);
    assert.ok(process.memoryUsage().rss - before < 50 * 1024 * 1024);
  });
  it('reports truncated XML with line and column', async () => {
    const err = await rejects(readXml(Buffer.from('<a>\n<b>1</b>\n<c>'), { format: 'xml', records: 'a' }, ctx), /not well-formed.*truncated/);
    assert.ok(err.location.line);
  });
  it('reports an empty file', async () => {
    await rejects(readXml(Buffer.alloc(0), { format: 'xml', records: 'a' }, ctx), /empty/);
  });
  it('says so when the record path finds nothing', async () => {
    await rejects(readXml(Buffer.from('<a><b/></a>'), { format: 'xml', records: 'a/c' }, ctx), /no <c> elements/);
  });
});

describe('JSON reader', () => {
  it('reads records at a path', async () => {
    const rows = await all(readJson(Buffer.from('{"orders":[{"id":1},{"id":2}]}'), { format: 'json', records: 'orders' }, ctx));
    assert.deepEqual(
      rows.map((r) => r.position.path),
      ['orders[0]', 'orders[1]'],
    );
  });
  it('reports a syntax error with line and column', async () => {
    const err = await rejects(readJson(Buffer.from('{\n "orders": [\n  {"id": 1,}\n ]\n}'), { format: 'json', records: 'orders' }, ctx), /JSON is not valid/);
    assert.equal(err.location.line, 3);
  });
  it('reports a truncated file', async () => {
    await rejects(readJson(Buffer.from('{"orders": [{"id": 1}'), { format: 'json', records: 'orders' }, ctx), /truncated/);
  });
  it('records: a path that is not in the file is named with what is there; an empty list is said as such', async () => {
    await rejects(
      readJson(Buffer.from('{"export": {"orders": [{"id": 1}]}}'), { format: 'json', records: 'export/order' }, ctx),
      /no records: 'order' is not in the file's export, did you mean 'orders'\? \(it has 'orders'\); reader.records in the mapping says where they are/,
    );
    await rejects(readJson(Buffer.from('{"orders": []}'), { format: 'json', records: 'orders' }, ctx), /no records: the list at "orders" is empty/);
  });
});

describe('fixed-width reader', () => {
  it('cuts lines by a layout per record type', async () => {
    const text = 'H00012320261130K001\nR001Pen       000002\nR002Papier    000010\nT2\n';
    const rows = await all(
      readFixedWidth(
        Buffer.from(text),
        {
          format: 'fixed-width',
          recordType: { start: 1, length: 1 },
          layouts: {
            H: [
              { name: 'nr', start: 2, length: 6 },
              { name: 'date', start: 8, length: 8 },
              { name: 'klant', start: 16, length: 4 },
            ],
            R: [
              { name: 'regel', start: 2, length: 3 },
              { name: 'omschrijving', start: 5, length: 10 },
              { name: 'aantal', start: 15, length: 6 },
            ],
          },
          ignoreTypes: ['T'],
        },
        ctx,
      ),
    );
    assert.deepEqual(
      rows.map((r) => r.type),
      ['H', 'R', 'R'],
    );
    assert.deepEqual(rows[0]!.values, { nr: '000123', date: '20261130', klant: 'K001' });
    assert.deepEqual(rows[2]!.values, { regel: '002', omschrijving: 'Papier', aantal: '000010' });
    assert.equal(rows[2]!.position.line, 3);
  });
  it('reports an unknown record type with its line', async () => {
    const err = await rejects(
      readFixedWidth(
        Buffer.from('H1\nX2\n'),
        { format: 'fixed-width', recordType: { start: 1, length: 1 }, layouts: { H: [{ name: 'a', start: 2, length: 1 }] } },
        ctx,
      ),
      /unknown record type "X"/,
    );
    assert.equal(err.location.line, 2);
  });
});

describe('e-mail reader', () => {
  it('takes the attachments out of an .eml file', async () => {
    const eml = [
      'From: orders@example.nl',
      'To: gateway@example.nl',
      'Subject: orders',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      'See attachment.',
      '--b1',
      'Content-Type: text/csv; name="orders_1.csv"',
      'Content-Disposition: attachment; filename="orders_1.csv"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('a;b\n1;2\n').toString('base64'),
      '--b1--',
      '',
    ].join('\r\n');
    const attachments = await readEmlAttachments(Buffer.from(eml), ctx);
    assert.deepEqual(
      attachments.map((a) => [a.name, a.content.toString()]),
      [['orders_1.csv', 'a;b\n1;2\n']],
    );
  });
  it('refuses a mail without attachments', async () => {
    await assert.rejects(readEmlAttachments(Buffer.from('Subject: x\r\n\r\nhello\r\n'), ctx), /no attachments/);
  });
});
