"""The stored text of an alarm document, made again only where a state update changes it.  Pure.

A transition writes the whole alarm document (``{"type":…,"alarm":{…},"tags":[…],"invoked":{…}}``)
though only its state members changed; encoding the configuration again each time is most of the
cost of the write.  :class:`Texts` keeps, per alarm, a :class:`Template`: the text of the members a
state update leaves alone, between the places of those it changes.

Rules:

* the text is byte for byte what the store's encoder writes for the document
  (``json.dumps(doc, separators=(",", ":"))``: compact, ASCII, members in the dict's order);
* the members a state update changes: the alarm's :data:`ALARM_STATE` and the document's
  ``invoked`` (encoded every time); every other member is *fixed*;
* a template is used only for a document whose members (both levels) are the same names in the same
  order, whose fixed values are the very objects the template was made from and still equal to the
  values it was made from (a list or dict changed in place is seen); otherwise the text is made in
  full and the template made again from it.  (Not seen: a value *inside* a fixed list or dict
  replaced in place by an equal one of another type, ``1`` by ``1.0`` — writers replace, they do not
  do that);
* strings are quoted through a small memo (:func:`quoted`): a state's reason data is quoted for the
  document and its escaped text is reused by the history item of the same transition.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from operator import is_, itemgetter
from typing import Any

_compact = json.JSONEncoder(separators=(",", ":")).encode  # the store's encoder
_string = json.encoder.encode_basestring_ascii  # how it writes a str

ALARM_STATE = frozenset({"StateValue", "StateReason", "StateReasonData", "StateUpdatedTimestamp",
                         "StateTransitionedTimestamp"})
DOC_STATE = frozenset({"alarm", "invoked"})  # ("alarm" has a template of its own)

_QUOTED: dict[str, str] = {}
_QUOTED_MAX = 256
_TEMPLATES_MAX = 4096


def quoted(text: str) -> str:
    """``text`` as the encoder writes a str (quotes included); the last few remembered."""
    found = _QUOTED.get(text)
    if found is None:
        found = _string(text)
        if len(_QUOTED) >= _QUOTED_MAX:
            _QUOTED.clear()
        _QUOTED[text] = found
    return found


def value_text(value: Any) -> str:
    """One value as the encoder writes it."""
    kind = type(value)
    if kind is str:
        return quoted(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    return _compact(value)


def _marks_text(marks: dict[Any, Any]) -> str:
    """A dict as the encoder writes it; made here when it is ``invoked``'s kind (str → finite float):
    the encoder's set-up for each call costs more than such a small dict."""
    parts = []
    for key, value in marks.items():
        if type(key) is not str or type(value) is not float or not math.isfinite(value):
            return _compact(marks)
        parts.append(quoted(key) + ":" + float.__repr__(value))
    return "{" + ",".join(parts) + "}"


