-- The source's own category as the default (finance.category_map), rules that also read the
-- merchant name, and pde's settings (the home currency the dashboards open on).

CREATE TABLE finance.category_map (
    source_category text PRIMARY KEY,
    category        text NOT NULL,
    origin          text NOT NULL DEFAULT 'user' CHECK (origin IN ('pde', 'user')),
    note            text
);
COMMENT ON TABLE finance.category_map IS 'How an institution''s own category (finance.transactions.category_source: Plaid personal_finance_category, a CSV''s Category column, Mint''s categories) maps to your categories: the default category of a transaction, which your rules and your own category override. pde''s rows (origin pde) come from sql/repeatable/0070_category_map.sql; add or change rows as origin user and pde keeps them.';
COMMENT ON COLUMN finance.category_map.source_category IS 'The institution''s category in lower case: a whole value ("coffee shops", "food_and_drink_groceries"), a Plaid primary category (food_and_drink: every detailed category under it), or one part of a path ("food and drink > restaurants", "travel / gas": the most specific known part counts).';
COMMENT ON COLUMN finance.category_map.category IS 'Your category for it.';
COMMENT ON COLUMN finance.category_map.origin IS 'pde (shipped with pde, replaced when pde''s list changes) or user (yours: kept, and wins over pde''s for the same source category).';
COMMENT ON COLUMN finance.category_map.note IS 'Why, when it is not obvious.';

ALTER TABLE finance.category_rules DROP CONSTRAINT category_rules_field_check;
ALTER TABLE finance.category_rules ADD CONSTRAINT category_rules_field_check
    CHECK (field IN ('payee', 'memo', 'merchant', 'any'));
COMMENT ON COLUMN finance.category_rules.field IS 'Where to look: payee, memo, merchant (the cleaned merchant name, Plaid merchant_name), or any (payee, memo and merchant name, default).';
COMMENT ON TABLE finance.category_rules IS 'Your categorization rules (edit freely): a transaction whose payee, memo or merchant name matches pattern gets category in finance.transactions.category_rule; the lowest priority number wins, then the lowest rule_id. A rule overrides the institution''s own category (finance.category_map); a category you set by hand (category_user) always wins. Applied by `pde categorize`.';

CREATE TABLE platform.settings (
    key   text PRIMARY KEY,
    value text NOT NULL,
    note  text
);
COMMENT ON TABLE platform.settings IS 'pde settings that live with the data (edit freely): home_currency = the ISO 4217 code the Spending dashboard opens on (default: the currency with the most transactions in the last year).';
COMMENT ON COLUMN platform.settings.key IS 'Setting name, e.g. home_currency.';
COMMENT ON COLUMN platform.settings.value IS 'Its value, as text.';
COMMENT ON COLUMN platform.settings.note IS 'Your note.';
