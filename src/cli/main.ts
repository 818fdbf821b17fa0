#!/usr/bin/env node
import { widenThreadPool } from '../environment.js';
// imports run first, but none of them touches the file system asynchronously: the pool starts later
widenThreadPool();
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import { errorMessage, GatewayError } from '../errors.js';
import { ConfigErrors } from '../config/yaml-file.js';
import { checkConfigCommand } from './check-config.js';
import { dryRunCommand } from './dry-run.js';
import { reexportCommand, resendCommand, retryCommand, statusCommand } from './ledger-commands.js';
import { runCommand } from './run.js';
import { consoleUserCommand } from './console-user.js';
import { installStandardsCommand } from './install-standards.js';
import { peppolLookupCommand } from './peppol.js';
import { validateCommand } from './validate.js';
import type { ProfileName } from '../validation/engine.js';
import { runOnceCommand } from './run-once.js';

/** "invoice-gateway 0.1.0 (Node.js v20.19.0)" from the package's own package.json. */
function versionLine(): string {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  return `invoice-gateway ${pkg.version} (Node.js ${process.version})`;
}

const program = new Command();
program
  .name('invoice-gateway')
  .description('Turns order and invoice files from legacy software into e-invoices, PDFs and accounting imports')
  .option('-c, --config <dir>', 'configuration folder (default ./config, else the bundled one)')
  .option('-m, --mappings <dir>', 'mappings folder (default ./mappings, else the bundled one)')
  .version(versionLine(), '-V, --version', 'the version of invoice-gateway (and of Node.js)')
  .showHelpAfterError();

/** Runs a command body and turns its result or error into an exit code. */
function action<A extends unknown[]>(fn: (...args: A) => number | Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = await fn(...args);
    } catch (err) {
      if (err instanceof ConfigErrors)
        process.stderr.write(`configuration has ${err.errors.length} problem(s):\n${err.errors.map((e) => `  ${e.describe()}`).join('\n')}\n`);
      else if (err instanceof GatewayError) process.stderr.write(`${err.describe()}\n`);
      else process.stderr.write(`invoice-gateway: ${errorMessage(err)}\n${err instanceof Error && err.stack ? err.stack : ''}\n`);
      process.exitCode = 2;
    }
  };
}

program
  .command('dry-run')
  .description('show the invoices a file holds (canonical JSON with totals) and where each would be routed; sends nothing')
  .argument('<file>', 'a dropped file: CSV, XML, JSON, fixed-width text or .eml')
  .option('--mapping <name>', 'use this mapping instead of choosing by file name')
  .option('--folder <name>', 'inbox folder the file belongs to (default: its parent folder name)')
  .option('--summary', 'one short entry per invoice instead of the full canonical JSON')
  .action(action((file: string, opts: { mapping?: string; folder?: string; summary?: boolean }) => dryRunCommand(file, { ...program.opts(), ...opts })));

program
  .command('check-config')
  .description('check every YAML file under config/ and mappings/')
  .option('--online', 'also sign in to the mail targets (Microsoft 365 via Graph or XOAUTH2, SMTP) and open the mailbox')
  .action(action((opts: { online?: boolean }) => checkConfigCommand({ ...program.opts(), ...opts })));

program
  .command('run')
  .description('run the service: watch the inbox folders, issue invoices, deliver them')
  .option('--demo', 'start from an empty data/demo folder with the inbox-sample files, outputs local only')
  .option('--quiet', 'no log lines on the console (the log file still gets them)')
  .option('--new-ledger', 'start on a missing or empty ledger although the data folder shows earlier work (numbering starts again)')
  .action(async (opts: { demo?: boolean; quiet?: boolean; newLedger?: boolean }) => {
    await action(() => runCommand({ ...program.opts(), ...opts }))();
    // a stop that left work for the next start may leave sockets or timers behind: the process ends here all the same
    process.exit(process.exitCode ?? 0);
  });

program
  .command('run-once')
  .description('process one file in the foreground and send its invoices, with a progress bar')
  .argument('<file>', 'the file to process (it is copied; the original stays)')
  .option('--folder <name>', 'the source (inbox folder) it belongs to (default: from the mapping that matches its name)')
  .action(action((file: string, opts: { folder?: string }) => runOnceCommand(file, { ...program.opts(), ...opts })));

program
  .command('status')
  .description('counts per state, oldest pending delivery, recent failures, progress of bulk runs')
  .option('--json', 'machine-readable output')
  .option('--demo', 'the demo ledger (data/demo)')
  .action(action((opts: { json?: boolean; demo?: boolean }) => statusCommand({ ...program.opts(), ...opts })));

program
  .command('retry')
  .description("make a failed, dead or bounced delivery due again (or all of a file's with --file)")
  .argument('<id>', 'delivery id (see status), or file id with --file')
  .option('--file', 'the id is a file id')
  .option('--to <address>', 'an e-mail delivery: send it to this corrected address (a bounce); correct customers.yaml too')
  .option('--demo', 'the demo ledger (data/demo)')
  .action(action((id: string, opts: { file?: boolean; to?: string; demo?: boolean }) => retryCommand(id, { ...program.opts(), ...opts })));

