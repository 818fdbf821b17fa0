import type { Identifier, Party, PaymentInstructions } from '../model/invoice.js';

import type { FormatName } from '../kinds/formats.js';
import type { UblProfile } from '../formats/ubl/profiles.js';
import type { TransportKind } from '../kinds/transports.js';

export type { FormatName, TransportKind };

/** When to issue a held-back order (deferred invoicing). */
export interface SendRule {
  /** e.g. "14d", "2h", "30m" */
  after?: string;
  /** daily batch time "06:00" */
  at?: string;
  /** issue when a later drop for the same order carries this status */
  when?: { status: string; maxWait?: string };
}

/** A route in customers.yaml: one output format over one transport. */
export interface RouteConfig {
  format: FormatName;
  transport: TransportKind;
  target?: string;
  profile?: UblProfile;
  template?: string;
  language?: 'nl' | 'en';
  attachUbl?: boolean;
  embedPdf?: boolean;
  hybrid?: boolean;
  administration?: string;
  /** set by routing, not in YAML: the target an accounting batch file goes to (the route's `target` beside `administration`) */
  via?: string;
  send?: SendRule;
  /** transport peppol: the buyer's participant id (default: the invoice's buyer endpoint) */
  participant?: string;
  /** transport peppol: the route taken when the buyer cannot receive this document over Peppol */
  fallback?: Omit<RouteConfig, 'fallback' | 'send'>;
}

/** Master data of one customer (debtor): party, contact and routes. */
export interface CustomerConfig {
  party: Party;
  email?: string;
  cc?: string;
  language?: 'nl' | 'en';
  paymentTermsDays?: number;
  /** how long a quotation stands when its source gives no validity date (default 30 days) */
  quoteValidDays?: number;
  buyerReference?: string;
  debtorCode?: string;
  routes?: RouteConfig[];
}

/** config/customers.yaml */
export interface CustomersConfig {
  defaults?: { language?: 'nl' | 'en'; paymentTermsDays?: number; quoteValidDays?: number; routes?: RouteConfig[] };
  unknownCustomers?: 'default' | 'reject';
  customers?: Record<string, CustomerConfig>;
}

/** A seller in config/sellers.yaml: the issuing company and how it is paid. */
export interface SellerConfig extends Party {
  payment?: Omit<PaymentInstructions, 'paymentReference'>;
  logo?: string;
  website?: string;
  legalId?: Identifier;
}

/** config/sellers.yaml */
export interface SellersConfig {
  sellers: Record<string, SellerConfig>;
}

/** A delivery target in gateway.yaml. */
export type TargetConfig =
  | { kind: 'folder'; path: string; fileName?: string }
  | { kind: 'pickup'; path: string; from?: string; replyTo?: string; bcc?: string }
  | {
      kind: 'sftp';
      host: string;
      port?: number;
      user: string;
      privateKeyFile?: string;
      password?: string;
      folder: string;
      fileName?: string;
      hostKeySha256: string;
      maxConnections?: number;
      timeoutMs?: number;
    }
  | {
      kind: 'smtp';
      host: string;
      port?: number;
      secure?: boolean;
      requireTLS?: boolean;
      user?: string;
      password?: string;
      from?: string;
      replyTo?: string;
      bcc?: string;
      messagesPerMinute?: number;
      maxConnections?: number;
      dkim?: { domainName: string; keySelector: string; privateKeyFile: string };
      tlsRejectUnauthorized?: boolean;
      /** PEM file of the CA the server's certificate must chain to (an in-house mail server) */
      caFile?: string;
    }
  | PeppolTargetConfig;

/** An access point the gateway hands Peppol documents to. */
export interface PeppolTargetConfig {
  kind: 'peppol';
  accessPoint: 'phase4' | 'storecove';
  url: string;
  token?: string;
  sender?: string;
  countryC1?: string;
  legalEntityId?: number;
  timeoutMs?: number;
}

/** Invoice number formats for one seller. */
export interface SeriesFormats {
  invoice?: string;
  creditNote?: string;
  quote?: string;
}

/** config/gateway.yaml as written. */
export interface GatewayFileConfig {
  dataDir?: string;
  peppol?: {
    sml?: string;
    dns?: string[];
    smpTrust?: string | string[];
    smpTlsCa?: string | string[];
    cacheTtl?: string;
    timeout?: string;
    followUpEvery?: string;
  };
  console?: {
    host?: string;
    port?: number;
    users?: string;
    tls?: { cert: string; key: string };
    trustProxy?: boolean | string;
    sessionIdle?: string;
    downloads?: 'viewer' | 'operator' | 'admin';
  };
  ledger?: { kind?: 'sqlite' | 'postgres'; url?: string; poolSize?: number; leaseFor?: string; nodeId?: string };
  inbox?: string;
  watch?: {
    mode?: 'events' | 'scan';
    polling?: boolean;
    pollInterval?: string;
    stableFor?: string;
    rescanEvery?: string;
    emptyFileTimeout?: string;
    doneMarkers?: string[];
    concurrency?: number;
  };
  onRejectedInvoice?: 'continue' | 'hold-file';
  onDuplicateFile?: 'skip' | 'process';
  numbering?: { default?: SeriesFormats; sellers?: Record<string, SeriesFormats> };
  outbox?: {
    maxAttempts?: number;
    firstRetryAfter?: string;
    maxRetryAfter?: string;
    concurrency?: number;
    perTargetConcurrency?: number;
    sendTimeout?: string;
    pollInterval?: string;
    renderThreads?: number;
  };
  scheduler?: { checkEvery?: string };
  email?: { server?: string };
  accounting?: Record<string, unknown>;
  targets?: Record<string, TargetConfig>;
  logging?: { level?: 'error' | 'warn' | 'info' | 'debug'; file?: string; maxSizeMb?: number; maxFiles?: number };
  limits?: Partial<import('../model/limits.js').PlausibilityLimits>;
  /** octal, e.g. "027": files 0640, folders 0750 */
  umask?: string;
  stopWithin?: string;
  mappingDeadlines?: { stalled?: string; file?: string };
  validation?: { requestTimeout?: string };
}
