"""The README's attribution examples run as written."""

import pytest

from tests.readme import readme_block


def test_the_readme_attribution_example_runs(capsys):
    namespace: dict = {}
    exec(readme_block("On your own journeys", "python"), namespace)
    credits = namespace["credits"]
    # one conversion (o1), three models, three touches each; j2 never converted
    assert credits.height == 9 and set(credits["conversion_id"]) == {"o1"}
    by_model = {m: dict(zip(g["channel"], g["credit"], strict=True))
                for (m,), g in credits.group_by("model")}
    assert by_model["last_touch"] == {"paid_search": 0.0, "email": 0.0, "direct": 1.0}
    assert by_model["position_based"] == pytest.approx(
        {"paid_search": 0.4, "email": 0.2, "direct": 0.4})
    # start -> paid_search | email (1 each), paid_search -> email, email -> direct (2),
    # direct -> conversion | null: P(conv) = 0.5; without paid_search 0.25 (removal effect
    # 0.5), without e-mail or direct 0 (1 each); normalised over the journey: 0.2/0.4/0.4
    assert by_model["markov"] == pytest.approx(
        {"paid_search": 0.2, "email": 0.4, "direct": 0.4})
    assert "paid_search" in capsys.readouterr().out
