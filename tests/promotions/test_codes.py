from __future__ import annotations

import math
import re

from hypothesis import given
from hypothesis import strategies as st

from promotions.codes import code_display, code_generate, code_normalise
from promotions.constants import CODE_ALPHABET, CODE_LENGTH


def test_codes_carry_at_least_80_bits_without_look_alikes():
    assert math.log2(len(CODE_ALPHABET)) * CODE_LENGTH >= 80
    assert not set("01ILOU") & set(CODE_ALPHABET)
    codes = {code_generate() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(re.fullmatch(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}", code) for code in codes)


def test_display_groups_by_four():
    assert code_display("ABCDEFGHJKMNPQRSTVWX") == "ABCD-EFGH-JKMN-PQRS-TVWX"


@given(st.text(alphabet=CODE_ALPHABET, min_size=CODE_LENGTH, max_size=CODE_LENGTH), st.data())
def test_normalising_undoes_case_spaces_and_dashes(code, data):
    noisy = data.draw(
        st.sampled_from(
            [
                code_display(code),
                code_display(code).lower(),
                " ".join(code_display(code).split("-")),
                code_display(code).replace("-", "\u2013"),
                f"  {code.lower()}  ",
            ]
        )
    )
    assert code_normalise(noisy) == code


@given(st.text(max_size=80))
def test_normalising_never_accepts_what_cannot_be_a_code(raw):
    result = code_normalise(raw)
    assert result is None or (len(result) == CODE_LENGTH and set(result) <= set(CODE_ALPHABET))
