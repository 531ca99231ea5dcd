"""A line repeated in one text is checked once, and every copy is still reported where it is.

SecretScanner remembers, per scan, what the line-only detectors found on a line; the copies get
those hits moved to their own offsets. A different value on an otherwise similar line must not
borrow the first line's answer.
"""

from __future__ import annotations

from egress_watch.classify.secrets import SecretScanner
from tests.conftest import fake_aws_key_id, fake_aws_secret


def test_each_copy_of_a_repeated_line_is_reported_at_its_own_offsets() -> None:
    password = "Zq8" + "vN3" + "tLw7" + "Rb2k"
    line = f'db_password = "{password}"\n'
    text = "intro\n" + line + "filler text\n" + line + "more\n" + line
    matches = SecretScanner(vendor_rules=False).scan(text)
    assert [text[m.start : m.end] for m in matches] == [password] * 3
    assert len({m.start for m in matches}) == 3


def test_similar_lines_with_different_values_are_each_checked() -> None:
    key_id, secret = fake_aws_key_id(), fake_aws_secret()
    text = (
        f"aws_access_key_id = {key_id}\n"
        "aws_access_key_id = REPLACE_ME\n"
        f"aws_secret_access_key = {secret}\n"
        f"aws_access_key_id = {key_id}\n"
    )
    found = [text[m.start : m.end] for m in SecretScanner(vendor_rules=False).scan(text)]
    assert found == [key_id, secret, key_id]
