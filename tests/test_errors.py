"""The one first-line helper every one-line error goes through."""

from analyzers.errors import first_line


def test_first_line_is_the_first_non_blank_line_or_the_type_name():
    assert first_line(ValueError("\n  bad size 3x0  \nTraceback details")) == "bad size 3x0"
    assert first_line(KeyboardInterrupt()) == "KeyboardInterrupt"
    assert first_line(RuntimeError(" \n ")) == "RuntimeError"


def test_named_puts_the_type_in_front_and_limit_cuts_with_an_ellipsis():
    assert first_line(KeyError("x"), named=True) == "KeyError: 'x'"
    assert first_line(OSError(), named=True) == "OSError"
    assert first_line(ValueError("abcdefghij"), named=True, limit=12) == "ValueError:…"
    assert first_line(ValueError("abc"), named=True, limit=15) == "ValueError: abc"
    assert len(first_line(ValueError("a" * 500), limit=200)) == 200
