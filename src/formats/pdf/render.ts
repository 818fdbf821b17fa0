import { withLineBreaks } from '../text.js';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import * as fontkit from 'fontkit';
import PDFDocument from 'pdfkit';
import { dec } from '../../model/decimal.js';
import { formatDate, formatMoney } from '../../model/display.js';
import { isCreditNote, type CalculatedInvoice, type Party } from '../../model/invoice.js';
import { fill, LABELS, type Labels } from './labels.js';
import { present } from './presentation.js';

const require = createRequire(import.meta.url);
/** DejaVu Sans from npm (dejavu-fonts-ttf): euro sign, diacritics and the ĳ ligature, embedded as TrueType. */
const FONT_DIR = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');

let parsedFonts: { body: PDFKit.Mixins.PDFFontSource; bold: PDFKit.Mixins.PDFFontSource } | undefined;

/**
 * The fonts parsed once per process: pdfkit accepts a parsed fontkit font, and parsing DejaVu's 700 kB per
 * document was most of a PDF's rendering time. Each document still embeds its own subset.
 */
function fonts(): NonNullable<typeof parsedFonts> {
  parsedFonts ??= { body: loadFont('DejaVuSans.ttf'), bold: loadFont('DejaVuSans-Bold.ttf') };
  return parsedFonts;
}

function loadFont(file: string): PDFKit.Mixins.PDFFontSource {
  return fontkit.create(readFileSync(join(FONT_DIR, file))) as unknown as PDFKit.Mixins.PDFFontSource;
}

/** What the PDF needs besides the invoice. */
export interface PdfOptions {
  language?: 'nl' | 'en';
  /** a logo image (PNG or JPEG) */
  logo?: string;
  /** the invoice's UBL, embedded as the machine-readable alternative (a hybrid invoice) */
  ubl?: { fileName: string; content: Buffer };
  /** the invoice's CII, embedded as factur-x.xml with the Factur-X metadata: a Factur-X / ZUGFeRD invoice */
  facturX?: { cii: Buffer; conformanceLevel: FacturXLevel };
  website?: string;
}

/** Factur-X 1.0's conformance levels the gateway writes (the model carries every EN 16931 term, so no subset is needed). */
export type FacturXLevel = 'EN 16931';

/** The name Factur-X and ZUGFeRD 2 give the embedded invoice. */
export const FACTUR_X_FILE = 'factur-x.xml';

/** The XMP a Factur-X reader looks for: the fx properties, and the PDF/A extension schema that declares them. */
function facturXMetadata(level: FacturXLevel): string {
  const fx = 'urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#';
  const property = (name: string, description: string): string =>
    `<rdf:li rdf:parseType="Resource"><pdfaProperty:name>${name}</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType>` +
    `<pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>${description}</pdfaProperty:description></rdf:li>`;
  return (
    `<rdf:Description rdf:about="" xmlns:fx="${fx}"><fx:DocumentType>INVOICE</fx:DocumentType><fx:DocumentFileName>${FACTUR_X_FILE}</fx:DocumentFileName>` +
    `<fx:Version>1.0</fx:Version><fx:ConformanceLevel>${level}</fx:ConformanceLevel></rdf:Description>\n` +
    `<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">` +
    `<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource"><pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>` +
    `<pdfaSchema:namespaceURI>${fx}</pdfaSchema:namespaceURI><pdfaSchema:prefix>fx</pdfaSchema:prefix><pdfaSchema:property><rdf:Seq>` +
    property('DocumentFileName', 'The name of the embedded XML document') +
    property('DocumentType', 'The type of the hybrid document in capital letters, e.g. INVOICE or ORDER') +
    property('Version', 'The actual version of the standard applying to the embedded XML document') +
    property('ConformanceLevel', 'The conformance level of the embedded XML document') +
    `</rdf:Seq></pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>`
  );
}

