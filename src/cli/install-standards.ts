import { installStandards, standardsInstalled, STANDARDS_HOME } from '../validation/artefacts.js';

/** `invoice-gateway install-standards`: copies and checks the official validation artefacts. */
export function installStandardsCommand(opts: { ifNeeded?: boolean; from?: string }): number {
  if (opts.ifNeeded && standardsInstalled()) {
    process.stdout.write(`validation artefacts already installed in ${STANDARDS_HOME}\n`);
    return 0;
  }
  const { installed, target } = installStandards(opts.from);
  process.stdout.write(`installed ${installed} validation artefacts into ${target}, each checked against schemas/standards-manifest.json\n`);
  return 0;
}
