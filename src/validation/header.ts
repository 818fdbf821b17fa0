/** What picks a document's rules: its root element and the header's CustomizationID and IssueDate. */
export interface DocumentHeader {
  /** local name of the root element (Invoice, CreditNote, CrossIndustryInvoice) */
  root?: string;
  customizationId?: string;
  issueDate?: string;
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeText(raw: string): string {
  return raw
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')
    .replace(/&(?:#x([0-9a-fA-F]+)|#(\d+)|(amp|lt|gt|quot|apos));/g, (_m, hex: string, dec: string, name: string) =>
      hex ? String.fromCodePoint(parseInt(hex, 16)) : dec ? String.fromCodePoint(Number(dec)) : PREDEFINED[name]!,
    )
    .trim();
}

/**
 * Reads the header from the whole document, not from a window at its start: the root's own children
 * are found by depth, so a large UBLExtensions (or a nested IssueDate) cannot hide or fake them.
 * Stops as soon as both are found, so the cost is the size of what comes before them.
 */
export function documentHeader(xml: string | Buffer): DocumentHeader {
  // tags and these two values are ASCII in every encoding XML allows here except UTF-16, which the gateway does not take
  const text = Buffer.isBuffer(xml) ? xml.toString('latin1') : xml;
  const header: DocumentHeader = {};
  const token = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<(\/?)(?:[\w.-]+:)?([\w.-]+)(?:"[^"]*"|'[^']*'|[^'">])*?(\/?)>/g;
  let depth = 0;
  for (let m = token.exec(text); m; m = token.exec(text)) {
    const name = m[2];
    if (!name) continue;
    if (m[1]) {
      depth--;
      continue;
    }
    if (depth === 0 && header.root === undefined) header.root = name;
    if (depth === 1 && (name === 'CustomizationID' || name === 'IssueDate') && !m[3]) {
      const end = text.indexOf('</', token.lastIndex);
      if (end === -1) break;
      const value = decodeText(text.slice(token.lastIndex, end));
      if (name === 'CustomizationID') header.customizationId ??= value;
      else header.issueDate ??= value;
      if (header.customizationId !== undefined && header.issueDate !== undefined) break;
    }
    if (!m[3]) depth++;
  }
  return header;
}
