/** Display helpers shared by the PDF and the e-mail texts: exact, from the decimal text, no floats. */

const CURRENCY_SYMBOLS: Record<string, string> = { EUR: '€', USD: '$', GBP: '£' };

/** "1234.5" → "1.234,50" (nl) or "1,234.50" (en); the text is already a decimal, never a float. */
export function formatDecimal(text: string, language: string, decimals = 2): string {
  const negative = text.startsWith('-');
  const [whole = '0', frac = ''] = text.replace(/^[-+]/, '').split('.');
  const fraction = frac.length >= decimals ? frac.replace(/0+$/, '').padEnd(decimals, '0') : frac.padEnd(decimals, '0');
  const [group, point] = language === 'en' ? [',', '.'] : ['.', ','];
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, group);
  return `${negative ? '-' : ''}${grouped}${fraction ? point + fraction : ''}`;
}

/** "€ 1.234,50" (nl) or "€1,234.50" (en); other currencies by their code. */
export function formatMoney(text: string, currency: string, language: string): string {
  const symbol = CURRENCY_SYMBOLS[currency] ?? currency;
  const amount = formatDecimal(text, language, 2);
  const negative = amount.startsWith('-');
  const body = negative ? amount.slice(1) : amount;
  const sign = negative ? '-' : '';
  // Dutch puts the sign after the symbol ("€ -9,00", as Dutch invoices print it); English before it ("-€9.00")
  return language === 'en' ? `${sign}${symbol}${symbol.length > 1 ? ' ' : ''}${body}` : `${symbol} ${sign}${body}`;
}

/** "2026-11-30" → "30-11-2026" (nl) or "30 Nov 2026" (en). */
export function formatDate(iso: string | undefined, language: string): string {
  if (!iso) return '';
  const [y, m, d] = iso.split('-');
  if (language === 'en') {
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    return `${Number(d)} ${months[Number(m) - 1]} ${y}`;
  }
  return `${d}-${m}-${y}`;
}
