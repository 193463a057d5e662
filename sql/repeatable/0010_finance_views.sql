-- Views of the finance schema.
-- Repeatable: pde migrate re-applies this file whenever its text changes (see pde/migrate.py).
-- Dropped first so a changed column list applies; views of later files that depend on these
-- are dropped with them (CASCADE) and re-created when pde migrate re-applies those files.
DROP VIEW IF EXISTS finance.transactions_current CASCADE;

-- what dashboards read -----------------------------------------------------------
CREATE VIEW finance.transactions_current AS
SELECT t.*,
       COALESCE(t.category_user, t.category_rule, t.category_predicted) AS category,
       CASE WHEN t.category_user IS NOT NULL THEN 'user'
            WHEN t.category_rule IS NOT NULL THEN 'rule'
            WHEN t.category_predicted IS NOT NULL THEN 'model' END AS category_origin
  FROM finance.transactions t
 WHERE NOT EXISTS (SELECT 1 FROM finance.removed_transactions r
                    WHERE r.account_id = t.account_id AND r.transaction_id = t.transaction_id);
COMMENT ON VIEW finance.transactions_current IS 'finance.transactions without the removed ones, with the effective category (user > rule > model). Amounts: negative = money out.';
COMMENT ON COLUMN finance.transactions_current.category IS 'The category to show: category_user, else category_rule, else category_predicted.';
COMMENT ON COLUMN finance.transactions_current.category_origin IS 'Where category came from: user, rule or model (null = uncategorized).';
-- the view's other columns say what they say in finance.transactions
DO $$
BEGIN
    EXECUTE (
        SELECT string_agg(format('COMMENT ON COLUMN finance.transactions_current.%I IS %L',
                                 a.attname, d.description), '; ')
          FROM pg_attribute a
          JOIN pg_description d ON d.objoid = a.attrelid AND d.objsubid = a.attnum
         WHERE a.attrelid = 'finance.transactions'::regclass AND a.attnum > 0 AND NOT a.attisdropped
    );
END $$;