program
  .command('resend')
  .description('send an issued invoice again over all its routes (explicit and logged)')
  .argument('<invoice>', 'invoice number')
  .option('--reason <text>', 'why, for the log')
  .option('--demo', 'the demo ledger (data/demo)')
  .option('--seller <key>', 'the seller (config/sellers.yaml) when two sellers issued this number')
  .action(action((number: string, opts: { reason?: string; seller?: string; demo?: boolean }) => resendCommand(number, { ...program.opts(), ...opts })));

program
  .command('validate')
  .description(
    'validate e-invoices (UBL, CII, the invoice inside a Factur-X PDF) with the XSD and the official rules; exit 0 valid, 1 invalid, 2 could not validate',
  )
  .argument('<files...>', 'UBL Invoice or CreditNote, CII CrossIndustryInvoice, or Factur-X / ZUGFeRD PDF files')
  .option('--profile <name>', 'en16931, peppol, nlcius or xrechnung (default: from the CustomizationID)')
  .option('--engine <name>', 'jvm (Saxon-HE) or saxon-js (default: jvm where Java and Saxon-HE are installed)')
  .option('--release <release>', "a release of the profile's rules (e.g. 3.0.19; default: the one in force on the invoice's issue date)")
  .option('--json', 'a JSON report for tools')
  .action(
    action((files: string[], opts: { profile?: ProfileName; json?: boolean; engine?: 'jvm' | 'saxon-js'; release?: string }) => validateCommand(files, opts)),
  );

program
  .command('reexport')
  .description('put an invoice in the next accounting import file again (explicit and logged)')
  .argument('<invoice>', 'invoice number')
  .requiredOption('--format <name>', 'exact-online, exact-globe or accountview')
  .requiredOption('--administration <name>', 'the administration in config/accounting.yaml')
  .option('--reason <text>', 'why, for the log')
  .option('--seller <key>', 'the seller (config/sellers.yaml) when two sellers issued this number')
  .option('--demo', 'the demo ledger (data/demo)')
  .action(
    action((number: string, opts: { format: string; administration: string; reason?: string; seller?: string; demo?: boolean }) =>
      reexportCommand(number, { ...program.opts(), ...opts }),
    ),
  );

program
  .command('console-user')
  .description("manage the web console's users: add, set (role, password, language), remove, list")
  .argument('<action>', 'add, set, remove or list')
  .argument('[name]', 'the user name')
  .option('--role <role>', 'viewer (reads), operator (also retries, resends, reexports, tries files) or admin (also manages users)')
  .option('--password-stdin', 'read the password from standard input (else add makes one up and prints it once)')
  .option('--language <nl|en>', "the console's language for this user")
  .option('--demo', "the demo's console (npm start): a user to sign in with again after signing out; the demo starts afresh each time")
  .action(
    action((what: string, name: string | undefined, opts: { role?: string; passwordStdin?: boolean; language?: string; demo?: boolean }) =>
      consoleUserCommand(what, name, { ...program.opts(), ...opts }),
    ),
  );

const peppol = program.command('peppol').description('the Peppol network: find out whether a buyer can receive invoices over it');
peppol
  .command('lookup')
  .description('look a participant up the way the network does (SML DNS, then its signed SMP metadata); exit 0 when it can receive, 1 when not')
  .argument('<participant>', 'scheme and id, e.g. 0106:12345678 (KVK), 0208:0123456789, 9944:NL123456789B01')
  .option('--document <kind>', 'invoice (default) or credit-note')
  .option('--json', 'the answer as JSON')
  .option('--demo', "keep the answer in the demo's ledger")
  .action(
    action((participant: string, opts: { document?: 'invoice' | 'credit-note'; json?: boolean; demo?: boolean }) =>
      peppolLookupCommand(participant, { ...program.opts(), ...opts }),
    ),
  );

program
  .command('install-standards')
  .description(
    'download the official validation artefacts (OASIS UBL 2.1, CEN EN 16931, Peppol BIS 3, NLCIUS, Exact XSDs) from their official addresses, check every file against its SHA-256 and compile the stylesheets',
  )
  .option(
    '--from <places>',
    'take them from a folder, a .zip/.tar.gz archive, or the URL of an archive or of a mirror (laid out as <host>/<path>); several separated by ";". Default: $STANDARDS_MIRROR, else the official addresses',
  )
  .option('--if-needed', 'do nothing when every component is installed')
  .option('--force', 'install again even what is installed and intact')
  .option(
    '--check',
    'verify what is installed, show the rule releases by issue date, and tell whether newer releases are published (exit 1: missing or damaged, 3: newer release published)',
  )
  .addHelpText(
    'after',
    '\nEnvironment:\n  STANDARDS_MIRROR  where to take the artefacts from (as --from)\n  STANDARDS_HOME    where they are installed (default ./standards)',
  )
  .action(action((opts: { from?: string; ifNeeded?: boolean; force?: boolean; check?: boolean }) => installStandardsCommand(opts)));

await program.parseAsync(process.argv);
