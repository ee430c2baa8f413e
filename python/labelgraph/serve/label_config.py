"""Label Studio's labelling config (XML): the Choices control whose choices are the classes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

MAX_CONFIG_CHARS = 200_000


@dataclass(frozen=True)
class ChoicesControl:
    """The single-choice control the backend predicts.

    Attributes:
        from_name: the control's ``name`` (a prediction's ``from_name``).
        to_name: the object it labels (``toName``, e.g. the Image or Text tag).
        classes: the choice values in the config's order; class id ``i`` is ``classes[i]``.
    """

    from_name: str
    to_name: str
    classes: tuple[str, ...]


def parse_label_config(xml: str) -> ChoicesControl:
    """The first ``<Choices>`` control of a Label Studio config.

    Raises:
        ValueError: not XML, a DOCTYPE or entity declaration (refused: entity expansion is the
            classic XML bomb, and Label Studio configs never need one), no Choices control, a
            ``choice="multiple"`` control (this backend predicts one class per task), fewer than
            two choices, or duplicate choice values.
    """
    if not isinstance(xml, str) or not xml.strip():
        raise ValueError("label_config must be the project's labelling config (XML text)")
    if len(xml) > MAX_CONFIG_CHARS:
        raise ValueError(f"label_config is longer than {MAX_CONFIG_CHARS} characters")
    if "<!DOCTYPE" in xml.upper() or "<!ENTITY" in xml.upper():
        raise ValueError("label_config must not declare a DOCTYPE or entities")
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as error:
        raise ValueError(f"label_config is not well-formed XML ({error})") from None
    for element in root.iter():
        if element.tag != "Choices":
            continue
        name, to_name = element.get("name"), element.get("toName")
        if not name or not to_name:
            raise ValueError("the <Choices> control needs name= and toName= attributes")
        if element.get("choice", "single") != "single":
            raise ValueError(f"<Choices name={name!r}> allows several choices; labelgraph serve predicts one class per "
                             "task (choice=\"single\")")
        classes = tuple(c.get("alias") or c.get("value") or "" for c in element.iter("Choice"))
        if len(classes) < 2 or any(not c for c in classes):
            raise ValueError(f"<Choices name={name!r}> needs at least two <Choice value=...> entries")
        if len(set(classes)) != len(classes):
            raise ValueError(f"<Choices name={name!r}> repeats a choice value")
        return ChoicesControl(name, to_name.split(",")[0], classes)
    raise ValueError("label_config has no <Choices> control: labelgraph serve predicts a class per task")
