/** One variant of a KoSIT test instance, and the rule it must (invalid) or must not (valid) fire. */
export interface Mutation {
  id: string;
  xml: string;
  /** the rules it names (one or more) */
  rules: string[];
  expect: 'valid' | 'invalid';
}

/** Where the element after `from` starts and ends (its end tag included), skipping whitespace, comments and PIs. */
function nextElement(xml: string, from: number): { start: number; end: number; contentStart: number; contentEnd: number; tagEnd: number } | undefined {
  const open = /<([A-Za-z_][\w.:-]*)(?:"[^"]*"|'[^']*'|[^'">])*?(\/?)>/g;
  let at = from;
  for (;;) {
    const skip = /^(\s+|<!--[\s\S]*?-->|<\?[\s\S]*?\?>)/.exec(xml.slice(at));
    if (!skip) break;
    at += skip[0].length;
  }
  open.lastIndex = at;
  const m = open.exec(xml);
  if (!m || m.index !== at) return undefined;
  const name = m[1]!;
  const contentStart = m.index + m[0].length;
  if (m[2]) return { start: at, end: contentStart, contentStart, contentEnd: contentStart, tagEnd: contentStart };
  // the matching end tag: count nested elements of the same name
  const tags = new RegExp(`<(/?)${name.replace(/[.]/g, '\\.')}(?:\\s[^>]*?)?(/?)>`, 'g');
  tags.lastIndex = contentStart;
  let depth = 1;
  for (let t = tags.exec(xml); t; t = tags.exec(xml)) {
    if (t[2]) continue;
    depth += t[1] ? -1 : 1;
    if (depth === 0) return { start: at, end: t.index + t[0].length, contentStart, contentEnd: t.index, tagEnd: contentStart };
  }
  return undefined;
}

const attribute = (pi: string, name: string): string | undefined => new RegExp(`${name}="([^"]*)"`).exec(pi)?.[1];

/**
 * The variants an XRechnung test instance describes with its `<?xmute ...?>` instructions (the
 * KoSIT test-suite notation): identity (as it is), remove (the next element taken out), empty (its
 * text emptied) and code (its text replaced by each listed value). Other mutators are left out.
 */
export function xmuteVariants(xml: string): Mutation[] {
  const out: Mutation[] = [];
  const pis = /<\?xmute\s([\s\S]*?)\?>/g;
  for (let m = pis.exec(xml); m; m = pis.exec(xml)) {
    const pi = m[1]!;
    const mutator = attribute(pi, 'mutator');
    const validRule = attribute(pi, 'schematron-valid');
    const invalidRule = attribute(pi, 'schematron-invalid');
    const qualified = validRule ?? invalidRule;
    if (!qualified) continue;
    const rules = qualified
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((r) => r.replace(/^[a-z]+:/, ''));
    const expect = validRule ? 'valid' : 'invalid';
    const id = attribute(pi, 'id') ?? `${mutator}-${m.index}`;
    const target = nextElement(xml, m.index + m[0].length);
    const onAttribute = attribute(pi, 'attribute');
    /** The document with the target's text (or the named attribute's value) set to `value`. */
    const withValue = (value: string): string | undefined => {
      if (!target) return undefined;
      if (!onAttribute) return xml.slice(0, target.contentStart) + value + xml.slice(target.contentEnd);
      const tag = xml.slice(target.start, target.tagEnd);
      const changed = tag.replace(new RegExp(`(\\s${onAttribute}=")[^"]*(")`), `$1${value}$2`);
      return changed === tag ? undefined : xml.slice(0, target.start) + changed + xml.slice(target.tagEnd);
    };
    const push = (variant: string | undefined, suffix = ''): void => {
      if (variant !== undefined) out.push({ id: `${id}${suffix}`, xml: variant, rules, expect });
    };
    if (mutator === 'identity') push(xml);
    else if (target && mutator === 'remove') push(xml.slice(0, target.start) + xml.slice(target.end));
    else if (mutator === 'empty') push(withValue(''));
    else if (mutator === 'code')
      for (const value of (attribute(pi, 'values') ?? '').split(',')) if (value.trim()) push(withValue(value.trim()), `:${value.trim()}`);
  }
  return out;
}
