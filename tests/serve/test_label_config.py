"""Reading the Choices control of a Label Studio config."""

from __future__ import annotations

import pytest

from labelgraph.serve.label_config import ChoicesControl, parse_label_config

from serve_helpers import CLASSES, LABEL_CONFIG


def test_choices_control_and_classes_in_order() -> None:
    assert parse_label_config(LABEL_CONFIG) == ChoicesControl("label", "image", CLASSES)


def test_alias_is_the_stored_value() -> None:
    xml = ('<View><Text name="t" value="$x"/><Choices name="c" toName="t"><Choice value="Positive" alias="pos"/>'
           '<Choice value="Negative" alias="neg"/></Choices></View>')
    assert parse_label_config(xml).classes == ("pos", "neg")


@pytest.mark.parametrize("xml, message", [
    ("", "labelling config"),
    ("<View>", "well-formed"),
    ('<View><Text name="t" value="$x"/></View>', "no <Choices>"),
    ('<View><Choices name="c" toName="t" choice="multiple"><Choice value="a"/><Choice value="b"/></Choices></View>',
     "one class per task"),
    ('<View><Choices name="c" toName="t"><Choice value="a"/></Choices></View>', "at least two"),
    ('<View><Choices name="c" toName="t"><Choice value="a"/><Choice value="a"/></Choices></View>', "repeats"),
    ('<View><Choices toName="t"><Choice value="a"/><Choice value="b"/></Choices></View>', "name="),
    ('<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><View>&b;</View>',
     "DOCTYPE"),
])
def test_bad_configs_are_refused_with_the_reason(xml: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_label_config(xml)
