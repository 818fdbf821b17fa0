import { DOMParser } from '@xmldom/xmldom';

/**
 * The business terms a UBL document states, as a multiset of "path[attributes]=value" for each
 * element that holds a value: element order and namespace prefixes do not count, decimals count by
 * value ("1.50" is "1.5"), xsd:booleans by meaning. Left out, as they are not business terms or are
 * set by the route: BT-24 (UBL's CustomizationID, CII's guideline: the route's profile), UBLVersionID, UBLExtensions,
 * schemaLocation, the scheme attributes of VAT scheme and category ids (fixed by the syntax binding),
 * a tax scheme with no CompanyID beside it, elements with no value, and the UBL elements EN 16931's syntax binding does not use.
 */
export function businessTerms(xml: string): Map<string, number> {
  const doc = new DOMParser({ errorHandler: () => undefined }).parseFromString(xml, 'text/xml');
  const terms = new Map<string, number>();
  const add = (key: string): void => {
    terms.set(key, (terms.get(key) ?? 0) + 1);
  };
  const walk = (el: Element, parentPath: string): void => {
    const name = el.localName ?? el.nodeName;
    // UBLExtensions, and CreditAccount (a UBL element outside EN 16931's syntax binding)
    if (name === 'UBLExtensions' || name === 'CreditAccount') return;
    const path = parentPath ? `${parentPath}/${name}` : name;
    const attrs: string[] = [];
    for (let i = 0; i < el.attributes.length; i++) {
      const a = el.attributes.item(i)!;
      const local = a.localName ?? a.name;
      if (a.name.startsWith('xmlns') || local === 'schemaLocation') continue;
      if (local === 'schemeID' && /(TaxScheme|TaxCategory|ClassifiedTaxCategory)\/ID$/.test(path)) continue;
      if (local === 'listID' && path.endsWith('TaxExemptionReasonCode')) continue;
      attrs.push(`@${local}=${a.value}`);
    }
    const children: Element[] = [];
    for (let c = el.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) children.push(c as Element);
    if (children.length) {
      for (const a of attrs) add(`${path}${a}`);
      for (const c of children) walk(c, path);
      return;
    }
    if (name === 'CustomizationID' || name === 'UBLVersionID' || path.endsWith('GuidelineSpecifiedDocumentContextParameter/ID')) return;
    let value = (el.textContent ?? '').trim().replace(/\s+/g, ' ');
    // an element with no value states nothing, whatever its attributes
    if (!value) return;
    if (path.endsWith('PartyTaxScheme/TaxScheme/ID')) {
      const scheme = el.parentNode?.parentNode;
      const hasCompanyId = Array.from(scheme?.childNodes ?? []).some((c) => (c as Element).localName === 'CompanyID');
      if (!hasCompanyId) return;
    }
    if (path.endsWith('ChargeIndicator')) value = value === 'true' || value === '1' ? 'true' : 'false';
    else if (/^[+-]?\d+\.\d+$/.test(value)) value = value.replace(/0+$/, '').replace(/\.$/, '');
    add(`${path}${attrs.length ? `[${attrs.sort().join(',')}]` : ''}=${value}`);
  };
  if (doc.documentElement) walk(doc.documentElement, '');
  return terms;
}

/** What one multiset of business terms has that the other has not: lost (in `before` only) and added. */
export function termsDiff(before: Map<string, number>, after: Map<string, number>): { lost: string[]; added: string[] } {
  const missing = (a: Map<string, number>, b: Map<string, number>): string[] => [...a].filter(([key, n]) => (b.get(key) ?? 0) < n).map(([key]) => key);
  return { lost: missing(before, after), added: missing(after, before) };
}
