"""The README's generated tables match what the code computes now."""

from common import params, reachability
from common.readme import README, section


def test_parameter_table_matches_code():
    assert section(README.read_text(), params.SECTION) == params.parameter_table(), \
        "run `python -m common.params --update README.md`"


def test_reachability_table_matches_code():
    assert section(README.read_text(), reachability.SECTION) == reachability.reachability_table(), \
        "run `python -m common.reachability --update README.md`"


def test_readme_states_the_test_command():
    assert "python -m pytest -q" in README.read_text()
