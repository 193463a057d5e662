-- finance: accounts, transactions, balances and investments from OFX/QFX
-- statements (ofx_statements), bank CSV exports (bank_csv) and Plaid
-- (plaid_transactions); categories from user rules and a trained model.
--
-- ONE sign convention for every source: negative = money out of the account,
-- positive = money in. Plaid's amounts (positive = out) are flipped when read.
-- Money is numeric (exact) and always sits next to its ISO currency code.

CREATE SCHEMA finance;
COMMENT ON SCHEMA finance IS 'Personal finance: institutions, accounts, balances, transactions, holdings and securities from OFX/QFX statements, bank CSV exports and Plaid. Amounts: negative = money out.';

-- institutions ----------------------------------------------------------------
CREATE TABLE finance.institutions (
    institution_id text PRIMARY KEY,
    source         text NOT NULL,
    name           text,
    ofx_org        text,
    ofx_fid        text
);
COMMENT ON TABLE finance.institutions IS 'Banks, card issuers and brokers the accounts belong to.';
COMMENT ON COLUMN finance.institutions.institution_id IS 'ofx:<ORG> (or ofx:bankid:<BANKID> / ofx:brokerid:<BROKERID> when the file has no ORG), csv:<slug of the bank''s name>, or plaid:<Plaid institution_id>.';
COMMENT ON COLUMN finance.institutions.source IS 'Where pde learned of it: ofx, csv or plaid.';
COMMENT ON COLUMN finance.institutions.name IS 'The institution''s name as the source gives it (OFX ORG, the CSV profile''s institution).';
COMMENT ON COLUMN finance.institutions.ofx_org IS 'OFX sign-on FI/ORG.';
COMMENT ON COLUMN finance.institutions.ofx_fid IS 'OFX sign-on FI/FID (financial institution id).';
SELECT platform.track('finance.institutions');

-- accounts --------------------------------------------------------------------
CREATE TABLE finance.accounts (
    account_id     text PRIMARY KEY,
    source         text NOT NULL,
    institution_id text,
    number         text,
    mask           text,
    name           text,
    official_name  text,
    type           text,
    subtype        text,
    currency       text,
    bank_id        text,
    branch_id      text
);
COMMENT ON TABLE finance.accounts IS 'One account as a source identifies it (the same real account seen through OFX and CSV appears twice, with different ids).';
COMMENT ON COLUMN finance.accounts.account_id IS 'ofx:<BANKID>[:<BRANCHID>]:<ACCTID> (bank), ofx:<ACCTID> (card), ofx:<BROKERID>:<ACCTID> (investment), csv:<institution>:<account column, -a account= or file name>, plaid:<Plaid account_id>.';
COMMENT ON COLUMN finance.accounts.source IS 'ofx, csv or plaid.';
COMMENT ON COLUMN finance.accounts.institution_id IS 'The institution (finance.institutions).';
COMMENT ON COLUMN finance.accounts.number IS 'The account number as the source gives it (OFX ACCTID, the CSV account column); null for Plaid.';
COMMENT ON COLUMN finance.accounts.mask IS 'Last four digits of the account number.';
COMMENT ON COLUMN finance.accounts.name IS 'The account''s name (Plaid name, CSV account column); null when the source has none (OFX).';
COMMENT ON COLUMN finance.accounts.official_name IS 'The institution''s product name (Plaid official_name).';
COMMENT ON COLUMN finance.accounts.type IS 'checking, savings, moneymrkt, creditline, credit card, investment (OFX / CSV profile); depository, credit, loan, investment (Plaid).';
COMMENT ON COLUMN finance.accounts.subtype IS 'Plaid subtype (checking, savings, credit card, ira...).';
COMMENT ON COLUMN finance.accounts.currency IS 'ISO 4217 currency of the account (OFX CURDEF, Plaid iso_currency_code).';
COMMENT ON COLUMN finance.accounts.bank_id IS 'OFX BANKID (routing number) or BROKERID.';
COMMENT ON COLUMN finance.accounts.branch_id IS 'OFX BRANCHID.';
SELECT platform.track('finance.accounts', true);

