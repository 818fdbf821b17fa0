import { ReaderError } from '../errors.js';
import { embeddedFiles } from '../formats/pdf/embedded-files.js';
import type { CalculatedInvoice } from '../model/invoice.js';
import { documentHeader, syntaxOfRoot } from '../validation/header.js';
import { readCii } from './cii.js';
import type { ReadContext } from './record.js';
import { readUbl } from './ubl.js';

/** The names Factur-X, ZUGFeRD and XRechnung give the invoice inside a PDF, best first. */
const EMBEDDED_NAMES = ['factur-x.xml', 'zugferd-invoice.xml', 'xrechnung.xml'];

/** The e-invoice inside a hybrid PDF (Factur-X / ZUGFeRD, or a UBL embedded by a hybrid route). */
export async function embeddedInvoice(pdf: Buffer, ctx: ReadContext): Promise<{ name: string; content: Buffer }> {
  let files;
  try {
    files = await embeddedFiles(pdf);
  } catch (err) {
    throw new ReaderError(`the PDF cannot be read: ${(err as Error).message}`, { file: ctx.file, attachment: ctx.attachment });
  }
  const xml = files.filter((f) => syntaxOfRoot(documentHeader(f.content).root) !== undefined);
  const chosen = EMBEDDED_NAMES.map((n) => xml.find((f) => f.name.toLowerCase() === n)).find(Boolean) ?? xml[0];
  if (!chosen) {
    const names = files.map((f) => f.name).join(', ');
    throw new ReaderError(
      `the PDF carries no e-invoice (no embedded factur-x.xml, or any UBL or CII file${names ? `; it embeds ${names}` : ''}); a plain PDF cannot be read, ask for a Factur-X / ZUGFeRD PDF or the XML itself`,
      { file: ctx.file, attachment: ctx.attachment },
    );
  }
  return chosen;
}

/**
 * Reads an e-invoice in whichever form it came: UBL (Invoice, CreditNote), UN/CEFACT CII, or a
 * Factur-X / ZUGFeRD PDF with its CII (or a hybrid PDF with its UBL) inside.
 */
export async function readEInvoice(bytes: Buffer, ctx: ReadContext): Promise<CalculatedInvoice> {
  let content = bytes;
  let where = ctx;
  if (isPdf(bytes)) {
    const embedded = await embeddedInvoice(bytes, ctx);
    content = embedded.content;
    where = { ...ctx, attachment: `${embedded.name} in ${ctx.attachment ?? ctx.file}` };
  }
  const root = documentHeader(content).root;
  const syntax = syntaxOfRoot(root);
  if (syntax === 'cii') return readCii(content, where);
  if (syntax === 'ubl') return readUbl(content, where);
  throw new ReaderError(
    `not an e-invoice: the root element is ${root ? `<${root}>` : 'missing'}, where a UBL <Invoice> or <CreditNote> or a CII <CrossIndustryInvoice> was expected`,
    { file: ctx.file, attachment: ctx.attachment, line: 1 },
  );
}

/** Whether bytes are a PDF (its header may follow a little garbage, as PDF readers allow). */
export function isPdf(bytes: Buffer): boolean {
  return bytes.subarray(0, 1024).includes('%PDF-');
}
