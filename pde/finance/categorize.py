"""Categories for finance.transactions: your rules first, then a model for the rest.

Which category a transaction shows (finance.transactions_current.category):

1. ``category_user``: set by you (SQL, Superset, a spreadsheet...). Always wins;
   nothing here ever writes it.
2. ``category_rule``: the first matching rule of finance.category_rules (you edit
   that table: pattern -> category, lowest ``priority`` first).
3. ``category_predicted`` + ``category_confidence``: a scikit-learn model (TF-IDF
   of payee + memo, logistic regression) trained on the rows that have a user or
   rule category, predicting the ones that have neither.

``train_and_apply(conn)`` applies the rules, retrains, measures accuracy on
held-out rows, writes the predictions and logs a row in finance.categorizer_runs.
Run it after crawls: ``python -m pde.finance.categorize``.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import asdict, dataclass

from psycopg2.extras import execute_values

from pde.db import connect

logger = logging.getLogger(__name__)

MIN_EXAMPLES = 10

_RULE_MATCHES = """
SELECT DISTINCT ON (t.account_id, t.transaction_id) t.account_id, t.transaction_id, r.category
  FROM finance.transactions t
  JOIN finance.category_rules r
    ON r.enabled AND (r.account_id IS NULL OR r.account_id = t.account_id)
       AND r.rule_id <> ALL (%(bad)s)
 CROSS JOIN LATERAL (SELECT CASE r.field
            WHEN 'payee' THEN coalesce(t.payee, '')
            WHEN 'memo' THEN coalesce(t.memo, '')
            ELSE concat_ws(' ', t.payee, t.memo) END AS text) x
 WHERE CASE r.match_type
            WHEN 'contains' THEN strpos(lower(x.text), lower(r.pattern)) > 0
            WHEN 'regex' THEN x.text ~* r.pattern
            ELSE (r.field IN ('payee', 'any') AND lower(trim(t.payee)) = lower(trim(r.pattern)))
              OR (r.field IN ('memo', 'any') AND lower(trim(t.memo)) = lower(trim(r.pattern)))
       END
 ORDER BY t.account_id, t.transaction_id, r.priority, r.rule_id
"""


@dataclass
class Report:
    rule_matches: int = 0
    labelled: int = 0
    trained_on: int = 0
    held_out: int = 0
    accuracy: float | None = None
    predicted: int = 0
    classes: int = 0
    message: str | None = None

    def __str__(self) -> str:
        acc = f"{self.accuracy:.1%}" if self.accuracy is not None else "n/a"
        text = (f"rules matched {self.rule_matches} transactions; {self.labelled} labelled "
                f"({self.classes} categories); model accuracy on {self.held_out} held-out rows: "
                f"{acc}; predicted {self.predicted}")
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


def features(payee: str | None, memo: str | None) -> str:
    """The text the model reads: payee and memo, lower case, numbers folded to 0."""
    text = " ".join(filter(None, (payee, memo))).lower()
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


def _held_out_accuracy(texts: list[str], labels: list[str], test_size: float,
                       random_state: int) -> tuple[int, int, float | None]:
    """(trained_on, held_out, accuracy) of a model fitted without the held-out rows."""
    from sklearn.model_selection import train_test_split  # lazy: scikit-learn (see build_model)

    n_classes = len(set(labels))
    n_test = max(int(round(len(labels) * test_size)), 1)
    if len(labels) - n_test < 2:
        return len(labels), 0, None
    stratify = labels if min(Counter(labels).values()) >= 2 and n_test >= n_classes else None
    x_train, x_test, y_train, y_test = train_test_split(
        texts, labels, test_size=n_test, random_state=random_state, stratify=stratify)
    if len(set(y_train)) < 2:
        return len(labels), 0, None
    model = build_model().fit(x_train, y_train)
    right = sum(p == y for p, y in zip(model.predict(x_test), y_test))
    return len(x_train), len(x_test), right / len(y_test)


def train_and_apply(conn, *, test_size: float = 0.2, min_examples: int = MIN_EXAMPLES,
                    random_state: int = 0) -> Report:
    """Apply rules, retrain on user/rule-categorised rows, predict the rest, commit.

    Held-out accuracy is measured on ``test_size`` of the labelled rows with a
    model fitted on the others; the model that predicts is then fitted on all.
    """
    report = Report(rule_matches=apply_rules(conn))
    with conn.cursor() as cur:
        cur.execute("""SELECT account_id, transaction_id, payee, memo,
                              coalesce(category_user, category_rule)
                         FROM finance.transactions_current ORDER BY account_id, transaction_id""")
        rows = cur.fetchall()
    labelled = [(features(p, m), c) for _, _, p, m, c in rows if c]
    todo = [(a, t, features(p, m)) for a, t, p, m, c in rows if not c]
    report.labelled = len(labelled)
    report.classes = len({c for _, c in labelled})
    with conn.cursor() as cur:
        # the model only speaks for rows without a user or rule category
        cur.execute("""UPDATE finance.transactions SET category_predicted = NULL, category_confidence = NULL
                        WHERE category_predicted IS NOT NULL
                          AND (category_user IS NOT NULL OR category_rule IS NOT NULL)""")
    if report.labelled < min_examples or report.classes < 2:
        report.message = (f"not enough categorised transactions to learn from: {report.labelled} "
                          f"in {report.classes} categories (need {min_examples} in 2 or more); "
                          "set category_user on some rows or add rules to finance.category_rules")
    else:
        texts, labels = [t for t, _ in labelled], [c for _, c in labelled]
        report.trained_on, report.held_out, report.accuracy = _held_out_accuracy(
            texts, labels, test_size, random_state)
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