-- balances --------------------------------------------------------------------
CREATE TABLE finance.balances (
    account_id   text NOT NULL,
    as_of        date NOT NULL,
    balance_type text NOT NULL,
    amount       numeric NOT NULL,
    source       text NOT NULL,
    currency     text,
    as_of_time   timestamptz,
    PRIMARY KEY (account_id, as_of, balance_type)
);
COMMENT ON TABLE finance.balances IS 'Balances over time: one row per account, day and kind of balance (a later reading the same day replaces the earlier one). Positive = money you have, negative = money you owe (credit-card and loan balances owed are negative; Plaid''s positive owed balances are flipped).';
COMMENT ON COLUMN finance.balances.account_id IS 'The account (finance.accounts).';
COMMENT ON COLUMN finance.balances.as_of IS 'The day the balance is for, in the institution''s own time zone.';
COMMENT ON COLUMN finance.balances.balance_type IS 'ledger / available (OFX LEDGERBAL / AVAILBAL, CSV running balance = ledger); current / available / limit (Plaid; available and limit of a card = credit left / credit line, positive); cash / margin / short / buying_power (OFX INVBAL); ballist:<name> (OFX INVBAL BALLIST entries in money).';
COMMENT ON COLUMN finance.balances.amount IS 'The balance, exact. Negative = owed (see the table comment).';
COMMENT ON COLUMN finance.balances.source IS 'ofx, csv or plaid.';
COMMENT ON COLUMN finance.balances.currency IS 'ISO 4217 currency of amount.';
COMMENT ON COLUMN finance.balances.as_of_time IS 'The exact time of the reading when the source gives one (OFX DTASOF, Plaid last_updated_datetime or the response time).';
SELECT platform.track('finance.balances');

