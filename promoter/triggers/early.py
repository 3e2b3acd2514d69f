"""What the event and the config alone say is nothing for promoter: decided before any forge
client or run store exists, so that a bot ignoring an edit or a push to another branch needs
no token and costs no request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from promoter.triggers.events import Trigger, TriggerKind, should_ignore
from promoter.triggers.push import why_ignored

if TYPE_CHECKING:
    from promoter.settings import Settings


def ignored_early(trigger: Trigger, settings: Settings) -> str | None:
    """Why this start ends ``ignored`` before anything is asked, or ``None``."""
    if trigger.ignored is not None:
        return trigger.ignored
    if trigger.kind is TriggerKind.PUSH:
        return why_ignored(trigger.push, {t.config.pr.base for t in settings.tracks()})
    return should_ignore(trigger, settings.config.commands.prefix)
