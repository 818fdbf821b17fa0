import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { pdfFor } from '../src/formats/pdf/index.js';
import type { CalculatedInvoice } from '../src/model/invoice.js';
import { calculateInvoice } from '../src/model/calculate.js';
import { prepareAll, shippedConfig } from './helpers/config.js';
import { tempDir, SAMPLES } from './helpers/paths.js';
import { isPdfA1Only, preflight } from './helpers/preflight.js';

async function sampleInvoice(): Promise<CalculatedInvoice> {
  const item = (await prepareAll(join(SAMPLES, 'access', 'orders_20261130.csv'), undefined, { folder: 'access' })).find((i) => i.ok);
  assert.ok(item && item.ok);
  return { ...item.invoice, number: '2026-00007', payment: { ...item.invoice.payment!, paymentReference: '2026-00007' } };
}

/** How often glyph 0 (.notdef, the missing-glyph box) is drawn in a PDF's text (pdfkit writes glyph ids as 4-digit hex). */
function notdefGlyphs(pdf: Buffer): number {
  const raw = pdf.toString('latin1');
  let found = 0;
  for (let at = raw.indexOf('stream'); at >= 0; at = raw.indexOf('stream', at + 1)) {
    let start = at + 'stream'.length;
    if (raw[start] === '\r') start++;
    if (raw[start] === '\n') start++;
    const end = raw.indexOf('endstream', start);
    if (end < 0) break;
    let content: string;
    try {
      content = inflateSync(pdf.subarray(start, end)).toString('latin1');
    } catch {
      continue; // not a compressed content stream (an image, a font)
    }
    for (const m of content.matchAll(/<([0-9a-f]+)>\s*-?\d*\s*\]?\s*TJ|<([0-9a-f]+)>/g)) {
      const hex = m[1] ?? m[2] ?? '';
      for (let k = 0; k + 4 <= hex.length; k += 4) if (hex.slice(k, k + 4) === '0000') found++;
    }
    at = end;
  }
  return found;
}

function pdfText(file: string, page?: number): string {
  const range = page ? ['-f', String(page), '-l', String(page)] : [];
  return spawnSync('pdftotext', ['-layout', ...range, file, '-'], { encoding: 'utf-8' }).stdout;
}