-- transactions ------------------------------------------------------------------
CREATE TABLE finance.transactions (
    account_id             text NOT NULL,
    transaction_id         text NOT NULL,
    source                 text NOT NULL,
    posted_date            date NOT NULL,
    amount                 numeric NOT NULL,
    currency               text NOT NULL,
    user_date              date,
    payee                  text,
    memo                   text,
    merchant_name          text,
    trn_type               text,
    check_number           text,
    reference              text,
    pending                boolean,
    pending_transaction_id text,
    balance_after          numeric,
    category_source        text,
    details                jsonb,
    category_user          text,
    category_rule          text,
    category_predicted     text,
    category_confidence    double precision,
    PRIMARY KEY (account_id, transaction_id)
);
CREATE INDEX transactions_posted ON finance.transactions (posted_date);
COMMENT ON TABLE finance.transactions IS 'Cash movements on accounts, from every source. amount < 0 = money out (purchase, fee, withdrawal), amount > 0 = money in; Plaid amounts are flipped to this convention. Withdrawn ones are listed in finance.removed_transactions; finance.transactions_current leaves them out and adds the effective category.';
COMMENT ON COLUMN finance.transactions.account_id IS 'The account (finance.accounts).';
COMMENT ON COLUMN finance.transactions.transaction_id IS 'The institution''s id where it has one (OFX FITID, Plaid transaction_id); otherwise csv:<sha1 of account|date|amount|description|n> (ofx:<sha1> for OFX rows without FITID), n = the occurrence of that same row on that day, so a file loaded twice never duplicates and two identical purchases on one day stay two.';
COMMENT ON COLUMN finance.transactions.source IS 'ofx, csv or plaid.';
COMMENT ON COLUMN finance.transactions.posted_date IS 'The day the institution booked it (OFX DTPOSTED as written, Plaid date, CSV date column).';
COMMENT ON COLUMN finance.transactions.amount IS 'Exact amount in currency; negative = money out of the account, positive = money in.';
COMMENT ON COLUMN finance.transactions.currency IS 'ISO 4217 currency of amount (OFX CURRENCY/CURDEF, Plaid iso_currency_code or unofficial_currency_code, CSV profile).';
COMMENT ON COLUMN finance.transactions.user_date IS 'The day it happened when it differs from posting (OFX DTUSER, Plaid authorized_date, a CSV transaction-date column).';
COMMENT ON COLUMN finance.transactions.payee IS 'Who was paid or paid you, as the statement writes it (OFX NAME, Plaid name, CSV description).';
COMMENT ON COLUMN finance.transactions.memo IS 'Extra description (OFX MEMO, Plaid original_description, CSV memo columns).';
COMMENT ON COLUMN finance.transactions.merchant_name IS 'Cleaned merchant name (Plaid merchant_name).';
COMMENT ON COLUMN finance.transactions.trn_type IS 'Kind of transaction: OFX TRNTYPE (DEBIT, POS, CHECK...), Plaid payment_channel, CSV type column.';
COMMENT ON COLUMN finance.transactions.check_number IS 'Cheque number (OFX CHECKNUM, Plaid check_number, CSV).';
COMMENT ON COLUMN finance.transactions.reference IS 'Reference number (OFX REFNUM).';
COMMENT ON COLUMN finance.transactions.pending IS 'True while not yet posted (Plaid pending, CSV status). A posted Plaid transaction gets a new id and names the pending one in pending_transaction_id; the pending one is then removed.';
COMMENT ON COLUMN finance.transactions.pending_transaction_id IS 'For a posted Plaid transaction: the id of the pending one it replaces.';
COMMENT ON COLUMN finance.transactions.balance_after IS 'Running balance after this transaction, when the export has one.';
COMMENT ON COLUMN finance.transactions.category_source IS 'The institution''s own category (Plaid personal_finance_category or category, CSV category columns); not used as a label.';
COMMENT ON COLUMN finance.transactions.details IS 'Source fields without a column of their own (CSV: unmapped columns and the profile; OFX: SIC, SRVRTID...; Plaid: location, counterparties, payment_meta...).';
COMMENT ON COLUMN finance.transactions.category_user IS 'Category set by the user. Always wins; nothing in pde ever writes or overwrites it.';
COMMENT ON COLUMN finance.transactions.category_rule IS 'Category from the first matching rule in finance.category_rules (written by the categorizer).';
COMMENT ON COLUMN finance.transactions.category_predicted IS 'Category predicted by the model (TF-IDF of payee+memo, logistic regression) for rows without a user or rule category.';
COMMENT ON COLUMN finance.transactions.category_confidence IS 'The model''s probability for category_predicted (0-1).';
SELECT platform.track('finance.transactions', true);

CREATE TABLE finance.removed_transactions (
    account_id     text NOT NULL,
    transaction_id text NOT NULL,
    source         text NOT NULL,
    removed_at     timestamptz,
    PRIMARY KEY (account_id, transaction_id)
);
COMMENT ON TABLE finance.removed_transactions IS 'Transactions the institution withdrew: Plaid /transactions/sync removed[] (e.g. a pending one replaced by its posted version) and OFX CORRECTACTION DELETE/REPLACE. The row in finance.transactions is kept; finance.transactions_current hides it.';
COMMENT ON COLUMN finance.removed_transactions.account_id IS 'The account (finance.accounts).';
COMMENT ON COLUMN finance.removed_transactions.transaction_id IS 'The withdrawn transaction (finance.transactions.transaction_id).';
COMMENT ON COLUMN finance.removed_transactions.source IS 'ofx or plaid.';
COMMENT ON COLUMN finance.removed_transactions.removed_at IS 'When pde learned of the removal (response time).';
SELECT platform.track('finance.removed_transactions');