def _picker(positions: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A function giving the items at ``positions`` of a sequence, as a tuple."""
    if len(positions) >= 2:
        return itemgetter(*positions)
    if positions:
        at = positions[0]
        return lambda values: (values[at],)
    return lambda values: ()


class Template:
    """A dict's text with holes at its changing members: ``pieces[0] + text(changing[0]) + pieces[1]
    + … + pieces[-1]``."""

    __slots__ = ("keys", "pieces", "spot_keys", "changing", "fixed", "same", "snapshot")

    def __init__(self, keys: tuple[str, ...], pieces: list[str], spot_keys: tuple[str, ...],
                 changing: Callable[..., tuple[Any, ...]], fixed: Callable[..., tuple[Any, ...]],
                 same: tuple[Any, ...], snapshot: tuple[Any, ...]) -> None:
        self.keys = keys
        self.pieces = pieces
        self.spot_keys = spot_keys  # the changing members' names
        self.changing = changing  # the changing values of the dict's values
        self.fixed = fixed  # the fixed values of the dict's values
        self.same = same  # the fixed values' objects when made
        self.snapshot = snapshot  # the fixed values decoded again from their text (a deep copy)

    def fits(self, keys: tuple[Any, ...], values: list[Any]) -> bool:
        if keys != self.keys:
            return False
        now = self.fixed(values)
        return all(map(is_, now, self.same)) and now == self.snapshot


def make(d: dict[str, Any], changing: frozenset[str],
         nested: Callable[[str, Any], str] = lambda key, value: value_text(value)) -> tuple[Template | None, str]:
    """``d``'s template (None when a key is not a str) and its text; ``nested(key, value)`` gives the
    text of a changing member."""
    keys = tuple(d)
    values = list(d.values())
    if not all(type(k) is str for k in keys):
        return None, _compact(d)
    pieces: list[str] = []
    spots: list[int] = []
    fixed: list[int] = []
    fixed_texts: list[str] = []
    parts: list[str] = []  # the whole text, as it is made
    piece = "{"
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        piece += ("," if i else "") + quoted(key) + ":"
        if key in changing:
            pieces.append(piece)
            parts.append(piece)
            parts.append(nested(key, value))
            spots.append(i)
            piece = ""
        else:
            text = _compact(value)
            piece += text
            fixed.append(i)
            fixed_texts.append(text)
    piece += "}"
    pieces.append(piece)
    parts.append(piece)
    snapshot = tuple(json.loads("[" + ",".join(fixed_texts) + "]"))
    pick = _picker(fixed)
    template = Template(keys, pieces, tuple(keys[i] for i in spots), _picker(spots), pick, pick(values), snapshot)
    return template, "".join(parts)


class Texts:
    """The templates of alarm documents, per alarm (any hashable key: a scope and a name)."""

    def __init__(self) -> None:
        self._docs: dict[Any, tuple[Template, Template]] = {}

    def text(self, key: Any, doc: dict[str, Any]) -> str:
        """The store's text of ``doc`` (see the module's rules)."""
        alarm = doc.get("alarm")
        if type(alarm) is not dict:
            self._docs.pop(key, None)
            return _compact(doc)
        kept = self._docs.get(key)
        if kept is not None:
            outer, inner = kept
            values = list(doc.values())
            alarm_values = list(alarm.values())
            if outer.fits(tuple(doc), values) and inner.fits(tuple(alarm), alarm_values):
                return _fill(outer, values, _fill(inner, alarm_values))
        return self._make(key, doc, alarm)

    def _make(self, key: Any, doc: dict[str, Any], alarm: dict[str, Any]) -> str:
        inner, alarm_text = make(alarm, ALARM_STATE)
        outer, text = make(doc, DOC_STATE, lambda k, v: alarm_text if k == "alarm" else value_text(v))
        if len(self._docs) >= _TEMPLATES_MAX:
            self._docs.clear()
        if inner is None or outer is None or _compact(doc) != text:  # (not expected: then no template)
            self._docs.pop(key, None)
            return _compact(doc)
        self._docs[key] = (outer, inner)
        return text

    def forget(self, key: Any) -> None:
        self._docs.pop(key, None)

    def clear(self) -> None:
        self._docs.clear()


def _fill(template: Template, values: list[Any], alarm_text: str | None = None) -> str:
    """``template``'s text for a dict of ``values``, its changing members encoded now (the document's
    ``alarm`` member: ``alarm_text``)."""
    pieces = template.pieces
    out = [pieces[0]]
    add = out.append
    i = 0
    for key, value in zip(template.spot_keys, template.changing(values), strict=True):  # (value_text, inline)
        i += 1
        kind = type(value)
        if kind is str:
            text = _QUOTED.get(value) or quoted(value)
        elif kind is float and math.isfinite(value):
            text = float.__repr__(value)
        elif alarm_text is not None and key == "alarm":
            text = alarm_text
        elif kind is dict:
            text = _marks_text(value)
        else:
            text = _compact(value)
        add(text)
        add(pieces[i])
    return "".join(out)