const PAGE = { width: 595.28, height: 841.89, margin: 50 };
const COLUMNS = [
  { key: 'description', x: 50, width: 215, align: 'left' as const },
  { key: 'quantity', x: 265, width: 50, align: 'right' as const },
  { key: 'unit', x: 320, width: 40, align: 'left' as const },
  { key: 'price', x: 360, width: 65, align: 'right' as const },
  { key: 'vat', x: 425, width: 40, align: 'right' as const },
  { key: 'amount', x: 465, width: 80, align: 'right' as const },
];
function partyLines(p: Party): string[] {
  const a = p.address ?? {};
  return [
    p.name,
    p.contact?.name ? `t.a.v. ${p.contact.name}` : undefined,
    a.line1,
    a.line2,
    a.line3,
    [a.postalCode, a.city].filter(Boolean).join('  '),
    a.country && a.country !== 'NL' ? a.country : undefined,
  ].filter((l): l is string => Boolean(l));
}

function vatNote(category: string, l: Labels): string | undefined {
  switch (category) {
    case 'AE':
      return l.reverseCharge;
    case 'K':
      return l.intraCommunity;
    case 'E':
      return l.exempt;
    case 'G':
      return l.export;
    case 'O':
      return l.outOfScope;
    case 'B':
      return l.splitPayment;
    default:
      return undefined;
  }
}

/**
 * Renders a professional Dutch (or English) invoice, credit note or quotation as PDF/A-3b:
 * embedded TrueType font, lines that flow over pages with the header repeated, "page x of y",
 * VAT breakdown, totals, payment instruction and the legally required details.
 */