-- investments -------------------------------------------------------------------
CREATE TABLE finance.securities (
    security_id   text PRIMARY KEY,
    id_type       text NOT NULL,
    unique_id     text NOT NULL,
    source        text NOT NULL,
    name          text,
    ticker        text,
    security_type text,
    currency      text,
    unit_price    numeric,
    price_as_of   timestamptz
);
COMMENT ON TABLE finance.securities IS 'Stocks, funds, bonds and options named in investment statements (OFX SECLIST).';
COMMENT ON COLUMN finance.securities.security_id IS '<id type>:<id>, e.g. CUSIP:458140100.';
COMMENT ON COLUMN finance.securities.id_type IS 'OFX UNIQUEIDTYPE (CUSIP, ISIN...).';
COMMENT ON COLUMN finance.securities.unique_id IS 'OFX UNIQUEID.';
COMMENT ON COLUMN finance.securities.source IS 'ofx.';
COMMENT ON COLUMN finance.securities.name IS 'OFX SECNAME.';
COMMENT ON COLUMN finance.securities.ticker IS 'OFX TICKER.';
COMMENT ON COLUMN finance.securities.security_type IS 'stock, mutual fund, option, debt or other (the OFX *INFO aggregate).';
COMMENT ON COLUMN finance.securities.currency IS 'ISO 4217 currency of unit_price, when given.';
COMMENT ON COLUMN finance.securities.unit_price IS 'Price per unit the statement gives, when given.';
COMMENT ON COLUMN finance.securities.price_as_of IS 'When unit_price was valid (OFX DTASOF).';
SELECT platform.track('finance.securities', true);

CREATE TABLE finance.holdings (
    account_id    text NOT NULL,
    security_id   text NOT NULL,
    as_of         date NOT NULL,
    held_in       text NOT NULL,
    source        text NOT NULL,
    position_type text,
    units         numeric,
    unit_price    numeric,
    market_value  numeric,
    currency      text,
    price_as_of   timestamptz,
    memo          text,
    PRIMARY KEY (account_id, security_id, as_of, held_in)
);
COMMENT ON TABLE finance.holdings IS 'Positions in an investment account on each statement date (OFX INVPOSLIST): one row per account, security, day and sub-account.';
COMMENT ON COLUMN finance.holdings.account_id IS 'The investment account (finance.accounts).';
COMMENT ON COLUMN finance.holdings.security_id IS 'The security (finance.securities).';
COMMENT ON COLUMN finance.holdings.as_of IS 'Statement date (INVSTMTRS DTASOF), the institution''s local day.';
COMMENT ON COLUMN finance.holdings.held_in IS 'Sub-account holding it: CASH, MARGIN, SHORT or OTHER (OFX HELDINACCT).';
COMMENT ON COLUMN finance.holdings.source IS 'ofx.';
COMMENT ON COLUMN finance.holdings.position_type IS 'LONG or SHORT.';
COMMENT ON COLUMN finance.holdings.units IS 'Shares / units held (negative for short positions as the institution reports them).';
COMMENT ON COLUMN finance.holdings.unit_price IS 'Price per unit, in currency.';
COMMENT ON COLUMN finance.holdings.market_value IS 'Market value of the position, in currency.';
COMMENT ON COLUMN finance.holdings.currency IS 'ISO 4217 currency (the position''s CURRENCY, else the statement''s CURDEF).';
COMMENT ON COLUMN finance.holdings.price_as_of IS 'When the price was taken (OFX DTPRICEASOF).';
COMMENT ON COLUMN finance.holdings.memo IS 'OFX MEMO of the position.';
SELECT platform.track('finance.holdings');

