"""Every registered method passes the conformance kit: a new method needs no new test code."""

from zshbench import list_methods
from zshbench.testing import parametrize_with_checks


@parametrize_with_checks(list_methods())
def test_conformance(method, check):
    check()
