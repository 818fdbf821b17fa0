// Generated from schemas/*.schema.json by `npm run config-types`; do not edit by hand.
/* eslint-disable */

export namespace CustomersFileSchema {
  /**
   * the output format (the list is the gateway's own: src/kinds/formats.ts)
   */
  export type Format = 'pdf' | 'ubl' | 'cii' | 'xrechnung-ubl' | 'xrechnung-cii' | 'factur-x' | 'exact-online' | 'exact-globe' | 'accountview' | 'json';
  /**
   * how the document travels (src/kinds/transports.ts)
   */
  export type Transport = 'email' | 'sftp' | 'folder' | 'peppol';
  /**
   * for format ubl: the customisation written and checked
   */
  export type UblProfile = 'peppol' | 'nlcius' | 'en16931' | 'xrechnung';

  export interface CustomersFile {
    defaults?: {
      language?: 'nl' | 'en';
      paymentTermsDays?: number;
      quoteValidDays?: number;
      /**
       * @minItems 1
       */
      routes?: Route[];
    };
    /**
     * what to do with an invoice whose customer key is not listed: take the default routes, or reject it
     */
    unknownCustomers?: 'default' | 'reject';
    customers?: {
      [k: string]: {
        party: {
          name: string;
          tradingName?: string;
          vatId?: string;
          taxRegistrationId?: string;
          legalInfo?: string;
          legalId?: Identifier;
          endpoint?: Identifier;
          identifiers?: Identifier[];
          address?: Address;
          contact?: Contact;
        };
        email?: string;
        cc?: string;
        language?: 'nl' | 'en';
        paymentTermsDays?: number;
        quoteValidDays?: number;
        buyerReference?: string;
        debtorCode?: string;
        /**
         * @minItems 1
         */
        routes?: Route[];
      };
    };
  }
  export interface Route {
    format: Format;
    transport: Transport;
    /**
     * named target in gateway.yaml (sftp, folder, smtp, peppol access point) or, for email, an address overriding the customer's
     */
    target?: string;
    profile?: UblProfile;
    template?: string;
    language?: 'nl' | 'en';
    attachUbl?: boolean;
    embedPdf?: boolean;
    hybrid?: boolean;
    administration?: string;
    send?: {
      /**
       * hold the invoice this long after the order arrived, e.g. 14d
       */
      after?: string;
      /**
       * issue in a daily batch at this local time, e.g. 06:00
       */
      at?: string;
      when?: {
        /**
         * issue once a later drop for the same order carries this status, e.g. shipped
         */
        status: string;
        maxWait?: string;
      };
    };
    /**
     * for transport: peppol, the buyer's Peppol id (scheme:id, e.g. 0106:12345678); default: the invoice's buyer endpoint (BT-49)
     */
    participant?: string;
    fallback?: FallbackRoute;
  }
  /**
   * the route taken instead when the Peppol lookup says the buyer cannot receive this document type over Peppol (typically format: pdf, transport: email)
   */
  export interface FallbackRoute {
    format: Format;
    transport: Transport;
    /**
     * named target in gateway.yaml (sftp, folder, smtp, peppol access point) or, for email, an address overriding the customer's
     */
    target?: string;
    profile?: UblProfile;
    template?: string;
    language?: 'nl' | 'en';
    attachUbl?: boolean;
    embedPdf?: boolean;
    hybrid?: boolean;
    administration?: string;
  }
  export interface Identifier {
    id: string | number;
    scheme?: string;
  }
  export interface Address {
    line1?: string;
    line2?: string;
    line3?: string;
    city?: string;
    postalCode?: string;
    countrySubdivision?: string;
    country?: string;
  }
  export interface Contact {
    name?: string;
    phone?: string;
    email?: string;
  }
}

