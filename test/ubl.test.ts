import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { configureFormats, renderDocument } from '../src/formats/index.js';
import { carriedEInvoice, carriedXml } from '../src/formats/carried-xml.js';
import { writeUbl } from '../src/formats/ubl/write.js';
import { formatDecimal } from '../src/model/display.js';
import { isCreditNote, type CalculatedInvoice } from '../src/model/invoice.js';
import { readUbl } from '../src/readers/ubl.js';
import { checkInvoice } from '../src/model/rules.js';
import { numbered } from '../src/ledger/keys.js';
import { processEnvironment } from '../src/environment.js';
import { standardsHome } from '../src/validation/artefacts.js';
import { profileOf, type ProfileName } from '../src/validation/engine.js';
import { JvmEngine } from '../src/validation/jvm-engine.js';
import { prepareAll, shippedConfig } from './helpers/config.js';
import { SAMPLES } from './helpers/paths.js';
import { businessTerms, termsDiff } from './helpers/business-terms.js';
import { exampleDocuments, xrechnungUblInstances } from './helpers/standards.js';

/** Canonical content for comparison: decimals by value, no gateway metadata, no rate on category O (UBL omits it). */
function comparable(inv: CalculatedInvoice): unknown {
  return JSON.parse(JSON.stringify({ ...inv, meta: undefined }), (key, value: unknown) => {
    if (
      typeof value === 'string' &&
      /^-?\d+(\.\d+)?$/.test(value) &&
      !['id', 'number', 'postalCode', 'typeCode', 'meansCode', 'iban', 'accountNumber'].includes(key)
    ) {
      return value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
    }
    if (value && typeof value === 'object' && (value as { category?: string }).category === 'O') return { ...(value as object), rate: undefined };
    return value;
  });
}

/**
 * Valid by the EN 16931 rules yet stating more than EN 16931 lets a document hold, which the canonical
 * model cannot carry: the terms each one loses, and why.
 */
const BEYOND_THE_MODEL: Record<string, { lost: string[]; why: string }> = {
  'ubl-inv-peppol-en16931-r054-2.xml': {
    lost: ['Invoice/TaxTotal/TaxAmount[@currencyID=USD]=70'],
    why: 'BT-111 twice; EN 16931 allows it once (the CEN rules do not check it, Peppol refuses it as R054)',
  },
  'ubl-cn-peppol-en16931-r054-2.xml': {
    lost: ['CreditNote/TaxTotal/TaxAmount[@currencyID=USD]=70'],
    why: 'BT-111 twice; EN 16931 allows it once (the CEN rules do not check it, Peppol refuses it as R054)',
  },
};