CREATE TABLE finance.investment_transactions (
    account_id      text NOT NULL,
    transaction_id  text NOT NULL,
    source          text NOT NULL,
    trade_date      date NOT NULL,
    action          text NOT NULL,
    subtype         text,
    settle_date     date,
    security_id     text,
    units           numeric,
    unit_price      numeric,
    commission      numeric,
    fees            numeric,
    total           numeric,
    currency        text,
    memo            text,
    subaccount_sec  text,
    subaccount_fund text,
    PRIMARY KEY (account_id, transaction_id)
);
COMMENT ON TABLE finance.investment_transactions IS 'Trades, income, reinvestments and transfers in investment accounts (OFX INVTRANLIST). Cash movements of the account (interest, fees: OFX INVBANKTRAN) are in finance.transactions. total < 0 = cash out of the account.';
COMMENT ON COLUMN finance.investment_transactions.account_id IS 'The investment account (finance.accounts).';
COMMENT ON COLUMN finance.investment_transactions.transaction_id IS 'The institution''s id (OFX FITID).';
COMMENT ON COLUMN finance.investment_transactions.source IS 'ofx.';
COMMENT ON COLUMN finance.investment_transactions.trade_date IS 'Trade date (OFX DTTRADE), the institution''s local day.';
COMMENT ON COLUMN finance.investment_transactions.action IS 'The OFX transaction aggregate: BUYSTOCK, SELLSTOCK, BUYMF, SELLMF, REINVEST, INCOME, TRANSFER, INVEXPENSE, SPLIT...';
COMMENT ON COLUMN finance.investment_transactions.subtype IS 'BUYTYPE / SELLTYPE (BUY, SELL, BUYTOCOVER...), INCOMETYPE (DIV, INTEREST, CGLONG...), TFERACTION (IN/OUT)...';
COMMENT ON COLUMN finance.investment_transactions.settle_date IS 'Settlement date (OFX DTSETTLE).';
COMMENT ON COLUMN finance.investment_transactions.security_id IS 'The security (finance.securities).';
COMMENT ON COLUMN finance.investment_transactions.units IS 'Units bought (positive) or sold (negative).';
COMMENT ON COLUMN finance.investment_transactions.unit_price IS 'Price per unit, in currency.';
COMMENT ON COLUMN finance.investment_transactions.commission IS 'Commission paid.';
COMMENT ON COLUMN finance.investment_transactions.fees IS 'Fees paid.';
COMMENT ON COLUMN finance.investment_transactions.total IS 'Cash effect on the account: negative = money out (a buy), positive = money in (a sale, income).';
COMMENT ON COLUMN finance.investment_transactions.currency IS 'ISO 4217 currency of the amounts.';
COMMENT ON COLUMN finance.investment_transactions.memo IS 'OFX MEMO.';
COMMENT ON COLUMN finance.investment_transactions.subaccount_sec IS 'Sub-account of the security (OFX SUBACCTSEC: CASH, MARGIN, SHORT, OTHER).';
COMMENT ON COLUMN finance.investment_transactions.subaccount_fund IS 'Sub-account the cash came from or went to (OFX SUBACCTFUND).';
SELECT platform.track('finance.investment_transactions');

-- Plaid -------------------------------------------------------------------------
CREATE TABLE finance.plaid_cursors (
    access_token_hash text PRIMARY KEY,
    cursor            text NOT NULL,
    synced_at         timestamptz NOT NULL,
    item_id           text,
    added             integer,
    modified          integer,
    removed           integer
);
COMMENT ON TABLE finance.plaid_cursors IS 'Where the last complete Plaid /transactions/sync of each Item stopped; the next run continues from cursor. Written only after the last page of a sync.';
COMMENT ON COLUMN finance.plaid_cursors.access_token_hash IS 'SHA-256 (hex) of the Item''s access token. The token itself is never stored.';
COMMENT ON COLUMN finance.plaid_cursors.cursor IS 'Plaid next_cursor after the last page (has_more = false).';
COMMENT ON COLUMN finance.plaid_cursors.synced_at IS 'When that sync finished (time of the last response).';
COMMENT ON COLUMN finance.plaid_cursors.item_id IS 'Plaid item_id, when a response named it.';
COMMENT ON COLUMN finance.plaid_cursors.added IS 'Transactions added by that sync (all pages).';
COMMENT ON COLUMN finance.plaid_cursors.modified IS 'Transactions modified by that sync.';
COMMENT ON COLUMN finance.plaid_cursors.removed IS 'Transactions removed by that sync.';
SELECT platform.track('finance.plaid_cursors');

