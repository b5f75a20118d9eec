"""Saving, publishing and restoring flow revisions (SPEC §14): the one place a flow's content changes.

Every save makes a numbered revision and makes it the draft (the Flow row's own fields); calls
run the published revision. The API, the designer and the demo seeding all save through
`save_revision()`, so a revision can never be skipped.

Decisions where SPEC §14 is silent:

* A new flow's first revision is published at once (existing API clients keep working); later
  saves are drafts unless `publish=True`.
* Publishing runs the flow's test cases against the revision being published (the draft, or
  revision N on a rollback); any failure refuses it (PublishBlocked, a 409) unless `force`, and a
  forced publish is recorded on the revision.
* Restoring revision N saves a new revision with N's content (the draft); it is not published.
* Publishing the revision already published is allowed and changes nothing but the record of
  who published it last.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts import audit
from flows.models import Flow, FlowRevision
from flows.test_cases import run_test_cases
from flows.widget_secrets import encrypted_fields
from phonon.encryption import decrypt_secret
from phonon.lib.flow_diff import flow_changes, widget_diff

CONTENT_FIELDS = ("name", "flow_end_webhook", "start", "widgets")


class PublishBlocked(Exception):
    """Test cases fail on the revision to publish; `force` publishes anyway."""

    def __init__(self, revision: FlowRevision, failing: list[dict[str, Any]]) -> None:
        self.revision = revision
        self.failing = failing
        names = ", ".join(f"“{result['name']}”" for result in failing)
        super().__init__(f"Revision {revision.number} was not published: {len(failing)} test case(s) fail ({names}).")

    def sentence(self, remedy: str) -> str:
        """The refusal with what the asker can do about it (the API and the designer say it their way)."""
        return f"{self} Fix the flow or the cases, or {remedy}."


def save_revision(
    flow: Flow | None,
    cleaned: dict[str, Any],
    *,
    account,
    user,
    layout: dict | None = None,
    publish: bool = False,
    force: bool = False,
    restored_from: int | None = None,
    request=None,
) -> FlowRevision:
    """Save `cleaned` (validate_flow's output) as the flow's next revision and its draft.

    A new flow (`flow` None) is created with revision 1, published. With `publish`, the new
    revision is published through the gate (PublishBlocked rolls the whole save back).
    `request`, when there is one, names the actor of the audit rows (a token, the address).
    """
    with transaction.atomic():
        created = flow is None
        # An existing flow's row is locked, so revision numbers are taken one at a time.
        flow = Flow(account=account) if created else Flow.objects.select_for_update().get(pk=flow.pk)
        previous = None if created else flow.revisions.order_by("-number").first()
        for key in CONTENT_FIELDS:
            setattr(flow, key, cleaned[key])
        if layout is not None:
            flow.layout = layout
        flow.save()
        revision = FlowRevision.objects.create(
            account_id=flow.account_id,
            flow=flow,
            number=(previous.number + 1) if previous else 1,
            layout=flow.layout,
            changes=flow_changes(comparable(previous.wire_format()) if previous else None, comparable(cleaned)),
            restored_from=restored_from,
            created_by=user,
            **{key: cleaned[key] for key in CONTENT_FIELDS},
        )
        if created or publish:
            # A new flow's automatic first publish is part of its "created" audit row.
            publish_revision(flow, revision, user=user, force=force or created, audited=not created, request=request)
    return revision


def publish_revision(
    flow: Flow, revision: FlowRevision, *, user, force: bool = False, audited: bool = True, request=None
) -> FlowRevision:
    """Make `revision` the one calls run, after its test cases pass (or with `force`); `request` as
    for save_revision()."""
    results = run_test_cases(flow, revision.wire_format())
    failing = [result for result in results if not result["passed"]]
    if failing and not force:
        raise PublishBlocked(revision, failing)
    with transaction.atomic():
        FlowRevision.objects.filter(pk=revision.pk).update(
            published_at=timezone.now(), published_by=user, forced=bool(failing)
        )
        Flow.objects.filter(pk=flow.pk).update(published_revision=revision)
        if audited:
            forced = " (forced past failing test cases)" if failing else ""
            audit.record(
                request, audit.PUBLISHED, flow, by=user, object_repr=f"{flow.name} revision {revision.number}{forced}"
            )
    revision.refresh_from_db()
    flow.published_revision = revision
    return revision


def restore_revision(old: FlowRevision, *, user, request=None) -> FlowRevision:
    """Save revision `old`'s content as a new draft revision of its flow.

    The audit log records it as a change of the flow, as it does a save (`request` as for save_revision()).
    """
    flow = old.flow
    before = audit.snapshot(flow)
    with transaction.atomic():
        revision = save_revision(
            flow, old.wire_format(), account=flow.account, user=user, layout=old.layout, restored_from=old.number
        )
        audit.record_change(request, revision.flow, before, by=user)
    return revision


def latest_number(flow: Flow) -> int:
    return flow.revisions.aggregate(latest=Max("number"))["latest"] or 0


def status(flow: Flow) -> dict[str, Any]:
    """Draft / Published, as the designer and the flow's page show it."""
    latest = latest_number(flow)
    published = flow.published_revision.number if flow.published_revision_id else None
    return {"revision": latest, "published_revision": published, "draft": latest != published}


def describe_revision(revision: FlowRevision, published_id: int | None) -> dict[str, Any]:
    """A revision in the history: `{number, created_at, created_by, published, changes, …}`."""
    return {
        "number": revision.number,
        "created_at": revision.created_at,
        "created_by": revision.created_by.username if revision.created_by else None,
        "published": revision.pk == published_id,
        "published_at": revision.published_at,
        "published_by": revision.published_by.username if revision.published_by else None,
        "forced": revision.forced,
        "restored_from": revision.restored_from,
        "changes": revision.changes,
    }


def history(flow: Flow) -> list[dict[str, Any]]:
    """Every revision of the flow, newest first."""
    revisions = flow.revisions.select_related("created_by", "published_by").defer("widgets", "layout")
    return [describe_revision(revision, flow.published_revision_id) for revision in revisions]


def revision_diff(revision: FlowRevision) -> dict[str, Any]:
    """The revision against the one before it, widget by widget.

    `{number, previous, changes, widgets: {id: [{path, old, new}]}}`; secrets read "***".
    """
    number = revision.number
    previous = revision.flow.revisions.filter(number__lt=number).order_by("-number").first()
    old = {widget["id"]: widget for widget in comparable(previous.wire_format())["widgets"]} if previous else {}
    new = {widget["id"]: widget for widget in comparable(revision.wire_format())["widgets"]}
    changes = revision.changes or {}
    touched = [*changes.get("added", []), *changes.get("removed", []), *changes.get("changed", {})]
    return {
        "number": revision.number,
        "previous": previous.number if previous else None,
        "changes": changes,
        "widgets": {widget_id: widget_diff(old.get(widget_id), new.get(widget_id)) for widget_id in sorted(touched)},
    }


def comparable(content: Mapping[str, Any]) -> dict[str, Any]:
    """`content` with each encrypted secret replaced by a digest of its plain value, for flow_diff.

    A secret encrypted anew (`rotate_secrets` rewrites drafts and revisions apart) is then no
    change, and a changed one is; flow_diff shows neither value ("***"). A secret no key can
    read is compared as it is stored.
    """
    widgets = copy.deepcopy(list(content["widgets"]))
    for widget in widgets:
        for holder, key in encrypted_fields(widget):
            with contextlib.suppress(ValueError):
                holder[key] = hashlib.sha256(decrypt_secret(holder[key]).encode()).hexdigest()
    return {**content, "widgets": widgets}
