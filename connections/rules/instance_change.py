"""Moving every output of a connection to another Braze instance at once ("Change Braze
instance…" on the connection page and ``POST /connections/{id}/change-instance``): the rules,
built on ``validate_output`` so they are the output form's, and what the move changes.

Plain values in, field errors, notices and changes out; no database, no HTTP.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from connections.models import Platform
from connections.rules import instances
from connections.rules.output_fields import fields_for
from connections.rules.validation import (
    ENDPOINT_FIELDS,
    NON_FIELD,
    OutputDraft,
    SiblingOutput,
    platform_label,
    validate_output,
)
from mpbraze.addresses import EndpointPolicy

#: What "Change Braze instance…" sets on every output of a connection.
CHANGE_FIELDS = ("braze_instance", *ENDPOINT_FIELDS)


@dataclass(frozen=True)
class InstanceChange:
    """A connection's new Braze instance: a named one, or Custom with its endpoints."""

    braze_instance: str
    custom_rest_endpoint: str = ""
    custom_sdk_endpoint: str = ""
    custom_js_endpoint: str = ""

    def applied_to(self, draft: OutputDraft) -> OutputDraft:
        """``draft`` moved here; an endpoint that does not apply to its platform left empty."""
        shown = fields_for(draft.platform).endpoints
        values = {name: getattr(self, name) if name in shown else "" for name in ENDPOINT_FIELDS}
        return dataclasses.replace(draft, braze_instance=self.braze_instance, **values)


@dataclass
class InstanceChangeValidation:
    change: InstanceChange
    drafts: list[OutputDraft] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def validate_instance_change(
    change: InstanceChange, outputs: list[OutputDraft], policy: EndpointPolicy
) -> InstanceChangeValidation:
    """Every output of a connection moved at once, validated as a set: the new instance and
    endpoints as the output form checks them, then each moved output by ``validate_output``
    with the others, moved too, as its siblings (one workspace). Errors of one output are keyed
    ``outputs.<platform>.<field>``; ``drafts`` in the result are the outputs as moved."""
    widest = validate_output(
        OutputDraft(Platform.WEB, **dataclasses.asdict(change)), [], policy, key_required=False
    )
    normalised = InstanceChange(**{name: getattr(widest.draft, name) for name in CHANGE_FIELDS})
    result = InstanceChangeValidation(normalised, errors=widest.errors, notices=widest.notices)
    _check_change_applies(result, outputs)
    if result.errors:
        return result
    result.drafts = [normalised.applied_to(output) for output in outputs]
    if result.drafts == outputs:
        result.add("braze_instance", "Every output already uses this instance and endpoints.")
    _check_moved_outputs(result, policy)
    return result


def _check_moved_outputs(result: InstanceChangeValidation, policy: EndpointPolicy) -> None:
    for draft in result.drafts:
        others = [_as_sibling(other) for other in result.drafts if other is not draft]
        checked = validate_output(draft, others, policy, key_required=False)
        prefix = f"outputs.{draft.platform}"
        for name, messages in checked.errors.items():
            for message in messages:
                result.add(prefix if name == NON_FIELD else f"{prefix}.{name}", message)


def _check_change_applies(result: InstanceChangeValidation, outputs: list[OutputDraft]) -> None:
    if not outputs:
        result.add("outputs", "This connection has no outputs yet: add one, then change it.")
    elif result.change.custom_js_endpoint and all(o.platform != Platform.WEB for o in outputs):
        result.add(
            "custom_js_endpoint",
            "The JavaScript endpoint applies to the Web output only; this connection has none.",
        )


def _as_sibling(draft: OutputDraft) -> SiblingOutput:
    return SiblingOutput(draft.platform, draft.key_fingerprint, draft.rest_host)


@dataclass(frozen=True)
class OutputChange:
    """One value a move changes on one output: stored values (instance codes, hosts, "" for
    Braze's default), shown on the confirmation page as labels."""

    platform: str
    field: str
    label: str
    before: str
    after: str

    @property
    def output(self) -> str:
        return platform_label(self.platform)

    @property
    def shown(self) -> tuple[str, str]:
        return _shown(self.field, self.before), _shown(self.field, self.after)


#: What a move can change, as shown: (field, label, the platforms it applies to).
_SHOWN = (
    ("braze_instance", "Instance", tuple(Platform.values)),
    ("rest_host", "REST endpoint", tuple(Platform.values)),
    ("sdk_host", "SDK endpoint", (Platform.IOS, Platform.ANDROID, Platform.WEB)),
    ("js_host", "JavaScript endpoint", (Platform.WEB,)),
)


def instance_change_changes(
    before: list[OutputDraft], after: list[OutputDraft]
) -> list[OutputChange]:
    """What differs between each output as stored and as moved (the same order)."""
    return [
        OutputChange(old.platform, name, label, getattr(old, name), getattr(new, name))
        for old, new in zip(before, after, strict=True)
        for name, label, platforms in _SHOWN
        if old.platform in platforms and getattr(old, name) != getattr(new, name)
    ]


def _shown(name: str, value: str) -> str:
    if name == "braze_instance":
        return instances.label(value)
    return value or "Braze default"


#: What happens to objects in flight, said on the confirmation page and in the API's answer.
IN_FLIGHT = (
    "Objects waiting to be sent, queued or waiting for a retry, go to the new endpoint; "
    "a request already on its way ends at the old one."
)
