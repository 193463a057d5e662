"""Categories for finance.transactions: yours, your rules, the institution's, then a model for the rest.

Which category a transaction shows (finance.transactions_current.category):

1. ``category_user``: set by you (SQL, Superset, a spreadsheet...). Always wins;
   nothing here ever writes it.
2. ``category_rule``: the first matching rule of finance.category_rules (you edit
   that table: pattern -> category, lowest ``priority`` first), matched against the
   payee, the memo and the merchant name.
3. the institution's own category (Plaid personal_finance_category, a CSV's Category
   column, Mint's) mapped to pde's through finance.category_map (data: edit it).
4. ``category_predicted`` + ``category_confidence``: a scikit-learn model (TF-IDF
   of payee + memo + merchant, logistic regression) trained on the rows above,
   predicting the rest. A guess under 60 % (``CONFIDENCE``) is kept as a hint, but
   the transaction stays uncategorized and waits in the review queue.

Accuracy is measured only on categories you set yourself, and only once there are
``ACCURACY_ROWS`` (50) of them: rules and institution categories would grade the
model against itself, and three rows say nothing.

``train_and_apply(conn)`` applies the rules, matches transfers between your own
accounts (pde.finance.spending.match_transfers), retrains, writes the predictions
and logs a row in finance.categorizer_runs. Run it after crawls: ``pde categorize``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass

from psycopg2.extras import execute_values

from pde.db import connect

logger = logging.getLogger(__name__)

MIN_EXAMPLES = 10
CONFIDENCE = 0.6  # a guess less sure than this stays uncategorized (finance.transactions_current)
ACCURACY_ROWS = 50  # user-labelled rows needed before an accuracy is reported
FOLDS = 5

_RULE_MATCHES = """
SELECT DISTINCT ON (t.account_id, t.transaction_id) t.account_id, t.transaction_id, r.category
  FROM finance.transactions t
  JOIN finance.category_rules r
    ON r.enabled AND (r.account_id IS NULL OR r.account_id = t.account_id)
       AND r.rule_id <> ALL (%(bad)s)
 CROSS JOIN LATERAL (SELECT CASE r.field
            WHEN 'payee' THEN coalesce(t.payee, '')
            WHEN 'memo' THEN coalesce(t.memo, '')
            WHEN 'merchant' THEN coalesce(t.merchant_name, '')
            ELSE concat_ws(' ', t.payee, t.memo, t.merchant_name) END AS text) x
 WHERE CASE r.match_type
            WHEN 'contains' THEN strpos(lower(x.text), lower(r.pattern)) > 0
            WHEN 'regex' THEN x.text ~* r.pattern
            ELSE (r.field IN ('payee', 'any') AND lower(trim(t.payee)) = lower(trim(r.pattern)))
              OR (r.field IN ('memo', 'any') AND lower(trim(t.memo)) = lower(trim(r.pattern)))
              OR (r.field IN ('merchant', 'any') AND lower(trim(t.merchant_name)) = lower(trim(r.pattern)))
       END
 ORDER BY t.account_id, t.transaction_id, r.priority, r.rule_id
