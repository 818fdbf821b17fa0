import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { writeCii } from '../src/formats/cii/write.js';
import { configureFormats, renderDocument } from '../src/formats/index.js';
import { writeUbl } from '../src/formats/ubl/write.js';
import { numbered } from '../src/ledger/keys.js';
import type { CalculatedInvoice } from '../src/model/invoice.js';
import { createLogger } from '../src/observability/log.js';
import { readCii } from '../src/readers/cii.js';
import { readEInvoice } from '../src/readers/e-invoice.js';
import { readUbl } from '../src/readers/ubl.js';
import { standardsHome } from '../src/validation/artefacts.js';
import { profileOf } from '../src/validation/engine.js';
import { UblGate } from '../src/validation/gate.js';
import { JvmEngine } from '../src/validation/jvm-engine.js';
import { SaxonJsPool } from '../src/validation/saxonjs-pool.js';
import { businessTerms, termsDiff } from './helpers/business-terms.js';
import { prepareAll, shippedConfig } from './helpers/config.js';
import { CLI, ROOT, SAMPLES } from './helpers/paths.js';
import { exampleDocuments } from './helpers/standards.js';

const fatal = (findings: { severity: string; rule: string }[]) => findings.filter((f) => f.severity === 'fatal').map((f) => f.rule);

/**
 * What UBL says that CII says another way, so a UBL → CII → UBL trip cannot give it back byte for
 * byte; none of it is a business term's value:
 * - BT-32's tax scheme is "any scheme but VAT" in UBL (LOC, TAX, …) and always FC in CII;
 * - BT-128 is written with its fixed type code 130, which some UBLs leave out;
 * - CII states the payment reference (BT-83) once, for every payment means;
 * - CII needs the gross price (BT-148) beside a price discount, so one derived from net price and discount appears;
 * - a VAT accounting currency (BT-6) equal to the invoice currency says nothing, and CII's BR-53 refuses it;
 * - CII types a plain supporting document (916, "related document"), where UBL may leave the type out.
 */