-- categorization ----------------------------------------------------------------
CREATE TABLE finance.category_rules (
    rule_id    bigserial PRIMARY KEY,
    pattern    text NOT NULL,
    match_type text NOT NULL DEFAULT 'contains' CHECK (match_type IN ('contains', 'regex', 'exact')),
    field      text NOT NULL DEFAULT 'any' CHECK (field IN ('payee', 'memo', 'any')),
    category   text NOT NULL,
    priority   integer NOT NULL DEFAULT 100,
    account_id text,
    enabled    boolean NOT NULL DEFAULT true,
    note       text,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE finance.category_rules IS 'Your categorization rules (edit freely): a transaction whose payee/memo matches pattern gets category in finance.transactions.category_rule; the lowest priority number wins, then the lowest rule_id. Applied by pde.finance.categorize (python -m pde.finance.categorize). A category you set by hand (category_user) always wins over rules.';
COMMENT ON COLUMN finance.category_rules.rule_id IS 'Rule number.';
COMMENT ON COLUMN finance.category_rules.pattern IS 'Text to look for (case-insensitive), or a PostgreSQL regular expression when match_type = regex.';
COMMENT ON COLUMN finance.category_rules.match_type IS 'contains (default), regex (case-insensitive ~*) or exact (whole text, case-insensitive).';
COMMENT ON COLUMN finance.category_rules.field IS 'Where to look: payee, memo, or any (payee and memo, default).';
COMMENT ON COLUMN finance.category_rules.category IS 'Category to give matching transactions.';
COMMENT ON COLUMN finance.category_rules.priority IS 'Lower runs first; the first matching rule wins.';
COMMENT ON COLUMN finance.category_rules.account_id IS 'Only for this account (finance.accounts); null = every account.';
COMMENT ON COLUMN finance.category_rules.enabled IS 'False to keep a rule without applying it.';
COMMENT ON COLUMN finance.category_rules.note IS 'Your note on why the rule exists.';
COMMENT ON COLUMN finance.category_rules.created_at IS 'When the rule was added.';

CREATE TABLE finance.categorizer_runs (
    run_id       bigserial PRIMARY KEY,
    ran_at       timestamptz NOT NULL DEFAULT now(),
    rule_matches integer NOT NULL,
    labelled     integer NOT NULL,
    trained_on   integer NOT NULL,
    held_out     integer NOT NULL,
    accuracy     double precision,
    predicted    integer NOT NULL,
    classes      integer NOT NULL,
    message      text
);
COMMENT ON TABLE finance.categorizer_runs IS 'One row per run of pde.finance.categorize.train_and_apply: how many rows rules matched, what the model trained on and how accurate it was on held-out rows.';
COMMENT ON COLUMN finance.categorizer_runs.run_id IS 'Run number.';
COMMENT ON COLUMN finance.categorizer_runs.ran_at IS 'When it ran.';
COMMENT ON COLUMN finance.categorizer_runs.rule_matches IS 'Transactions that got a category from a rule.';
COMMENT ON COLUMN finance.categorizer_runs.labelled IS 'Transactions with a user or rule category (the model''s examples).';
COMMENT ON COLUMN finance.categorizer_runs.trained_on IS 'Examples used to fit the model that was evaluated.';
COMMENT ON COLUMN finance.categorizer_runs.held_out IS 'Examples kept aside to measure accuracy.';
COMMENT ON COLUMN finance.categorizer_runs.accuracy IS 'Share of held-out examples predicted right (null when there were too few to hold any out).';
COMMENT ON COLUMN finance.categorizer_runs.predicted IS 'Transactions without a user or rule category that got a prediction.';
COMMENT ON COLUMN finance.categorizer_runs.classes IS 'Distinct categories the model knows.';
COMMENT ON COLUMN finance.categorizer_runs.message IS 'Why nothing was predicted, when so.';
