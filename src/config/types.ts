import type { Party } from '../model/invoice.js';

import type { FormatName } from '../kinds/formats.js';
import type { TransportKind } from '../kinds/transports.js';
import type { CustomersFileSchema, GatewayFileSchema, SellersFileSchema } from './schema-types.js';

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

type SellerEntry = SellersFileSchema.SellersFile['sellers'][string];

/** A seller in config/sellers.yaml: the issuing company (read into the model's party) and how it is paid. */
export type SellerConfig = Party & Pick<SellerEntry, 'payment' | 'logo' | 'website'>;

/** config/sellers.yaml, as its schema describes it. */
export type SellersConfig = { sellers: Record<string, SellerConfig> };

/** How an app signs in to Microsoft Entra ID (client credentials). */
export type { AppSignIn } from '../transports/oauth.js';

/** A delivery target in gateway.yaml (its shape is the schema's, one member per kind). */
export type TargetConfig = NonNullable<GatewayFileSchema.GatewayFile['targets']>[string];

/** A Microsoft 365 mailbox that sends through Microsoft Graph, signed in as an app. */
export type GraphTargetConfig = GatewayFileSchema.GraphTarget;

/** An access point the gateway hands Peppol documents to. */
export type PeppolTargetConfig = GatewayFileSchema.PeppolTarget;

/** Invoice number formats for one seller. */
export interface SeriesFormats {
  invoice?: string;
  creditNote?: string;
  quote?: string;
}

/** config/gateway.yaml as written: the schema's shape (generated), with the limits and accounting typed by their owners. */
export type GatewayFileConfig = Omit<GatewayFileSchema.GatewayFile, 'limits' | 'accounting'> & {
  limits?: Partial<import('../model/limits.js').PlausibilityLimits>;
  accounting?: Record<string, unknown>;
};
