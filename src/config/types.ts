import type { Identifier, Party, PaymentInstructions } from '../model/invoice.js';

import type { FormatName } from '../kinds/formats.js';
import type { TransportKind } from '../kinds/transports.js';
import type { CustomersFileSchema, GatewayFileSchema } from './schema-types.js';

export type { FormatName, TransportKind };

/** customers.yaml as its schema describes it (generated: src/config/schema-types.ts). */
type CustomersFile = CustomersFileSchema.CustomersFile;
type CustomerEntry = NonNullable<CustomersFile['customers']>[string];

/** When to issue a held-back order (deferred invoicing). */
export type SendRule = NonNullable<CustomersFileSchema.Route['send']>;

/** A route in customers.yaml: one output format over one transport (its shape is the schema's). */
export type RouteConfig = CustomersFileSchema.Route & {
  /** set by routing, not in YAML: the target an accounting batch file goes to (the route's `target` beside `administration`) */
  via?: string;
};

/** Master data of one customer (debtor): party, contact and routes; the party read into the model's shape. */
export type CustomerConfig = Omit<CustomerEntry, 'party' | 'routes'> & { party: Party; routes?: RouteConfig[] };

/** config/customers.yaml */
export type CustomersConfig = Omit<CustomersFile, 'customers' | 'defaults'> & {
  defaults?: Omit<NonNullable<CustomersFile['defaults']>, 'routes'> & { routes?: RouteConfig[] };
  customers?: Record<string, CustomerConfig>;
};

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

/** How an app signs in to Microsoft Entra ID (client credentials). */
export type { AppSignIn } from '../transports/oauth.js';
import type { AppSignIn } from '../transports/oauth.js';
import type { ImapSettings } from '../transports/imap-mailbox.js';

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
      /** XOAUTH2 instead of a password (Microsoft 365): the app's sign-in, and the token's scope */
      oauth2?: AppSignIn & { scope?: string };
      /** the account's mailbox over IMAP: a copy of each sent mail in Sent, and drafts */
      imap?: ImapSettings;
      /** send (default), or draft: the mail goes into the mailbox's Drafts (needs imap) */
      mode?: 'send' | 'draft';
      /** the provider's limit of recipients in any 24 hours (none unless set) */
      recipientsPerDay?: number;
    }
  | GraphTargetConfig
  | PeppolTargetConfig;

/** A Microsoft 365 mailbox that sends through Microsoft Graph, signed in as an app. */
export interface GraphTargetConfig extends AppSignIn {
  kind: 'graph';
  /** the mailbox that sends (a user's or a shared one): its Sent Items keep the copy */
  mailbox: string;
  graphEndpoint?: string;
  /** send (default), or draft: the mail waits in Drafts for someone to check and send it */
  mode?: 'send' | 'draft';
  from?: string;
  replyTo?: string;
  bcc?: string;
  messagesPerMinute?: number;
  /** recipients in any 24 hours (Exchange Online: 10,000, the default) */
  recipientsPerDay?: number;
}

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

/**
 * config/gateway.yaml as written: the schema's shape (generated), except the targets, whose kinds the
 * schema tells apart with conditions a generated type cannot follow.
 */
export type GatewayFileConfig = Omit<GatewayFileSchema.GatewayFile, 'targets' | 'limits' | 'accounting'> & {
  targets?: Record<string, TargetConfig>;
  limits?: Partial<import('../model/limits.js').PlausibilityLimits>;
  accounting?: Record<string, unknown>;
};
