"""Sealed check specs: the expected value is only ever stored as a salted digest."""

from __future__ import annotations

import pytest

from ecsdojo.grading.seal import BadSealedSpec, Normalisation, SealedSpec, UnsupportedValue, normalise


def test_do_equal_answers_in_different_forms_normalise_alike():
    assert normalise(3) == normalise(3.0) == normalise(3.0000000001)
    assert normalise("  dojo \n") == normalise("dojo")
    assert normalise((1, 2)) == normalise([1, 2])
    assert normalise({"b": 1, "a": 2}) == normalise({"a": 2, "b": 1})
    assert normalise({3, 1, 2}) == normalise([1, 2, 3])
    assert normalise(True) != normalise(1)
    assert normalise("Dojo") != normalise("dojo")
    assert normalise("Dojo", Normalisation(ignore_case=True)) == normalise("dojo", Normalisation(ignore_case=True))
    assert normalise([2, 1], Normalisation(ignore_order=True)) == normalise([1, 2], Normalisation(ignore_order=True))


def test_is_an_uncomparable_value_refused_with_its_type():
    with pytest.raises(UnsupportedValue, match="object"):
        normalise(object())


def test_does_a_sealed_spec_match_the_answer_without_containing_it():
    spec = SealedSpec.build("m04.heal-count", expect=1234567, explain="Because 1234567 tasks.")
    token = spec.encode()
    decoded = SealedSpec.decode(token)
    assert decoded.matches(1234567) and decoded.matches(1234567.0)
    assert not decoded.matches(1234568)
    import base64
    readable = base64.b64decode(token.split(":", 1)[1]).decode()
    assert "1234567" not in readable and "Because" not in readable


def test_can_the_explanation_only_be_read_with_the_right_answer():
    spec = SealedSpec.decode(SealedSpec.build("m01.x", expect="blue", explain="Blue is right.").encode())
    assert spec.explanation("blue") == "Blue is right."
    assert spec.explanation("red") != "Blue is right."


def test_is_sealing_deterministic():
    first = SealedSpec.build("m01.x", expect=[1, 2], hint="h", module_total=5).encode()
    assert first == SealedSpec.build("m01.x", expect=[1, 2], hint="h", module_total=5).encode()


def test_do_behaviour_checks_keep_hints_and_explanation():
    spec = SealedSpec.decode(SealedSpec.build("m01.run", hint="Start tasks.", extra_hints=["a", "b"],
                                              explain="Scheduler.").encode())
    assert spec.is_behaviour and spec.hint == "Start tasks." and spec.extra_hints == ("a", "b")
    assert spec.explanation() == "Scheduler."


@pytest.mark.parametrize("token", ["nope", "dojo1:!!!", "dojo1:" + "e30="])
def test_is_a_damaged_token_reported(token):
    with pytest.raises(BadSealedSpec, match="damaged"):
        SealedSpec.decode(token)