describe('PDF invoices: layout, text and PDF/A-3b', function () {
  this.timeout(60_000);
  const dir = tempDir('igw-pdf-');
  const config = shippedConfig();
  const render = async (name: string, invoice: CalculatedInvoice, options: Record<string, unknown> = {}): Promise<string> => {
    const file = join(dir, `${name}.pdf`);
    writeFileSync(file, await pdfFor(invoice, { language: 'nl', ...options }, config.sellers.sellers, config.configDir));
    return file;
  };

  it('a long invoice flows over pages: header row repeated, "Pagina x van y", totals once at the end', async () => {
    const base = await sampleInvoice();
    const lines = Array.from({ length: 70 }, (_, i) => ({
      ...base.lines[i % base.lines.length]!,
      id: String(i + 1),
      itemName: `Artikel ${i + 1} – Crème brûlée ĳzersterk`,
    }));
    const long = calculateInvoice({ ...base, lines });
    const file = await render('long', long);
    const pages = Number(/Pages:\s+(\d+)/.exec(spawnSync('pdfinfo', [file], { encoding: 'utf-8' }).stdout)?.[1]);
    assert.ok(pages >= 2, `${pages} pages`);
    for (let page = 1; page <= pages; page++) {
      const text = pdfText(file, page);
      assert.match(text, /Omschrijving\s+Aantal\s+Eenheid\s+Prijs\s+Btw\s+Bedrag/, `header row on page ${page}`);
      assert.match(text, new RegExp(`Pagina ${page} van ${pages}`));
    }
    const all = pdfText(file);
    assert.equal(all.match(/Te betalen/g)?.length, 1);
    assert.match(all, /Artikel 70 – Crème brûlée ĳzersterk/, 'diacritics and the ĳ come out as text');
    assert.match(all, /€ /);
  });

  it('a description with a CR LF line break is drawn like a plain line break: two lines, no missing-glyph box', async () => {
    const base = await sampleInvoice();
    const withBreak = async (name: string, itemName: string) =>
      render(name, calculateInvoice({ ...base, lines: [{ ...base.lines[0]!, itemName }, ...base.lines.slice(1)] }));
    const crlf = await withBreak('crlf', 'Koffiebonen\r\nextra sterk gebrand');
    const lf = await withBreak('lf', 'Koffiebonen\nextra sterk gebrand');
    assert.match(pdfText(crlf), /Koffiebonen[^\n]*\n[^\n]*extra sterk gebrand/, 'the break became a new line');
    // a CR has no glyph: drawn, it is the font's .notdef box (glyph 0), which text extraction does not show
    assert.equal(notdefGlyphs(readFileSync(crlf)), notdefGlyphs(readFileSync(lf)), 'no .notdef glyph drawn for the CR');
  });

  it('English labels per customer, and a credit note names the invoice it corrects', async () => {
    const base = await sampleInvoice();
    const credit: CalculatedInvoice = {
      ...base,
      number: 'C2026-00003',
      typeCode: '381',
      precedingInvoices: [{ number: '2026-00007', issueDate: '2026-11-28' }],
    };
    const text = pdfText(await render('credit-en', credit, { language: 'en' }));
    assert.match(text, /Credit note/);
    assert.match(text, /2026-00007/);
    assert.match(text, /This credit note refers to invoice 2026-00007 \(28 Nov 2026\)/);
    assert.match(text, /Amount credited\s+€2,014\.97/);
    assert.match(text, /will be refunded/);
    assert.doesNotMatch(text, /Amount due|Factuur|Btw-nr/);
  });

  it('shows what Dutch law asks of a reverse-charge invoice: both VAT ids, KvK, the "btw verlegd" text', async () => {
    const base = await sampleInvoice();
    const lines = base.lines.map((l, i) => ({
      ...l,
      vatCategory: 'AE' as const,
      vatRate: '0',
      itemName: i === 0 ? 'Koffiezetapparaat Bosch, café-model, ëxtra groot' : l.itemName,
    }));
    const reverse = calculateInvoice({ ...base, lines });
    const text = pdfText(await render('reverse-charge', reverse));
    assert.match(text, /Btw verlegd naar de afnemer/);
    assert.match(text, /Btw-nr\. afnemer: NL001234567B01/);
    assert.match(text, /Btw-nr\. NL859843719B01/);
    assert.match(text, /KvK 68750110/);
    assert.match(text, /café-model, ëxtra groot/);
    assert.match(text, /Btw verlegd over € 1\.683,05\s+€ 0,00/);
  });

  it('every kind of document passes PDFBox Preflight except the PDF/A-1 rules that PDF/A-3 dropped', async () => {
    const base = await sampleInvoice();
    const files = {
      invoice: await render('invoice', base),
      quote: await render('quote', { ...base, kind: 'quote', number: 'OFF2026-0001', validUntil: '2026-12-30' }),
      hybrid: await render('hybrid', base, { hybrid: true }),
      english: await render('english', base, { language: 'en' }),
    };
    const problems: string[] = [];
    for (const [name, file] of Object.entries(files)) {
      const findings = preflight(file);
      problems.push(...findings.filter((f) => !isPdfA1Only(f)).map((f) => `${name}: ${f.code} ${f.message}`));
      assert.ok(
        findings.some((f) => f.code === '7.11.2'),
        `${name}: Preflight read the XMP (it reports part 3 where PDF/A-1 wants 1)`,
      );
    }
    assert.deepEqual(problems, []);
  });

  it('declares PDF/A-3b and embeds the UBL of a hybrid invoice the way PDF/A-3 asks (AF, relationship, MIME type, dates)', async () => {
    const base = await sampleInvoice();
    const raw = readFileSync(await render('hybrid-structure', base, { hybrid: true })).toString('latin1');
    assert.match(raw, /<pdfaid:part>3<\/pdfaid:part>/);
    assert.match(raw, /<pdfaid:conformance>B<\/pdfaid:conformance>/);
    assert.match(raw, /\/OutputIntents/, 'an output intent with its ICC profile');
    assert.match(raw, /\/AF \[\d+ 0 R\]/, 'the catalog lists the associated file');
    assert.match(raw, /\/Type \/Filespec\s*\/AFRelationship \/Alternative\s*\/F \(2026-00007\.xml\)/);
    assert.match(raw, /\/UF \(2026-00007\.xml\)/);
    assert.match(raw, /\/Subtype \/application#2Fxml/);
    assert.match(raw, /\/Params <<\s*\/CreationDate \(D:\d{14}Z\)\s*\/ModDate \(D:\d{14}Z\)/);
    const fonts = spawnSync('pdffonts', [join(dir, 'hybrid-structure.pdf')], { encoding: 'utf-8' }).stdout;
    assert.doesNotMatch(fonts.split('\n').slice(2).join('\n'), / no /, 'every font embedded');
  });
});