export async function renderPdf(invoice: CalculatedInvoice, options: PdfOptions = {}): Promise<Buffer> {
  // a CR in a description would be drawn as a missing-glyph box: every line break becomes a new line
  const inv = withLineBreaks(invoice, '\n');
  const lang = options.language ?? (inv.meta.language === 'en' ? 'en' : 'nl');
  const l: Labels = LABELS[lang];
  const cur = inv.currency;
  const money = (v: string) => formatMoney(v, cur, lang);
  const isQuote = inv.kind === 'quote';
  const isCredit = isCreditNote(inv);
  const shown = present(inv, lang);
  const title = shown.title;
  const { body, bold } = fonts();
  const doc = new PDFDocument({
    // our font from the start: pdfkit's default Helvetica would be parsed from its AFM file for every document
    font: body,
    size: 'A4',
    margin: PAGE.margin,
    bufferPages: true,
    pdfVersion: '1.7',
    subset: 'PDF/A-3b',
    tagged: false,
    lang: lang === 'en' ? 'en-GB' : 'nl-NL',
    info: {
      Title: `${title} ${inv.number ?? ''}`.trim(),
      Author: inv.seller.name,
      Subject: `${title} ${inv.number ?? ''} ${inv.buyer.name}`,
      Creator: 'invoice-gateway',
    },
    autoFirstPage: true,
  } as PDFKit.PDFDocumentOptions);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));
  doc.registerFont('body', body);
  doc.registerFont('bold', bold);
  doc.font('body');

  // Seller block and logo
  const s = inv.seller;
  let top = PAGE.margin;
  const logo = options.logo ? logoBytes(options.logo) : undefined;
  if (logo) {
    try {
      doc.image(logo, PAGE.margin, top, { fit: [160, 60] });
    } catch {
      // an unreadable logo must not stop an invoice
    }
  } else {
    doc
      .font('bold')
      .fontSize(16)
      .text(s.tradingName ?? s.name, PAGE.margin, top, { width: 260 });
  }
  const sellerLines = [
    s.name,
    s.address?.line1,
    [s.address?.postalCode, s.address?.city].filter(Boolean).join('  '),
    s.contact?.phone,
    s.contact?.email,
    options.website,
  ].filter((x): x is string => Boolean(x));
  doc.font('body').fontSize(8.5).fillColor('#333333').text(sellerLines.join('\n'), 345, top, { width: 200, align: 'right' });

  // Buyer address block (window envelope position)
  top = 150;
  doc.fillColor('black').fontSize(10).text(partyLines(inv.buyer).join('\n'), PAGE.margin, top, { width: 250 });
  if (inv.buyer.vatId) doc.fontSize(8.5).fillColor('#333333').text(`${l.buyerVat}: ${inv.buyer.vatId}`, { width: 250 });

  // Title and document details
  top = 250;
  doc.fillColor('black').font('bold').fontSize(18).text(title, PAGE.margin, top);
  const details: [string, string | undefined][] = [
    [isQuote ? l.quoteNumber : isCredit ? l.creditNumber : l.number, inv.number],
    [isQuote || isCredit ? l.quoteDate : l.date, formatDate(inv.issueDate, lang)],
    [isQuote ? l.validUntil : l.dueDate, isCredit ? undefined : formatDate(isQuote ? inv.validUntil : inv.dueDate, lang) || undefined],
    [l.customerNumber, inv.meta.customerKey],
    [l.yourReference, inv.buyerReference],
    [l.yourOrder, inv.orderReference],
    [l.orderNumber, inv.salesOrderReference],
    [l.project, inv.projectReference],
    [l.deliveryDate, inv.delivery?.date ? formatDate(inv.delivery.date, lang) : undefined],
    [l.period, inv.period ? `${formatDate(inv.period.start, lang)} – ${formatDate(inv.period.end, lang)}` : undefined],
  ];
  let y = top + 30;
  doc.fontSize(9);
  for (const [label, value] of details) {
    if (!value) continue;
    doc.font('body').fillColor('#555555').text(label, PAGE.margin, y, { width: 110 });
    doc
      .font('bold')
      .fillColor('black')
      .text(value, PAGE.margin + 110, y, { width: 200 });
    y += 13;
  }
  if (isCredit && inv.precedingInvoices?.length) {
    const p = inv.precedingInvoices[0]!;
    doc
      .font('body')
      .text(fill(l.creditFor, { number: p.number, date: p.issueDate ? ` (${formatDate(p.issueDate, lang)})` : '' }), PAGE.margin, y + 4, { width: 495 });
    y = doc.y + 4;
  }
  for (const note of inv.notes ?? []) {
    doc
      .font('body')
      .fillColor('#333333')
      .text(note, PAGE.margin, y + 4, { width: 495 });
    y = doc.y + 2;
  }

  // Lines table, flowing over pages with its header repeated
  const header = (atY: number): number => {
    doc.font('bold').fontSize(8.5).fillColor('black');
    for (const c of COLUMNS) doc.text(l[c.key as keyof Labels] as string, c.x, atY, { width: c.width, align: c.align });
    doc
      .moveTo(PAGE.margin, atY + 13)
      .lineTo(PAGE.width - PAGE.margin, atY + 13)
      .lineWidth(0.6)
      .strokeColor('#999999')
      .stroke();
    return atY + 18;
  };
  y = header(y + 16);
  const bottom = PAGE.height - PAGE.margin - 40;
  doc.font('body').fontSize(8.5);
  for (const line of shown.lines) {
    const description = line.texts.join('\n');
    const height = Math.max(doc.heightOfString(description, { width: COLUMNS[0]!.width - 5 }), 11);
    if (y + height > bottom) {
      doc.addPage();
      y = header(PAGE.margin);
      doc.font('body').fontSize(8.5);
    }
    const cells: Record<string, string> = { description, quantity: line.quantity, unit: line.unit, price: line.price, vat: line.vat, amount: line.amount };
    doc.fillColor('black');
    for (const c of COLUMNS) doc.text(cells[c.key] ?? '', c.x, y, { width: c.key === 'description' ? c.width - 5 : c.width, align: c.align });
    y += height + 4;
  }
  doc
    .moveTo(PAGE.margin, y)
    .lineTo(PAGE.width - PAGE.margin, y)
    .lineWidth(0.6)
    .strokeColor('#999999')
    .stroke();
  y += 8;

  // Document allowances/charges, VAT breakdown and totals
  const totalRows = shown.totals;
  if (y + totalRows.length * 14 + 120 > bottom) {
    doc.addPage();
    y = PAGE.margin;
  }
  for (const { label, amount: value, strong } of totalRows) {
    doc
      .font(strong ? 'bold' : 'body')
      .fontSize(strong ? 10 : 9)
      .fillColor('black');
    doc.text(label, 285, y, { width: 180, align: 'right' });
    doc.text(value, 465, y, { width: 80, align: 'right' });
    y += strong ? 16 : 13;
  }

  // Payment instruction and VAT notes
  y += 10;
  doc.font('body').fontSize(9).fillColor('black');
  const texts: string[] = [];
  if (isQuote) {
    if (inv.validUntil) texts.push(fill(l.quoteValid, { date: formatDate(inv.validUntil, lang) }));
  } else {
    const due = dec(inv.totals.payableAmount);
    if (isCredit) {
      if (!due.eq(0)) texts.push(fill(l.refund, { amount: money(due.abs().toFixed(2)) }));
    } else if (due.gt(0) && inv.payment?.iban) {
      texts.push(
        fill(l.payment, {
          amount: money(inv.totals.payableAmount),
          dueDate: formatDate(inv.dueDate, lang),
          iban: inv.payment.iban,
          accountName: inv.payment.accountName ?? inv.seller.name,
          reference: inv.payment.paymentReference ?? inv.number ?? '',
        }),
      );
    } else if (due.eq(0)) texts.push(l.paidInFull);
    else texts.push(fill(l.refund, { amount: money(due.abs().toFixed(2)) }));
  }
  for (const category of new Set(inv.vatBreakdown.map((b) => b.category))) {
    const note = vatNote(category, l);
    const reason = inv.vatBreakdown.find((b) => b.category === category)?.exemptionReason;
    if (note) texts.push(category === 'E' && reason && reason !== 'Exempt from VAT' ? `${note} ${reason}` : note);
  }
  if (inv.paymentTerms) texts.push(inv.paymentTerms);
  doc.text(texts.join('\n'), PAGE.margin, y, { width: 495 });

  // Footer with legal details and page numbers on every page
  const legal = [
    s.name,
    s.legalId ? `${l.kvk} ${s.legalId.id}` : undefined,
    s.vatId ? `${l.vatId} ${s.vatId}` : undefined,
    inv.payment?.iban ? `${l.iban} ${inv.payment.iban}` : undefined,
    inv.payment?.bic ? `${l.bic} ${inv.payment.bic}` : undefined,
  ]
    .filter(Boolean)
    .join('  ·  ');
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    doc.font('body').fontSize(7.5).fillColor('#555555');
    const footerY = PAGE.height - PAGE.margin - 22;
    doc
      .moveTo(PAGE.margin, footerY - 4)
      .lineTo(PAGE.width - PAGE.margin, footerY - 4)
      .lineWidth(0.4)
      .strokeColor('#bbbbbb')
      .stroke();
    doc.text(legal, PAGE.margin, footerY, { width: 495, lineBreak: false, height: 10 });
    doc.text(fill(l.page, { page: String(i + 1), pages: String(range.count) }), PAGE.margin, footerY + 11, {
      width: 495,
      align: 'right',
      lineBreak: false,
      height: 10,
    });
  }
  if (options.facturX) {
    const written = new Date();
    doc.file(options.facturX.cii, {
      name: FACTUR_X_FILE,
      type: 'text/xml',
      relationship: 'Alternative',
      description: `${title} ${inv.number ?? ''} (Factur-X)`,
      creationDate: written,
      modifiedDate: written,
    } as Parameters<PDFKit.PDFDocument['file']>[1]);
    (doc as unknown as { appendXML(xml: string): void }).appendXML(facturXMetadata(options.facturX.conformanceLevel));
  }
  if (options.ubl) {
    // PDF/A-3 (and Factur-X readers) want the embedded file's dates in its Params
    const written = new Date();
    doc.file(options.ubl.content, {
      name: options.ubl.fileName,
      type: 'application/xml',
      relationship: 'Alternative',
      description: `${title} ${inv.number ?? ''} (UBL)`,
      creationDate: written,
      modifiedDate: written,
    } as Parameters<PDFKit.PDFDocument['file']>[1]);
  }
  doc.end();
  return done;
}

const logos = new Map<string, Buffer | undefined>();

/** A logo's bytes, read once per process (a bulk run puts the same logo on thousands of PDFs). */
function logoBytes(file: string): Buffer | undefined {
  if (!logos.has(file)) logos.set(file, existsSync(file) ? readFileSync(file) : undefined);
  return logos.get(file);
}

/** A logo path from config, relative to the config folder. */
export function logoPath(configDir: string, logo: string | undefined): string | undefined {
  if (!logo) return undefined;
  return isAbsolute(logo) ? logo : join(configDir, logo);
}
