/**
 * One measurement of CSV → canonical invoices, run in its own process:
 *   node dist/bench/csv-mapping.js generate <file> <invoices> <linesPerInvoice>
 *   node dist/bench/csv-mapping.js baseline <file>   (csv-parse + iconv-lite only)
 *   node dist/bench/csv-mapping.js gateway <file>    (read, map, check, route)
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { parse } from 'csv-parse';
import iconv from 'iconv-lite';
import { loadConfig } from '../src/config/load.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { prepareFile } from '../src/service/prepare.js';
import { peakRssMb } from './support.js';

const HEADER = 'Ordernr;Orderdatum;Debiteur;Referentie klant;Regel;Artikel;Omschrijving;Aantal;Eenheid;Prijs excl.;Korting %;BTW %';
const CUSTOMERS = ['10001', '10003', '10004'];
const ITEMS = [
  ['KOF-100', 'Koffiebonen Crème Brûlée 1 kg', 'kg', '14,95', '9'],
  ['GAG-PRO', 'Espressomachine Gaggia Classic Pro', 'st', '1.249,95', '21'],
  ['ENV-C5', '"Enveloppen C5; wit, per stuk"', 'st', '0,0125', '21'],
  ['PAP-A4', 'Kopieerpapier A4 80 g (doos à 5 pakken)', 'doos', '24,99', '21'],
  ['SRV-UUR', 'Onderhoud espressomachine (uren)', 'uur', '65,00', '21'],
];

async function generate(file: string, invoices: number, linesPerInvoice: number): Promise<void> {
  const out = createWriteStream(file);
  const write = async (text: string): Promise<void> => {
    if (!out.write(iconv.encode(text, 'windows-1252'))) await once(out, 'drain');
  };
  await write(`${HEADER}\r\n`);
  let chunk = '';
  for (let i = 0; i < invoices; i++) {
    const order = 100000 + i;
    const customer = CUSTOMERS[i % CUSTOMERS.length];
    for (let l = 0; l < linesPerInvoice; l++) {
      const [sku, name, unit, price, vat] = ITEMS[(i + l) % ITEMS.length]!;
      chunk += `${order};28-11-2026;${customer};PO-${i};${l + 1};${sku};${name};${(l % 7) + 1};${unit};${price};${l % 3 === 0 ? '5' : ''};${vat}\r\n`;
    }
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  out.end();
  await once(out, 'finish');
}

async function baseline(file: string): Promise<Record<string, number>> {
  const started = process.hrtime.bigint();
  let lines = 0;
  const parser = createReadStream(file)
    .pipe(iconv.decodeStream('windows-1252'))
    .pipe(parse({ delimiter: ';', columns: true }));
  for await (const _record of parser) lines++;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { lines, seconds, linesPerSecond: lines / seconds, peakRssMb: peakRssMb() };
}

async function gateway(file: string): Promise<Record<string, number>> {
  const config = loadConfig({ configDir: join(PROJECT_ROOT, 'config'), mappingsDir: join(PROJECT_ROOT, 'mappings') });
  const started = process.hrtime.bigint();
  let invoices = 0;
  let lines = 0;
  let rejected = 0;
  for await (const item of prepareFile(file, config, { folder: 'access', mapping: 'access-orders' })) {
    if (item.ok) {
      invoices++;
      lines += item.invoice.lines.length;
    } else rejected++;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { lines, invoices, rejected, seconds, linesPerSecond: lines / seconds, invoicesPerSecond: invoices / seconds, peakRssMb: peakRssMb() };
}

const [mode, file, a, b] = process.argv.slice(2);
if (!file) throw new Error('usage: csv-mapping.js generate|baseline|gateway <file> [invoices linesPerInvoice]');
let result: unknown = {};
if (mode === 'generate') await generate(file, Number(a ?? 100000), Number(b ?? 10));
else if (mode === 'baseline') result = await baseline(file);
else if (mode === 'gateway') result = await gateway(file);
else throw new Error(`unknown mode ${mode}`);
process.stdout.write(`${JSON.stringify(result)}\n`);