export namespace GatewayFileSchema {
  export interface GatewayFile {
    /**
     * ledger, archive, error and duplicates folders, logs; relative to this file's folder's parent
     */
    dataDir?: string;
    /**
     * root of the inbox; each mapping's match.folder is a subfolder
     */
    inbox?: string;
    /**
     * where the ledger lives: sqlite (default, one node, in dataDir) or postgres (several nodes on one database)
     */
    ledger?: {
      kind?: 'sqlite' | 'postgres';
      /**
       * postgres://user@host:port/database; give the password in PGPASSWORD, not here
       */
      url?: string;
      poolSize?: number;
      /**
       * how long a node's claim lasts unless renewed (default 60s); a dead node's work is taken over after it
       */
      leaseFor?: string;
      /**
       * this node's id (IGW_NODE_ID overrides; default the host name)
       */
      nodeId?: string;
    };
    /**
     * the node's web console and HTTP endpoint: the console pages, /api/, /healthz, /readyz, /metrics; off unless set
     */
    console?: {
      /**
       * address to listen on; default 127.0.0.1 (this machine only)
       */
      host?: string;
      /**
       * default 8477
       */
      port?: number;
      /**
       * the console's users file (names, roles, password hashes), relative to config/; default console-users.yaml. Manage it with `invoice-gateway console-user`
       */
      users?: string;
      /**
       * serve HTTPS with this certificate and key (PEM files, relative to config/)
       */
      tls?: {
        cert: string;
        key: string;
      };
      /**
       * behind a reverse proxy: true, or the proxy's address(es); the client address and https come from X-Forwarded-* headers
       */
      trustProxy?: boolean | string;
      /**
       * a session ends after this long without a request; default 8h
       */
      sessionIdle?: string;
      /**
       * the lowest role that may download original files, PDFs, UBL and accounting files; default operator
       */
      downloads?: 'viewer' | 'operator' | 'admin';
    };
    watch?: {
      /**
       * events (default): file-system events plus a periodic rescan; scan: periodic directory scans only, for SMB/NFS shares where events are missed or late
       */
      mode?: 'events' | 'scan';
      /**
       * poll instead of file-system events (SMB/NFS shares)
       */
      polling?: boolean;
      pollInterval?: string;
      stableFor?: string;
      rescanEvery?: string;
      emptyFileTimeout?: string;
      /**
       * sources (mapping names) that write <name>.done or <name>.ok when a file is complete
       */
      doneMarkers?: string[];
      /**
       * files processed at the same time (default 16; 32 on a PostgreSQL ledger, whose round trips want more files in flight)
       */
      concurrency?: number;
    };
    /**
     * continue: issue the good invoices of a file; hold-file: issue none while one is rejected
     */
    onRejectedInvoice?: 'continue' | 'hold-file';
    /**
     * skip: a file whose content was processed before goes to duplicates/
     */
    onDuplicateFile?: 'skip' | 'process';
    numbering?: {
      default?: {
        invoice?: string;
        creditNote?: string;
        quote?: string;
      };
      sellers?: {
        [k: string]: {
          invoice?: string;
          creditNote?: string;
          quote?: string;
        };
      };
    };
    outbox?: {
      maxAttempts?: number;
      firstRetryAfter?: string;
      maxRetryAfter?: string;
      concurrency?: number;
      pollInterval?: string;
      /**
       * worker threads that render PDFs (0: on the main thread); default one per core, at most 4
       */
      renderThreads?: number;
      /**
       * slots one target may take (default: half of concurrency), so one dead target cannot starve the rest
       */
      perTargetConcurrency?: number;
      /**
       * a send that has not finished by then is abandoned and retried (default 120s)
       */
      sendTimeout?: string;
    };
    scheduler?: {
      checkEvery?: string;
    };
    email?: {
      /**
       * name of the smtp, graph or pickup target used for e-mail routes
       */
      server?: string;
    };
    accounting?: {
      [k: string]: unknown;
    };
    targets?: {
      [k: string]: {
        [k: string]: unknown;
      };
    };
    logging?: {
      level?: 'error' | 'warn' | 'info' | 'debug';
      file?: string;
      maxSizeMb?: number;
      maxFiles?: number;
    };
    /**
     * plausibility limits checked before an invoice takes a number
     */
    limits?: {
      /**
       * longest text value (names, ids, descriptions) in characters; default 1000
       */
      maxTextLength?: number;
      /**
       * longest note or payment terms text; default 10000
       */
      maxNoteLength?: number;
      /**
       * an issue date further back is refused; default 731
       */
      maxDaysInPast?: number;
      /**
       * an issue date further ahead is refused; default 366
       */
      maxDaysInFuture?: number;
    };
    /**
     * how long a stop may finish the work under way (default 30s, well under systemd's 90 s); what is left then is resumed by the next start
     */
    stopWithin?: string;
    /**
     * mapping runs in worker threads: a file whose expressions hand over no invoice for 'stalled', or are not done after 'file', is stopped and refused
     */
    mappingDeadlines?: {
      /**
       * default 30s
       */
      stalled?: string;
      /**
       * default 15m
       */
      file?: string;
    };
    validation?: {
      /**
       * how long a validation helper may keep requests waiting without answering (default 3m); then it is replaced and its requests are sent once more
       */
      requestTimeout?: string;
    };
    /**
     * permission bits taken from files and folders the gateway creates; default 027 (files 0640, folders 0750)
     */
    umask?: string;
    /**
     * how receivers are found on the Peppol network (for routes with transport: peppol)
     */
    peppol?: {
      /**
       * the SML: production (edelivery.tech.ec.europa.eu), test (acc.edelivery.tech.ec.europa.eu) or a DNS zone of its own; default production
       */
      sml?: string;
      /**
       * DNS servers to ask ("192.0.2.53" or "127.0.0.1:5353"); default: the system's
       */
      dns?: string[];
      /**
       * PEM file(s), relative to config/, of the CA that issues SMP certificates (OpenPeppol's SMP CA for the chosen network); an SMP answer whose signature does not lead to it is not used
       */
      smpTrust?: string | string[];
      /**
       * extra CA certificates (PEM files, relative to config/) for HTTPS to SMPs; the system's are always trusted
       */
      smpTlsCa?: string | string[];
      /**
       * how long a lookup's answer is kept in the ledger; default 1h
       */
      cacheTtl?: string;
      /**
       * how long one DNS or SMP request may take; default 10s
       */
      timeout?: string;
      /**
       * how often an access point that accepted a message is asked whether it was delivered (Storecove's sending evidence); default 5m
       */
      followUpEvery?: string;
    };
  }
}

