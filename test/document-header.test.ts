import { strict as assert } from 'node:assert';
import { documentHeader, syntaxOfRoot } from '../src/validation/header.js';
import { issueDateOf, profileOf } from '../src/validation/engine.js';

const NLCIUS = 'urn:cen.eu:en16931:2017#compliant#urn:fdc:nen.nl:nlcius:v1.0';

describe('the header that picks a document’s rules', () => {
  it('is read from the root’s own children, however much comes before them', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><!-- <cbc:CustomizationID>comment</cbc:CustomizationID> -->\n' +
      '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cbc="c" xmlns:ext="e">' +
      `<ext:UBLExtensions><ext:UBLExtension><ext:ExtensionContent><x:S xmlns:x="s" a="1>2"><cbc:IssueDate>2030-01-01</cbc:IssueDate><cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>${'x'.repeat(30_000)}</x:S></ext:ExtensionContent></ext:UBLExtension></ext:UBLExtensions>` +
      `<cbc:UBLVersionID/><cbc:CustomizationID>${NLCIUS.replace('#', '&#x23;')}</cbc:CustomizationID><cbc:ID>1</cbc:ID><cbc:IssueDate>2026-03-01</cbc:IssueDate></Invoice>`;
    assert.deepEqual(documentHeader(xml), { root: 'Invoice', customizationId: NLCIUS, issueDate: '2026-03-01' });
    assert.deepEqual(documentHeader(Buffer.from(xml, 'utf-8')), documentHeader(xml));
    assert.equal(profileOf(xml), 'nlcius');
    assert.equal(issueDateOf(xml), '2026-03-01');
  });

  it('reads a CII document’s guideline and issue date (format 102) from where CII puts them', () => {
    const xml =
      '<rsm:CrossIndustryInvoice xmlns:rsm="r" xmlns:ram="a" xmlns:udt="u"><rsm:ExchangedDocumentContext><ram:BusinessProcessSpecifiedDocumentContextParameter><ram:ID>A1</ram:ID></ram:BusinessProcessSpecifiedDocumentContextParameter>' +
      '<ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>' +
      '<rsm:ExchangedDocument><ram:ID>1</ram:ID><ram:TypeCode>380</ram:TypeCode><ram:IssueDateTime><udt:DateTimeString format="102">20260401</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument></rsm:CrossIndustryInvoice>';
    assert.deepEqual(documentHeader(xml), { root: 'CrossIndustryInvoice', customizationId: 'urn:cen.eu:en16931:2017', issueDate: '2026-04-01' });
    assert.equal(syntaxOfRoot('CrossIndustryInvoice'), 'cii');
    assert.equal(issueDateOf(xml), '2026-04-01');
  });

  it('says nothing it does not find (then the plain EN 16931 rules and today’s release apply)', () => {
    assert.deepEqual(documentHeader('<CreditNote xmlns="x"><ID>1</ID></CreditNote>'), { root: 'CreditNote' });
    assert.equal(profileOf('<Invoice/>'), 'en16931');
    assert.equal(issueDateOf('<Invoice><IssueDate>yesterday</IssueDate></Invoice>'), undefined);
  });
});