"""


@dataclass
class Report:
    rule_matches: int = 0
    labelled: int = 0
    user_labelled: int = 0
    trained_on: int = 0
    held_out: int = 0
    accuracy: float | None = None
    predicted: int = 0
    confident: int = 0
    classes: int = 0
    transfers: int | None = None
    message: str | None = None

    def __str__(self) -> str:
        if self.accuracy is not None:
            acc = (f"accuracy {self.accuracy:.1%} on the {self.held_out} categories you set yourself "
                   f"({FOLDS}-fold cross-validated)")
        else:
            acc = (f"accuracy not measured: {self.user_labelled} categories set by you, "
                   f"it needs {ACCURACY_ROWS} (set category_user on more rows)")
        text = (f"rules matched {self.rule_matches} transactions; {self.labelled} categorised "
                f"({self.classes} categories) to learn from; predicted {self.predicted}: "
                f"{self.confident} at least {CONFIDENCE:.0%} sure (shown), {self.predicted - self.confident} "
                f"unsure (left uncategorized, in the review queue); {acc}")
        if self.transfers is not None:
            text += f"; {self.transfers} transfers between your accounts matched"
        return text + (f" ({self.message})" if self.message else "")


def _bad_regex_rules(conn) -> list[int]:
    """Rules whose regex PostgreSQL refuses: skipped (with a warning), not fatal."""
    bad = []
    with conn.cursor() as cur:
        cur.execute("SELECT rule_id, pattern FROM finance.category_rules "
                    "WHERE enabled AND match_type = 'regex'")
        for rule_id, pattern in cur.fetchall():
            cur.execute("SAVEPOINT rule_check")
            try:
                cur.execute("SELECT '' ~* %s", (pattern,))
            except Exception as exc:  # psycopg2.errors.InvalidRegularExpression
                cur.execute("ROLLBACK TO SAVEPOINT rule_check")
                logger.warning("category rule %s: invalid regex %r (%s): skipped",
                               rule_id, pattern, str(exc).strip())
                bad.append(rule_id)
            cur.execute("RELEASE SAVEPOINT rule_check")
    return bad


def apply_rules(conn) -> int:
    """Set category_rule from finance.category_rules; returns how many rows a rule matches.

    Rows no rule matches any more (a rule was deleted or changed) lose their
    category_rule. category_user is never touched.
    """
    params = {"bad": _bad_regex_rules(conn) or [-1]}
    with conn.cursor() as cur:
        cur.execute(f"""
            WITH m AS ({_RULE_MATCHES})
            UPDATE finance.transactions t SET category_rule = m.category
              FROM (SELECT t2.account_id, t2.transaction_id, m.category
                      FROM finance.transactions t2
                      LEFT JOIN m USING (account_id, transaction_id)
                     WHERE t2.category_rule IS DISTINCT FROM m.category) m
             WHERE t.account_id = m.account_id AND t.transaction_id = m.transaction_id""", params)
        cur.execute(f"SELECT count(*) FROM ({_RULE_MATCHES}) m", params)
        return cur.fetchone()[0]


def features(payee: str | None, memo: str | None, merchant: str | None = None) -> str:
    """The text the model reads: payee, memo and merchant name, lower case, numbers folded to 0."""
    text = " ".join(filter(None, (payee, memo, merchant))).lower()
    return re.sub(r"\d+", "0", text)


def build_model():
    # lazy: scikit-learn takes seconds to import; only training needs it
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    return make_pipeline(
        make_union(
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
        ),
        LogisticRegression(max_iter=2000, C=10.0),
    )


def _user_accuracy(texts: list[str], labels: list[str], by_user: list[bool],
                   random_state: int) -> tuple[int, int, float | None]:
    """(trained_on, held_out, accuracy): each of your own categories predicted by a model that never saw it.

    Only rows you categorised yourself are graded (FOLDS folds of them); a model is fitted
    on everything else each time. None below ACCURACY_ROWS of them.
    """
    from sklearn.model_selection import KFold  # lazy: scikit-learn (see build_model)

    mine = [i for i, u in enumerate(by_user) if u]
    if len(mine) < ACCURACY_ROWS:
        return len(labels), 0, None
    right, trained = 0, 0
    for _, test in KFold(FOLDS, shuffle=True, random_state=random_state).split(mine):
        held = {mine[i] for i in test}
        train = [i for i in range(len(labels)) if i not in held]
        if len({labels[i] for i in train}) < 2:
            return len(labels), 0, None
        model = build_model().fit([texts[i] for i in train], [labels[i] for i in train])
        tested = sorted(held)
        guesses = model.predict([texts[i] for i in tested])
        right += sum(g == labels[i] for g, i in zip(guesses, tested, strict=True))
        trained = max(trained, len(train))
    return trained, len(mine), right / len(mine)


def match_transfers(conn) -> int:
    """Refresh finance.transfer_matches with pde.finance.spending's matcher (recorded as a model run)."""
    import pandas as pd  # lazy: pandas and the models' imports stay out of `pde` start-up

    from pde.finance import spending  # lazy: as above
    from pde.model_runs import ModelRun, record, set_predictions  # lazy: as above

    with conn.cursor() as cur:
        cur.execute(spending.TRANSACTIONS_SQL)
        cols = [c.name for c in cur.description]
        tx = spending.prepare(pd.DataFrame(cur.fetchall(), columns=cols))
    pairs = spending.match_transfers(tx)
    run = ModelRun(model="finance.transfers", area="finance", rows=len(tx),
                   features=["amount", "currency", "posted_date", "account_id"],
                   metrics={"transactions": len(tx), "matched_pairs": len(pairs), "max_days": spending.TRANSFER_DAYS},
                   message="matched by pde categorize")
    record(conn, run)
    with conn.cursor() as cur:
        set_predictions(conn, run, spending._replace(cur, "finance.transfer_matches", pairs, run.model_run_id))
    return len(pairs)


