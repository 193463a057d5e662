-- Views of the finance schema.
-- Repeatable: pde migrate re-applies this file whenever its text changes (see pde/migrate.py).
-- Dropped first so a changed column list applies; views of later files that depend on these
-- are dropped with them (CASCADE) and re-created when pde migrate re-applies those files.
DROP VIEW IF EXISTS finance.transactions_current CASCADE;

-- the institution's category as pde's (finance.category_map); plpgsql, so the table (sql/0070) is looked
-- up when called, not when this file is applied
CREATE OR REPLACE FUNCTION finance.default_category(source_category text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    key text := lower(btrim(source_category));
    part text;
    found text;
BEGIN
    IF key IS NULL OR key = '' THEN
        RETURN NULL;
    END IF;
    SELECT m.category INTO found FROM finance.category_map m WHERE m.source_category = key;
    IF found IS NOT NULL THEN
        RETURN found;
    END IF;
    -- a Plaid detailed category falls back to its primary: food_and_drink_beer_wine -> food_and_drink
    SELECT m.category INTO found FROM finance.category_map m
     WHERE starts_with(key, m.source_category || '_') ORDER BY length(m.source_category) DESC LIMIT 1;
    IF found IS NOT NULL THEN
        RETURN found;
    END IF;
    -- a path ("Food and Drink > Restaurants > Coffee Shop", "Travel / Gas"): its most specific known part
    FOR part IN SELECT btrim(x.p) FROM unnest(regexp_split_to_array(key, '\s*(>|/|:|\|)\s*'))
                                       WITH ORDINALITY x(p, n) ORDER BY x.n DESC LOOP
        SELECT m.category INTO found FROM finance.category_map m WHERE m.source_category = part;
        IF found IS NOT NULL THEN
            RETURN found;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION finance.default_category(text) IS 'pde''s category for an institution''s own category (finance.category_map): the whole value, else a Plaid primary category, else the most specific known part of a path; null when unknown.';

-- what dashboards read -----------------------------------------------------------
CREATE VIEW finance.transactions_current AS
SELECT t.*,
       d.category_default,
       COALESCE(t.category_user, t.category_rule, d.category_default,
                CASE WHEN t.category_confidence >= 0.6 THEN t.category_predicted END) AS category,
       CASE WHEN t.category_user IS NOT NULL THEN 'user'
            WHEN t.category_rule IS NOT NULL THEN 'rule'
            WHEN d.category_default IS NOT NULL THEN 'source'
            WHEN t.category_predicted IS NOT NULL AND t.category_confidence >= 0.6 THEN 'model' END AS category_origin
  FROM finance.transactions t
 CROSS JOIN LATERAL (SELECT finance.default_category(t.category_source) AS category_default) d
 WHERE NOT EXISTS (SELECT 1 FROM finance.removed_transactions r
                    WHERE r.account_id = t.account_id AND r.transaction_id = t.transaction_id);
COMMENT ON VIEW finance.transactions_current IS 'finance.transactions without the removed ones, with the effective category: yours (category_user) > a rule''s > the institution''s own category mapped through finance.category_map > the model''s guess when it is at least 60 % sure. Amounts: negative = money out.';
COMMENT ON COLUMN finance.transactions_current.category_default IS 'The institution''s own category (category_source) as pde''s category (finance.category_map); null when it has none or it is not in the map.';
COMMENT ON COLUMN finance.transactions_current.category IS 'The category to show: category_user, else category_rule, else category_default, else category_predicted when category_confidence >= 0.6; null = uncategorized (a guess under 60 % waits in the review queue).';
COMMENT ON COLUMN finance.transactions_current.category_origin IS 'Where category came from: user, rule, source (the institution''s category) or model (null = uncategorized).';
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
