/**
 * The transports a route can use, each described once: the config schema, the console's filter and
 * the API document are built from this list. A new transport is one entry here plus its class.
 */
export interface TransportDescriptor {
  readonly name: string;
  /** how the console names it */
  readonly label: string;
  /** the kinds of target in gateway.yaml that carry it */
  readonly targetKinds: readonly string[];
}

export const TRANSPORTS = [
  { name: 'email', label: 'e-mail', targetKinds: ['smtp', 'graph', 'pickup'] },
  { name: 'sftp', label: 'SFTP', targetKinds: ['sftp'] },
  { name: 'folder', label: 'folder', targetKinds: ['folder'] },
  { name: 'peppol', label: 'Peppol (access point)', targetKinds: ['peppol'] },
] as const satisfies readonly TransportDescriptor[];

/** Transports a route can use. */
export type TransportKind = (typeof TRANSPORTS)[number]['name'];