def train_and_apply(conn, *, min_examples: int = MIN_EXAMPLES, random_state: int = 0,
                    transfers: bool = True) -> Report:
    """Apply rules, match transfers, retrain on categorised rows, predict the rest, commit.

    The examples are the rows with a category of yours, a rule's or the institution's;
    accuracy is graded on yours only (see _user_accuracy). Every uncategorised row gets
    the model's guess and its probability; the views show it only when >= CONFIDENCE.
    """
    report = Report(rule_matches=apply_rules(conn))
    if transfers:
        report.transfers = match_transfers(conn)
    with conn.cursor() as cur:
        cur.execute("""SELECT account_id, transaction_id, payee, memo, merchant_name,
                              coalesce(category_user, category_rule, category_default), category_user IS NOT NULL
                         FROM finance.transactions_current ORDER BY account_id, transaction_id""")
        rows = cur.fetchall()
    labelled = [(features(p, m, mn), c, u) for _, _, p, m, mn, c, u in rows if c]
    todo = [(a, t, features(p, m, mn)) for a, t, p, m, mn, c, _ in rows if not c]
    report.labelled = len(labelled)
    report.user_labelled = sum(1 for _, _, u in labelled if u)
    report.classes = len({c for _, c, _ in labelled})
    with conn.cursor() as cur:
        # the model only speaks for rows without a category of yours, a rule's or the institution's
        cur.execute("""UPDATE finance.transactions t SET category_predicted = NULL, category_confidence = NULL
                         FROM finance.transactions_current c
                        WHERE (c.account_id, c.transaction_id) = (t.account_id, t.transaction_id)
                          AND t.category_predicted IS NOT NULL
                          AND (t.category_user IS NOT NULL OR t.category_rule IS NOT NULL
                               OR c.category_default IS NOT NULL)""")
    if report.labelled < min_examples or report.classes < 2:
        report.message = (f"not enough categorised transactions to learn from: {report.labelled} "
                          f"in {report.classes} categories (need {min_examples} in 2 or more); "
                          "set category_user on some rows or add rules to finance.category_rules")
    else:
        texts, labels = [t for t, _, _ in labelled], [c for _, c, _ in labelled]
        report.trained_on, report.held_out, report.accuracy = _user_accuracy(
            texts, labels, [u for _, _, u in labelled], random_state)
        if todo:
            model = build_model().fit(texts, labels)
            proba = model.predict_proba([t for _, _, t in todo])
            classes = model.classes_
            best = proba.argmax(axis=1)
            values = [(a, t, str(classes[i]), float(proba[n, i]))
                      for n, ((a, t, _), i) in enumerate(zip(todo, best))]
            with conn.cursor() as cur:
                execute_values(cur, """
                    UPDATE finance.transactions t
                       SET category_predicted = v.category, category_confidence = v.confidence
                      FROM (VALUES %s) AS v(account_id, transaction_id, category, confidence)
                     WHERE t.account_id = v.account_id AND t.transaction_id = v.transaction_id""",
                               values, page_size=1000)
            report.predicted = len(values)
            report.confident = sum(1 for *_, p in values if p >= CONFIDENCE)
    with conn.cursor() as cur:
        cur.execute("""INSERT INTO finance.categorizer_runs
                       (rule_matches, labelled, trained_on, held_out, accuracy, predicted, classes, message)
                       VALUES (%(rule_matches)s, %(labelled)s, %(trained_on)s, %(held_out)s,
                               %(accuracy)s, %(predicted)s, %(classes)s, %(message)s)""", asdict(report))
    conn.commit()
    logger.info("categorize: %s", report)
    return report


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")  # the report is printed once, below
    conn = connect()
    try:
        print(train_and_apply(conn))
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