export namespace MappingFileSchema {
  export type NumberFormat = 'nl' | 'en' | 'plain';
  export type Transform =
    | ('trim' | 'upper' | 'lower' | 'digits' | 'strip-leading-zeros' | 'collapse-spaces' | 'negate')
    | {
        /**
         * @minItems 2
         * @maxItems 2
         */
        replace?: string[];
        prefix?: string;
        suffix?: string;
        lookup?: string;
        number?: NumberFormat;
        date?: string;
        default?: unknown;
        divide?: string | number;
        multiply?: string | number;
        pad?: {
          length: number;
          with?: string;
        };
      };

  export interface MappingFile {
    /**
     * name of the source, used in logs and folders
     */
    source: string;
    description?: string;
    match: {
      /**
       * inbox subfolder this source writes to
       */
      folder?: string;
      /**
       * globs on the file name, e.g. orders_*.csv
       *
       * @minItems 1
       */
      files?: string[];
    };
    reader: {
      format: 'csv' | 'xml' | 'json' | 'fixed-width' | 'ubl';
      encoding?: string;
      delimiter?: string;
      quote?: string;
      header?: boolean;
      skipLines?: number;
      relaxColumnCount?: boolean;
      skipEmptyLines?: boolean;
      records?: string;
      arrays?: string[];
      removeNamespacePrefixes?: boolean;
      maxBytes?: number;
      columns?: {
        name: string;
        start: number;
        length: number;
      }[];
      recordType?: {
        start: number;
        length: number;
      };
      layouts?: {
        [k: string]: {
          name: string;
          start: number;
          length: number;
        }[];
      };
      ignoreTypes?: string[];
    };
    defaults?: {
      numberFormat?: NumberFormat;
      dateFormat?: string;
      currency?: string;
      unitCode?: string;
      typeCode?: string;
      vatCategory?: string;
      seller?: string;
      kind?: 'invoice' | 'quote';
    };
    numbering?: {
      /**
       * keep the invoice number the file carries instead of numbering from a series
       */
      keepSourceNumber?: boolean;
      series?: string;
    };
    group?: {
      /**
       * column(s) whose value groups rows into one invoice; rows of one invoice must be consecutive
       */
      by?: string | string[];
      /**
       * nested formats: path of the lines inside a record
       */
      lines?: string;
      /**
       * fixed-width: record type of invoice headers
       */
      headerType?: string;
      /**
       * fixed-width: record type of invoice lines
       */
      lineType?: string;
    };
    lookups?: {
      [k: string]: {
        [k: string]: string | number | boolean;
      };
    };
    invoice?: {
      kind?: Value;
      number?: Value;
      issueDate?: Value;
      dueDate?: Value;
      typeCode?: Value;
      currency?: Value;
      taxPointDate?: Value;
      buyerReference?: Value;
      orderReference?: Value;
      salesOrderReference?: Value;
      projectReference?: Value;
      contractReference?: Value;
      accountingReference?: Value;
      paymentTerms?: Value;
      note?: Value;
      customer?: Value;
      seller?: Value;
      orderStatus?: Value;
      paymentReference?: Value;
      paymentMeansCode?: Value;
      prepaidAmount?: Value;
      validUntil?: Value;
      language?: Value;
      precedingInvoice?: {
        number?: Value;
        issueDate?: Value;
      };
      buyer?: Party;
      delivery?: {
        date?: Value;
        partyName?: Value;
        address?: Address;
      };
      period?: {
        start?: Value;
        end?: Value;
      };
      /**
       * totals the source states; checked against the calculation
       */
      totals?: {
        netAmount?: Value;
        vatAmount?: Value;
        payableAmount?: Value;
      };
      charges?: DocumentAllowanceCharge[];
      allowances?: DocumentAllowanceCharge[];
      extra?: {
        [k: string]: Value;
      };
    };
    line?: {
      id?: Value;
      quantity?: Value;
      unitCode?: Value;
      netPrice?: Value;
      grossPrice?: Value;
      baseQuantity?: Value;
      vatCategory?: Value;
      vatRate?: Value;
      itemName?: Value;
      description?: Value;
      sellerItemId?: Value;
      buyerItemId?: Value;
      standardItemId?: Value;
      itemGroup?: Value;
      note?: Value;
      orderLineReference?: Value;
      accountingReference?: Value;
      netAmount?: Value;
      discountAmount?: Value;
      discountPercentage?: Value;
      discountReason?: Value;
      chargeAmount?: Value;
      chargeReason?: Value;
      periodStart?: Value;
      periodEnd?: Value;
      /**
       * JSONata condition; lines for which it is true are left out (e.g. text-only rows)
       */
      skipWhen?: string;
    };
    /**
     * hold invoices from this source back (deferred invoicing)
     */
    send?: {
      after?: string;
      at?: string;
      when?: {
        status: string;
        maxWait?: string;
      };
    };
    /**
     * skip (default): an invoice whose business key (the group key) was issued before for this seller and source is not issued again; issue-again: issue it anyway (a deliberate reissue)
     */
    onIssuedBefore?: 'skip' | 'issue-again';
    /**
     * a sample file of this source, relative to the mappings folder: check-config maps it (every expression evaluated once, time-limited)
     */
    sample?: string;
  }
  /**
   * Where a canonical field gets its value: exactly one of column, path, const, template, expr; then transforms.
   */
  export interface Value {
    /**
     * CSV or fixed-width column name as it appears in the file (or its 1-based number without a header)
     */
    column?: string | number;
    /**
     * path inside the JSON object or XML element of the record, e.g. customer/address/city or @id
     */
    path?: string;
    /**
     * a fixed value
     */
    const?: {
      [k: string]: unknown;
    };
    /**
     * text with {Column} placeholders
     */
    template?: string;
    /**
     * a JSONata expression over the record
     */
    expr?: string;
    transform?: Transform[];
    number?: NumberFormat;
    /**
     * date format such as dd-mm-yyyy, yyyymmdd, d/m/yyyy
     */
    date?: string;
    /**
     * name of a table under lookups:
     */
    lookup?: string;
    /**
     * used when the value is missing or empty
     */
    default?: {
      [k: string]: unknown;
    };
    required?: boolean;
  }
  export interface Party {
    name?: Value;
    tradingName?: Value;
    vatId?: Value;
    legalId?: Value;
    legalIdScheme?: Value;
    endpointId?: Value;
    endpointScheme?: Value;
    email?: Value;
    contactName?: Value;
    phone?: Value;
    identifier?: Value;
    address?: Address;
  }
  export interface Address {
    line1?: Value;
    line2?: Value;
    line3?: Value;
    city?: Value;
    postalCode?: Value;
    countrySubdivision?: Value;
    country?: Value;
  }
  export interface DocumentAllowanceCharge {
    amount: Value;
    vatCategory?: Value;
    vatRate?: Value;
    reason?: Value;
    reasonCode?: Value;
    /**
     * JSONata condition; the charge is added only when true
     */
    when?: string;
  }
}
