import { cdataAsText, decodeXmlReferences } from '../readers/xml-text.js';

/** The syntax of an e-invoice: UBL 2.1 (Invoice, CreditNote) or UN/CEFACT CII D16B (CrossIndustryInvoice). */
export type InvoiceSyntax = 'ubl' | 'cii';

/** What picks a document's rules: its root element and the header's customisation (BT-24) and issue date (BT-2). */
export interface DocumentHeader {
  /** local name of the root element (Invoice, CreditNote, CrossIndustryInvoice) */
  root?: string;
  customizationId?: string;
  /** yyyy-mm-dd as stated (CII's 102 format, yyyymmdd, is given as yyyy-mm-dd) */
  issueDate?: string;
}

/** The syntax a root element names, or undefined for anything else. */
export function syntaxOfRoot(root: string | undefined): InvoiceSyntax | undefined {
  return root === 'Invoice' || root === 'CreditNote' ? 'ubl' : root === 'CrossIndustryInvoice' ? 'cii' : undefined;
}

/** The text of an element: CDATA as it stands, references decoded once, trimmed. */
function decodeText(raw: string): string {
  return decodeXmlReferences(cdataAsText(raw)).trim();
}

/** Where BT-24 and BT-2 sit below the root, per syntax (local names). */
const PLACES: Record<InvoiceSyntax, { customizationId: string; issueDate: string }> = {
  ubl: { customizationId: 'CustomizationID', issueDate: 'IssueDate' },
  cii: {
    customizationId: 'ExchangedDocumentContext/GuidelineSpecifiedDocumentContextParameter/ID',
    issueDate: 'ExchangedDocument/IssueDateTime/DateTimeString',
  },
};

/**
 * Reads the header from the whole document, not from a window at its start: elements are found by
 * their path below the root, so a large UBLExtensions (or an IssueDate nested in one) cannot hide or
 * fake them. Stops as soon as both are found, so the cost is the size of what comes before them.
 */
export function documentHeader(xml: string | Buffer): DocumentHeader {
  // tags and these two values are ASCII in every encoding XML allows here except UTF-16, which the gateway does not take
  const text = Buffer.isBuffer(xml) ? xml.toString('latin1') : xml;
  const header: DocumentHeader = {};
  const token = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<(\/?)(?:[\w.-]+:)?([\w.-]+)(?:"[^"]*"|'[^']*'|[^'">])*?(\/?)>/g;
  const path: string[] = [];
  let places: { customizationId: string; issueDate: string } | undefined;
  for (let m = token.exec(text); m; m = token.exec(text)) {
    const name = m[2];
    if (!name) continue;
    if (m[1]) {
      path.pop();
      continue;
    }
    if (header.root === undefined) {
      header.root = name;
      places = PLACES[syntaxOfRoot(name) ?? 'ubl'];
    } else if (places && !m[3]) {
      const here = [...path.slice(1), name].join('/');
      const field = here === places.customizationId ? 'customizationId' : here === places.issueDate ? 'issueDate' : undefined;
      if (field && header[field] === undefined) {
        const end = text.indexOf('</', token.lastIndex);
        if (end === -1) break;
        const value = decodeText(text.slice(token.lastIndex, end));
        header[field] = field === 'issueDate' && /^\d{8}$/.test(value) ? `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6)}` : value;
        if (header.customizationId !== undefined && header.issueDate !== undefined) break;
      }
    }
    if (!m[3]) path.push(name);
  }
  return header;
}