const SYNTAX_ONLY = [
  /AdditionalDocumentReference\/DocumentTypeCode=916$/,
  /PartyTaxScheme\/TaxScheme\/ID=(?!VAT$)/,
  /InvoiceLine\/DocumentReference\/DocumentTypeCode=130$/,
  /PaymentMeans\/PaymentID=/,
  /Price\/AllowanceCharge\/BaseAmount\[/,
];

describe('UN/CEFACT CII and Factur-X, in and out', function () {
  this.timeout(300_000);
  let engine: JvmEngine;
  before(() => {
    engine = new JvmEngine({ size: 2 });
  });
  after(async () => {
    await engine.close();
  });

  it('every official EN 16931 CII example: read → canonical → CII passes what the original passed, with every business term it came with', async () => {
    const dir = join(standardsHome(), 'en16931/cii/examples');
    const failures: string[] = [];
    let valid = 0;
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.xml'))) {
      const xml = readFileSync(join(dir, name), 'utf-8');
      const invoice = readCii(xml, { file: name });
      const written = writeCii(invoice);
      const [before, after] = await Promise.all([engine.validate(xml, 'en16931'), engine.validate(written, 'en16931')]);
      if (fatal(before).length) continue;
      valid++;
      if (fatal(after).length) failures.push(`${name}: now fails ${fatal(after).join(', ')}`);
      const { lost, added } = termsDiff(businessTerms(xml), businessTerms(written));
      if (lost.length || added.length) failures.push(`${name}: lost ${JSON.stringify(lost)}, added ${JSON.stringify(added)}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(valid >= 12, `${valid} valid CII examples`);
    console.log(`      CII round trip: ${valid} valid official examples, every business term kept`);
  });

  it('both engines judge CII alike: the examples valid, a schema error caught by each, and Peppol rules (UBL only) answer with SYNTAX', async () => {
    const xml = readFileSync(join(standardsHome(), 'en16931/cii/examples/CII_example1.xml'), 'utf-8');
    const broken = xml.replace('<ram:TypeCode>380</ram:TypeCode>', '<ram:TypeCode>380</ram:TypeCode><ram:Bogus>1</ram:Bogus>');
    const pool = new SaxonJsPool(1);
    try {
      for (const validator of [engine, pool]) {
        assert.deepEqual(fatal(await validator.validate(xml, 'en16931')), [], validator.name);
        assert.deepEqual(fatal(await validator.validate(broken, 'en16931')), ['XSD'], validator.name);
        assert.deepEqual(fatal(await validator.validate(xml, 'peppol')), ['SYNTAX'], validator.name);
      }
    } finally {
      await pool.close();
    }
  });

  it('every valid UBL example goes UBL → canonical → CII (valid) → canonical → UBL with the same business terms', async () => {
    const files = exampleDocuments().filter((f) => !f.includes('/snippets/') && !f.includes('/ubl-2.1/') && !f.includes('/nlcius/'));
    const failures: string[] = [];
    let kept = 0;
    let refused = 0;
    for (const file of files) {
      const xml = readFileSync(file, 'utf-8');
      if (fatal(await engine.validate(xml, 'en16931')).length) continue;
      const original = readUbl(xml, { file: basename(file) });
      let cii: string;
      try {
        cii = writeCii(original);
      } catch (err) {
        // CII D16B has room for one preceding invoice: such an invoice is refused, never cut
        assert.match((err as Error).message, /one preceding invoice reference/);
        assert.ok((original.precedingInvoices?.length ?? 0) > 1);
        refused++;
        continue;
      }
      const ciiFatal = fatal(await engine.validate(cii, 'en16931'));
      if (ciiFatal.length) failures.push(`${basename(file)}: the CII fails ${ciiFatal.join(', ')}`);
      const back = writeUbl(readCii(cii, { file: 'trip.xml' }), { profile: profileOf(xml) });
      const { lost, added } = termsDiff(businessTerms(xml), businessTerms(back));
      const sameCurrency = original.vatCurrency === original.currency;
      const real = (terms: string[]) => terms.filter((t) => !SYNTAX_ONLY.some((s) => s.test(t)) && !(sameCurrency && /\/TaxCurrencyCode=/.test(t)));
      if (real(lost).length || real(added).length) failures.push(`${basename(file)}: lost ${JSON.stringify(real(lost))}, added ${JSON.stringify(real(added))}`);
      else kept++;
    }
    assert.deepEqual(failures, []);
    assert.ok(kept >= 50, `${kept} documents`);
    console.log(`      UBL → CII → UBL: ${kept} valid documents keep every business term; ${refused} refused (more than one preceding invoice)`);
  });

  it('Factur-X: a PDF/A-3 with factur-x.xml and the Factur-X metadata, whose CII passes the rules and reads back as the same invoice', async () => {
    const config = shippedConfig();
    configureFormats(config.sellers.sellers, config.configDir);
    const item = (await prepareAll(join(SAMPLES, 'access', 'orders_20261130.csv'), undefined, { folder: 'access' })).find((i) => i.ok);
    assert.ok(item && item.ok);
    const invoice = numbered(item.invoice, '2026-00077');
    const rendered = await renderDocument('factur-x', invoice, {}, '2026-00077');
    assert.equal(rendered.fileName, '2026-00077.pdf');
    const dir = mkdtempSync(join(tmpdir(), 'facturx-'));
    const pdf = join(dir, '2026-00077.pdf');
    writeFileSync(pdf, rendered.content);
    // poppler, which knows nothing of our code, finds the one embedded file under the name Factur-X prescribes
    assert.match(spawnSync('pdfdetach', ['-list', pdf], { encoding: 'utf-8' }).stdout, /1 embedded files\s+1: factur-x\.xml/);
    assert.equal(spawnSync('pdfdetach', ['-saveall', '-o', dir, pdf]).status, 0);
    const cii = readFileSync(join(dir, 'factur-x.xml'), 'utf-8');
    assert.equal(cii, writeCii(invoice));
    assert.deepEqual(fatal(await engine.validate(cii, 'en16931')), []);
    const xmp = rendered.content.toString('latin1');
    assert.match(xmp, /<fx:DocumentFileName>factur-x\.xml<\/fx:DocumentFileName>/);
    assert.match(xmp, /<fx:ConformanceLevel>EN 16931<\/fx:ConformanceLevel>/);
    assert.match(xmp, /<pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#<\/pdfaSchema:namespaceURI>/);
    assert.match(xmp, /\/AFRelationship \/Alternative/);
    assert.match(spawnSync('pdftotext', [pdf, '-'], { encoding: 'utf-8' }).stdout, /2026-00077/);
    // the reader takes it like any e-invoice: the CII inside, the same figures
    const back = await readEInvoice(rendered.content, { file: '2026-00077.pdf' });
    assert.equal(back.number, '2026-00077');
    assert.deepEqual(back.totals, invoice.totals);
    assert.deepEqual(
      back.vatBreakdown.map((b) => [b.category, b.taxAmount]),
      invoice.vatBreakdown.map((b) => [b.category, b.taxAmount]),
    );
    // validate and dry-run say what it is
    const validate = spawnSync(process.execPath, [CLI, 'validate', pdf], { encoding: 'utf-8' });
    assert.equal(validate.status, 0, validate.stdout + validate.stderr);
    assert.match(validate.stdout, /VALID[\s\S]*syntax: UN\/CEFACT CII \(CrossIndustryInvoice\) \(factur-x\.xml in the PDF\)/);
    const dry = spawnSync(process.execPath, [CLI, 'dry-run', pdf, '--mapping', 'ubl-invoices', '--summary'], {
      encoding: 'utf-8',
      cwd: ROOT,
      timeout: 180_000,
    });
    assert.equal(dry.status, 0, dry.stdout + dry.stderr);
    assert.equal((JSON.parse(dry.stdout) as { readAs: string }).readAs, 'UN/CEFACT CII (factur-x.xml in 2026-00077.pdf)');
    assert.match(
      dry.stderr,
      /1 invoice\(s\) in 2026-00077\.pdf, mapping ubl-invoices \(read as UN\/CEFACT CII \(factur-x\.xml in 2026-00077\.pdf\)\): all accepted/,
    );
  });

  it('the gate checks the CII of a cii or factur-x route before numbering: an invoice whose figures break EN 16931 is refused with the rule', async () => {
    const gate = new UblGate(createLogger({ level: 'error', console: false }), undefined, { engine: 'jvm' });
    try {
      const xml = readFileSync(join(standardsHome(), 'en16931/cii/examples/CII_example1.xml'), 'utf-8');
      const invoice: CalculatedInvoice = {
        ...readCii(xml, { file: 'example1.xml' }),
        meta: { ...readCii(xml, { file: 'example1.xml' }).meta, sellerKey: 's' },
      };
      const route = (format: string) => ({ routeId: `r-${format}`, format, transport: 'folder', target: 'out', options: {} }) as never;
      assert.deepEqual(await gate.check(invoice, [route('factur-x'), route('cii')]), []);
      const broken = { ...invoice, totals: { ...invoice.totals, lineNetAmount: '1.00' } };
      const errors = await gate.check(broken, [route('factur-x')]);
      assert.ok(
        errors.some((e) => e.code === 'BR-CO-10'),
        errors.map((e) => e.describe()).join('\n'),
      );
      assert.match(errors[0]!.message, /en16931 CII \(Factur-X\)/);
      // an invoice CII cannot carry whole is refused, not cut
      const twoPreceding = { ...invoice, precedingInvoices: [{ number: 'A-1' }, { number: 'A-2' }] };
      assert.deepEqual(
        (await gate.check(twoPreceding, [route('cii')])).map((e) => e.code),
        ['GW-CII-CARRY'],
      );
    } finally {
      await gate.close();
    }
  });

  it('a UBL, a CII and a Factur-X PDF dropped in the same folder are each read into the canonical model', async () => {
    const ubl = readFileSync(join(SAMPLES, 'ubl', 'WEB-2026-0415.xml'));
    const fromUbl = await readEInvoice(ubl, { file: 'WEB-2026-0415.xml' });
    const cii = Buffer.from(writeCii(fromUbl));
    const fromCii = await readEInvoice(cii, { file: 'WEB-2026-0415-cii.xml' });
    assert.equal(fromCii.number, fromUbl.number);
    assert.deepEqual(fromCii.totals, fromUbl.totals);
    await assert.rejects(readEInvoice(Buffer.from('<Order xmlns="x"/>'), { file: 'order.xml' }), /root element is <Order>/);
    const config = shippedConfig();
    configureFormats(config.sellers.sellers, config.configDir);
    const plainPdf = await renderDocument('pdf', numbered(fromUbl, 'X-1'), {}, 'X-1');
    await assert.rejects(readEInvoice(plainPdf.content, { file: 'plain.pdf' }), /the PDF carries no e-invoice/);
  });
});