describe('UBL in and out: the conformance corpus', function () {
  this.timeout(300_000);
  let engine: JvmEngine;
  before(() => {
    engine = new JvmEngine({ size: 2 });
  });
  after(async () => {
    await engine.close();
  });

  it('every official example: read → canonical → write → validate passes what the original passed, with the same content and every business term it came with', async () => {
    const xrechnung = xrechnungUblInstances();
    if (processEnvironment().standardsMirror) assert.ok(xrechnung.length > 100, `the XRechnung test instances are in the mirror (${xrechnung.length} found)`);
    const files = [...exampleDocuments({ nlciusOkOnly: true }), ...xrechnung].filter((f) => !f.includes('/snippets/') && !f.includes('/ubl-2.1/'));
    const failures: string[] = [];
    let passedValid = 0;
    let termsKept = 0;
    for (const file of files) {
      const xml = readFileSync(file, 'utf-8');
      const profile: ProfileName = profileOf(xml);
      const original = readUbl(xml, { file: basename(file) });
      const written = writeUbl(original, { profile: profile === 'en16931' ? 'en16931' : profile });
      const again = readUbl(written, { file: basename(file) });
      const [before, after] = await Promise.all([engine.validate(xml, profile), engine.validate(written, profile)]);
      const validBefore = !before.some((f) => f.severity === 'fatal');
      const fatalAfter = after.filter((f) => f.severity === 'fatal');
      const name = relative(standardsHome(), file);
      if (validBefore && fatalAfter.length) failures.push(`${name}: now fails ${fatalAfter.map((f) => f.rule).join(', ')}`);
      if (validBefore && !fatalAfter.length) passedValid++;
      // what the official rules call valid goes out with the same business terms it came with
      const { lost, added } = termsDiff(businessTerms(xml), businessTerms(written));
      const expectedLoss = BEYOND_THE_MODEL[basename(file)]?.lost ?? [];
      if (validBefore && (JSON.stringify(lost) !== JSON.stringify(expectedLoss) || added.length))
        failures.push(`${name}: lost ${JSON.stringify(lost)}, added ${JSON.stringify(added)}`);
      if (validBefore) termsKept++;
      try {
        assert.deepEqual(comparable(again), comparable(original));
      } catch {
        failures.push(`${name}: content changed in the round trip`);
      }
    }
    assert.deepEqual(failures, []);
    console.log(
      `      round trip: ${files.length} documents, ${passedValid} valid before and after, the rest fail as before; content kept in all, every business term in the ${termsKept} valid ones`,
    );
  });

  it('loses nothing on the way through: encoding, character references, base quantity and its unit, a price surcharge, BT-158 version, each payment means as stated, BT-111 in its currency', async () => {
    const base = readFileSync(join(standardsHome(), 'peppol-bis-3/rules/examples/base-example.xml'), 'utf-8');
    const lines = base.split('<cac:InvoiceLine>');
    const text = [
      lines[0]!
        .replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
        .replace(/<cbc:CustomizationID>[^<]*</, '<cbc:CustomizationID>urn:cen.eu:en16931:2017<')
        .replace(
          '<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>',
          '<cbc:Note>Tarif A &amp;amp; B &#x2013; s&#252;&#xDF;</cbc:Note>\n<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode><cbc:TaxCurrencyCode>USD</cbc:TaxCurrencyCode>',
        )
        .replace('SupplierOfficialName Ltd', 'Müller &amp; Söhne GmbH')
        .replace(
          /<cac:PaymentMeans>[\s\S]*<\/cac:PaymentMeans>/,
          '<cac:PaymentMeans><cbc:PaymentMeansCode>59</cbc:PaymentMeansCode><cbc:PaymentID>REF-1</cbc:PaymentID>' +
            '<cac:PayeeFinancialAccount><cbc:ID>NL91ABNA0417164300</cbc:ID></cac:PayeeFinancialAccount>' +
            '<cac:PaymentMandate><cbc:ID>MANDATE-7</cbc:ID><cac:PayerFinancialAccount><cbc:ID>DE89370400440532013000</cbc:ID></cac:PayerFinancialAccount></cac:PaymentMandate></cac:PaymentMeans>' +
            // the same reference again (EN 16931 allows one per invoice, UBL-SR-44), then none: each as it stands
            '<cac:PaymentMeans><cbc:PaymentMeansCode>59</cbc:PaymentMeansCode><cbc:PaymentID>REF-1</cbc:PaymentID>' +
            '<cac:PayeeFinancialAccount><cbc:ID>NL20INGB0001234567</cbc:ID></cac:PayeeFinancialAccount></cac:PaymentMeans>' +
            '<cac:PaymentMeans><cbc:PaymentMeansCode>59</cbc:PaymentMeansCode>' +
            '<cac:PayeeFinancialAccount><cbc:ID>NL02RABO0123456789</cbc:ID></cac:PayeeFinancialAccount></cac:PaymentMeans>',
        )
        .replace('<cac:LegalMonetaryTotal>', '<cac:TaxTotal><cbc:TaxAmount currencyID="USD">380.00</cbc:TaxAmount></cac:TaxTotal><cac:LegalMonetaryTotal>')
        .replace(
          '<cbc:ChargeTotalAmount currencyID="EUR">25</cbc:ChargeTotalAmount>',
          '<cbc:AllowanceTotalAmount currencyID="EUR">0.00</cbc:AllowanceTotalAmount><cbc:ChargeTotalAmount currencyID="EUR">25</cbc:ChargeTotalAmount>',
        ),
      lines[1]!
        .replace('listID="SRV">09348023', 'listID="STI" listVersionID="19.05.01">09348023')
        .replace(
          '<cbc:PriceAmount currencyID="EUR">400</cbc:PriceAmount>',
          '<cbc:PriceAmount currencyID="EUR">400</cbc:PriceAmount><cbc:BaseQuantity unitCode="HUR">24</cbc:BaseQuantity>',
        ),
      lines[2]!.replace(
        '<cbc:PriceAmount currencyID="EUR">500</cbc:PriceAmount>',
        '<cbc:PriceAmount currencyID="EUR">500</cbc:PriceAmount><cbc:BaseQuantity>1</cbc:BaseQuantity>' +
          '<cac:AllowanceCharge><cbc:ChargeIndicator>1</cbc:ChargeIndicator><cbc:Amount currencyID="EUR">50</cbc:Amount><cbc:BaseAmount currencyID="EUR">450</cbc:BaseAmount></cac:AllowanceCharge>',
      ),
    ].join('<cac:InvoiceLine>');
    const bytes = Buffer.from(text, 'latin1');
    assert.equal(bytes.indexOf(Buffer.from('Müller', 'utf-8')), -1, 'the input really is ISO-8859-1');
    const invoice = readUbl(bytes, { file: 'latin1.xml' });
    assert.equal(invoice.seller.name, 'Müller & Söhne GmbH');
    assert.deepEqual(invoice.notes, ['Tarif A &amp; B – süß'], 'one decoding: &amp;amp; is "&amp;", hexadecimal and decimal references are characters');
    assert.equal(invoice.lines[0]!.baseQuantityUnitCode, 'HUR');
    assert.equal(invoice.lines[1]!.priceCharge, true);
    assert.deepEqual(invoice.lines[0]!.classification, { id: '09348023', scheme: 'STI', schemeVersion: '19.05.01' });
    const written = writeUbl(invoice, { profile: 'en16931' });
    const decoded = bytes.toString('latin1');
    assert.deepEqual(termsDiff(businessTerms(decoded), businessTerms(written)), { lost: [], added: [] });
    assert.match(written, /<cac:TaxTotal>\s*<cbc:TaxAmount currencyID="USD">380.00</, 'BT-111 keeps its own currency');
    const [before, after] = await Promise.all([engine.validate(bytes, 'en16931'), engine.validate(written, 'en16931')]);
    assert.deepEqual(
      before.filter((f) => f.severity === 'fatal'),
      [],
      'the constructed input is valid',
    );
    assert.deepEqual(
      after.filter((f) => f.severity === 'fatal'),
      [],
    );
  });

  it('a credit note of any credit type code (261, 262, 396, …) goes out as a CreditNote, its due date only where it stood', async () => {
    const original = readFileSync(join(standardsHome(), 'en16931/ubl/examples/ubl-tc434-creditnote1.xml'), 'utf-8');
    for (const code of ['261', '262', '396']) {
      const xml = original
        .replace('<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>', `<cbc:CreditNoteTypeCode>${code}</cbc:CreditNoteTypeCode>`)
        .replace(
          '<cbc:PaymentMeansCode>1</cbc:PaymentMeansCode>',
          '<cbc:PaymentMeansCode>1</cbc:PaymentMeansCode><cbc:PaymentDueDate>2017-12-01</cbc:PaymentDueDate>',
        )
        .replace(
          '</cac:PaymentMeans>',
          '</cac:PaymentMeans><cac:PaymentMeans><cbc:PaymentMeansCode>58</cbc:PaymentMeansCode><cac:PayeeFinancialAccount><cbc:ID>NL20INGB0001234567</cbc:ID></cac:PayeeFinancialAccount></cac:PaymentMeans>',
        );
      const invoice = readUbl(xml, { file: `credit-${code}.xml` });
      assert.ok(isCreditNote(invoice));
      const written = writeUbl(invoice, { profile: 'en16931' });
      assert.match(written, new RegExp(`<CreditNote [\\s\\S]*<cbc:CreditNoteTypeCode>${code}<`));
      assert.equal(written.match(/PaymentDueDate/g)?.length, 2, 'one due date (open and close tag), in the first payment means');
      assert.deepEqual(termsDiff(businessTerms(xml), businessTerms(written)), { lost: [], added: [] });
      const [before, after] = await Promise.all([engine.validate(xml, 'en16931'), engine.validate(written, 'en16931')]);
      assert.deepEqual(
        after.filter((f) => f.severity === 'fatal'),
        before.filter((f) => f.severity === 'fatal'),
      );
    }
    // the gateway's own invoices: a mapping's 261 is a credit note too
    assert.ok(isCreditNote({ typeCode: '261', meta: { sellerKey: 's', sourceFile: 'f', sourceKey: 'k', source: {} } }));
    assert.ok(!isCreditNote({ typeCode: '380', meta: { sellerKey: 's', sourceFile: 'f', sourceKey: 'k', source: {} } }));
  });

  it('keeps amounts, VAT breakdown, parties and lines of a credit note and an allowance example', () => {
    for (const rel of ['peppol-bis-3/rules/examples/base-creditnote-correction.xml', 'peppol-bis-3/rules/examples/Allowance-example.xml']) {
      const xml = readFileSync(join(standardsHome(), rel), 'utf-8');
      const inv = readUbl(xml, { file: rel });
      const again = readUbl(writeUbl(inv), { file: rel });
      assert.deepEqual(again.totals, inv.totals);
      assert.deepEqual(again.vatBreakdown, inv.vatBreakdown);
      assert.deepEqual(again.seller, inv.seller);
      assert.deepEqual(again.buyer, inv.buyer);
      assert.deepEqual(again.lines, inv.lines);
      assert.ok(inv.lines.length > 0);
    }
  });

  it('the inbox-sample invoices with a UBL route pass Peppol BIS 3 and NLCIUS', async () => {
    const results: string[] = [];
    let checked = 0;
    for (const sample of ['access/orders_20261130.csv', 'erp/facturen_20261130.xml']) {
      const file = join(SAMPLES, sample);
      for (const item of await prepareAll(file, undefined, { folder: basename(dirname(file)) })) {
        if (!item.ok || !item.deliveries.some((d) => d.format === 'ubl')) continue;
        const invoice = { ...item.invoice, number: item.invoice.number ?? `2026-${String(++checked).padStart(5, '0')}` };
        for (const profile of ['peppol', 'nlcius'] as const) {
          // fatal findings fail; for NLCIUS the "not recommended" account name and BIC warnings must not appear either
          const findings = (await engine.validate(writeUbl(invoice, { profile }), profile)).filter(
            (f) => f.severity === 'fatal' || f.rule === 'BR-NL-30' || f.rule === 'BR-NL-31',
          );
          if (findings.length) results.push(`${invoice.number} ${profile}: ${findings.map((f) => `${f.rule} ${f.message}`).join('; ')}`);
          checked++;
        }
      }
    }
    assert.deepEqual(results, []);
    assert.ok(checked >= 8, `checked ${checked} documents`);
  });

  it('a hybrid route embeds the PDF rendition: the UBL still passes Peppol BIS 3 and the PDF inside reads back', async () => {
    const config = shippedConfig();
    configureFormats(config.sellers.sellers, config.configDir);
    const item = (await prepareAll(join(SAMPLES, 'access', 'orders_20261130.csv'), undefined, { folder: 'access' })).find((i) => i.ok);
    assert.ok(item && item.ok);
    const invoice = { ...item.invoice, number: '2026-00042', payment: { ...item.invoice.payment!, paymentReference: '2026-00042' } };
    const rendered = await renderDocument('ubl', invoice, { profile: 'peppol', embedPdf: true }, '2026-00042');
    const xml = rendered.content.toString('utf-8');
    const findings = (await engine.validate(xml, 'peppol')).filter((f) => f.severity === 'fatal');
    assert.deepEqual(findings, []);
    const embedded = /<cbc:EmbeddedDocumentBinaryObject mimeCode="application\/pdf" filename="([^"]+)">([^<]+)</.exec(xml);
    assert.ok(embedded, 'an AdditionalDocumentReference with the PDF');
    assert.equal(embedded[1], '2026-00042.pdf');
    const pdf = Buffer.from(embedded[2]!, 'base64');
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    const text = spawnSync('pdftotext', ['-layout', '-', '-'], { input: pdf, encoding: 'utf-8' }).stdout;
    assert.match(text, /2026-00042/);
    assert.ok(text.includes(formatDecimal(invoice.totals.payableAmount, 'nl')), `the PDF shows the amount due ${invoice.totals.payableAmount}`);
    // the reader keeps it as a supporting document, so a hybrid invoice dropped back in loses nothing
    assert.ok(readUbl(xml, { file: 'hybrid.xml' }).attachments?.some((a) => a.mimeCode === 'application/pdf'));
  });

  it('a hybrid PDF carries its UBL where every reader finds it, and the gate finds the same UBL in it and beside it', async () => {
    const config = shippedConfig();
    configureFormats(config.sellers.sellers, config.configDir);
    const item = (await prepareAll(join(SAMPLES, 'access', 'orders_20261130.csv'), undefined, { folder: 'access' })).find((i) => i.ok);
    assert.ok(item && item.ok);
    const invoice = numbered(item.invoice, '2026-00043');
    const options = { profile: 'peppol' as const, hybrid: true, attachUbl: true };
    assert.equal(carriedEInvoice({ format: 'pdf', options }, invoice)?.label, 'peppol UBL');
    assert.equal(carriedEInvoice({ format: 'pdf', options: { profile: 'nlcius' } }, invoice), undefined, 'a plain PDF carries none');
    const rendered = await renderDocument('pdf', invoice, options, '2026-00043');
    const carried = await carriedXml(rendered);
    assert.deepEqual(
      carried.map((c) => c.where),
      ['2026-00043.xml embedded in 2026-00043.pdf', '2026-00043.xml attached'],
    );
    const expected = writeUbl(invoice, { profile: 'peppol' });
    for (const c of carried) assert.equal(c.content.toString('utf-8'), expected);
    // poppler, which knows nothing of our reader, sees the same embedded file
    const dir = mkdtempSync(join(tmpdir(), 'hybrid-'));
    writeFileSync(join(dir, 'hybrid.pdf'), rendered.content);
    const detach = spawnSync('pdfdetach', ['-saveall', '-o', dir, join(dir, 'hybrid.pdf')], { encoding: 'utf-8' });
    assert.equal(detach.status, 0, detach.stderr);
    assert.equal(readFileSync(join(dir, '2026-00043.xml'), 'utf-8'), expected);
    assert.deepEqual(
      (await engine.validate(carried[0]!.content, 'peppol')).filter((f) => f.severity === 'fatal'),
      [],
    );
  });

  it('the shipped webshop order for a Belgian business passes Peppol once it has shipped', async () => {
    const items = await prepareAll(join(SAMPLES, 'webshop', 'orders-20261130-0600.json'), undefined, { folder: 'webshop' });
    const be = items.find((i) => i.ok && i.key === 'WS-100232');
    assert.ok(be && be.ok);
    const shipped = { ...be.invoice, number: '2026-00099', delivery: { ...be.invoice.delivery, date: '2026-12-01' } };
    const findings = (await engine.validate(writeUbl(shipped, { profile: 'peppol' }), 'peppol')).filter((f) => f.severity === 'fatal');
    assert.deepEqual(findings, []);
  });

  it('a UBL passed through keeps a second payment account, BT-8, its ProfileID and a LOC tax scheme, and gets no PaymentID it did not have', async () => {
    const base = readFileSync(join(standardsHome(), 'peppol-bis-3/rules/examples/base-example.xml'), 'utf-8');
    const account = (iban: string) =>
      `<cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode><cac:PayeeFinancialAccount><cbc:ID>${iban}</cbc:ID></cac:PayeeFinancialAccount></cac:PaymentMeans>`;
    const xml = base
      .replace('<cbc:PaymentID>Snippet1</cbc:PaymentID>', '')
      .replace('</cac:PaymentMeans>', `</cac:PaymentMeans>${account('NL91ABNA0417164300')}`)
      .replace(
        '<cbc:BuyerReference>0150abc</cbc:BuyerReference>',
        '<cbc:BuyerReference>0150abc</cbc:BuyerReference><cac:InvoicePeriod><cbc:DescriptionCode>35</cbc:DescriptionCode></cac:InvoicePeriod>',
      )
      .replace(
        '<cac:PartyLegalEntity>\n                <cbc:RegistrationName>SupplierOfficialName Ltd</cbc:RegistrationName>',
        '<cac:PartyTaxScheme><cbc:CompanyID>SE-LOC-1</cbc:CompanyID><cac:TaxScheme><cbc:ID>LOC</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme><cac:PartyLegalEntity>\n                <cbc:RegistrationName>SupplierOfficialName Ltd</cbc:RegistrationName>',
      );
    const original = readUbl(xml, { file: 'passthrough.xml' });
    assert.equal(original.payment?.additionalAccounts?.[0]?.iban, 'NL91ABNA0417164300', 'the edit must have taken');
    // the ledger numbers a passed-through document with its own number and leaves its payment instructions alone
    const stored = numbered({ ...original, meta: { ...original.meta, amountsDeclared: true } }, original.number!);
    const written = writeUbl(stored, { profile: 'peppol' });
    const again = readUbl(written, { file: 'passthrough.xml' });
    assert.equal(again.payment?.paymentReference, undefined, 'no PaymentID added');
    assert.deepEqual(again.payment?.additionalAccounts, [{ meansCode: '30', iban: 'NL91ABNA0417164300' }]);
    assert.equal(again.period?.descriptionCode, '35');
    assert.equal(again.businessProcess, 'urn:fdc:peppol.eu:2017:poacc:billing:01:1.0');
    assert.equal(again.seller.taxRegistrationScheme, 'LOC');
    assert.equal(again.seller.taxRegistrationId, 'SE-LOC-1');
  });

  it('dates with a time zone: calendar dates in the model, written back as they came, judged by the profile (EN 16931 accepts them, Peppol refuses with F001)', async () => {
    const base = readFileSync(join(standardsHome(), 'peppol-bis-3/rules/examples/base-example.xml'), 'utf-8');
    const xml = base
      .replace('<cbc:IssueDate>2017-11-13</cbc:IssueDate>', '<cbc:IssueDate>2017-11-13+01:00</cbc:IssueDate>')
      .replace('<cbc:ActualDeliveryDate>2017-11-01</cbc:ActualDeliveryDate>', '<cbc:ActualDeliveryDate>2017-11-01Z</cbc:ActualDeliveryDate>');
    const read = readUbl(xml, { file: 'zoned.xml' });
    assert.equal(read.issueDate, '2017-11-13');
    assert.equal(read.delivery?.date, '2017-11-01');
    assert.equal(read.dueDate, '2017-12-01');
    assert.deepEqual(read.meta.dateZones, { issueDate: '+01:00', 'delivery.date': 'Z' });
    assert.deepEqual(
      checkInvoice(read).violations.map((v) => v.rule),
      [],
      "the gateway's own checks take the dates",
    );
    for (const profile of ['en16931', 'peppol'] as const) {
      const written = writeUbl(read, { profile });
      assert.match(written, /<cbc:IssueDate>2017-11-13\+01:00<\/cbc:IssueDate>/);
      assert.match(written, /<cbc:ActualDeliveryDate>2017-11-01Z<\/cbc:ActualDeliveryDate>/);
      assert.match(written, /<cbc:DueDate>2017-12-01<\/cbc:DueDate>/);
      const fatal = (await engine.validate(written, profile)).filter((f) => f.severity === 'fatal').map((f) => f.rule);
      if (profile === 'en16931') assert.deepEqual(fatal, [], 'EN 16931 allows a date with a time zone');
      else assert.deepEqual([...new Set(fatal)], ['PEPPOL-EN16931-F001'], 'Peppol refuses it, under its own rule');
    }
  });
});
