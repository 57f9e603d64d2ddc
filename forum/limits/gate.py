"""The new-member gate: one decision on every post a member writes in the browser or sends
with `ingest_email` (never on what the archive importer or the corpus generator write).

    decide(user, fields=..., ip=..., now=...) -> Decision: allow, hold for approval, or refuse

Who is gated: staff and moderators (of every board or of one) never are. A member is
*established* (standing()) with DAIOU_HELD_POSTS approved posts and an account
DAIOU_ESTABLISHED_DAYS old, or with the limits.established permission an admin grants.
The rules, in order:

1. bans and suspensions (forum.moderation.bans.refusal_for, with the IP address);
2. an unconfirmed e-mail address: no posting until the link sent at sign-up is opened;
3. a new member's own text may carry at most DAIOU_NEW_MEMBER_LINKS clickable links: links
   to allowed hosts (forum/render.py's link policy); every other address is shown defanged
   and quoted mails never link, so neither counts;
4. the same text by the same member within DAIOU_DUPLICATE_SECONDS is refused;
5. the flood interval: DAIOU_FLOOD_SECONDS between posts (DAIOU_NEW_MEMBER_FLOOD_SECONDS for
   new members);
6. while a member has fewer approved posts than DAIOU_HELD_POSTS, the post is saved held
   (Post.held) and waits for a moderator (forum.moderation's review queue).

Edits go through rules 1 to 3, and 6: an edit by a member whose posts still wait for approval
waits too (the post is held again until a moderator approves it), or approving one harmless post
would let a new member publish anything by editing it. The flood interval and the duplicate
check are not for edits: an edit adds no post (fixing a typo right after posting is no flood),
and an edit's text replaces the post's own. Counts (flood, duplicates) are kept by
forum.limits.ratelimit: a post refused later for another reason still counts. A composer form
sent twice at once (its one-time token) is let through both times and becomes one post
(forum.actions), rather than the second send answering "too soon".
"""

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from forum.actions import render_body
from forum.links import allowed_hosts
from forum.models import Post
from forum.render import render_markdown

from . import confirmation, ratelimit

ALLOW, HOLD, REFUSE = "allow", "hold", "refuse"
_LINK = re.compile(r"<a\s")


@dataclass(frozen=True)
class Decision:
    outcome: str  # ALLOW, HOLD or REFUSE
    reason: str = ""  # for the member, translated: why it is held or refused
    code: str = ""  # what decided: banned, unconfirmed, links, duplicate, flood, held
    retry_after: int = 0  # seconds, for the flood interval
    # The fields decided on, their own text rendered if the gate rendered it (the link count):
    # what the action is given, so that a post is rendered once.
    fields: object = None
    # The member's bans were found to allow the post (rule 1): the action, in the same request,
    # is told so rather than asking again (forum.actions' bans_checked).
    bans_checked: bool = False

    @property
    def held(self) -> bool:
        return self.outcome == HOLD

    @property
    def refused(self) -> bool:
        return self.outcome == REFUSE

    @property
    def status(self) -> int:
        """The HTTP status of a page that refuses the post."""
        return {"flood": 429, "banned": 403}.get(self.code, 400)


@dataclass(frozen=True)
class Standing:
    exempt: bool  # staff and moderators: the gate does not apply
    established: bool
    approved_posts: int | None  # counted up to DAIOU_HELD_POSTS only; None: not counted (established)

    @property
    def held(self) -> bool:
        """Whether the member's next post waits for approval."""
        return not (self.exempt or self.established) and self.approved_posts < settings.DAIOU_HELD_POSTS


def is_exempt(user) -> bool:
    """Staff: Django's, moderators of every board, and moderators of one (forum.moderation)."""
    if user.is_staff or user.has_perm("forum.moderate"):
        return True
    from forum.moderation import roles  # imported here: forum.moderation's models load after these

    return roles.is_moderator(user)


def standing(user, now=None) -> Standing:
    """What the gate thinks of a member: the one definition of "established"."""
    if is_exempt(user):
        return Standing(exempt=True, established=True, approved_posts=0)
    if user.has_perm("limits.established"):  # the permission alone establishes: nothing to count
        return Standing(exempt=False, established=True, approved_posts=None)
    needed = settings.DAIOU_HELD_POSTS
    # Approved: neither waiting for approval nor hidden by a moderator. At most `needed` rows read.
    approved = Post.objects.filter(author=user, held=False, hidden=False).values("pk")[:needed].count()
    old_enough = user.date_joined <= (now or timezone.now()) - timedelta(days=settings.DAIOU_ESTABLISHED_DAYS)
    return Standing(exempt=False, established=approved >= needed and old_enough, approved_posts=approved)


def live_links(body: str, html: str | None = None) -> int:
    """The links in a member's own text that readers can click, as the renderer makes them
    (`html`: the text rendered already)."""
    return len(_LINK.findall(render_markdown(body, allowed_hosts()) if html is None else html))


def _fingerprint(fields) -> str:
    content = [fields.body.strip(), *((tuple(q.headers), q.body) for q in fields.quotes)]
    return hashlib.sha256(repr(content).encode()).hexdigest()


def ban_refusal(user, ip: str | None, action: str, email: str | None = None) -> str | None:
    """forum.moderation's bans (of the member, the IP range, at sign-up the address)."""
    from forum.moderation import bans

    return bans.refusal_for(user=user, ip=ip or None, email=email, action=action)


# A composer form the gate let through once (its one-time token, forum.views): sent again (a
# double click, a retry) it is not refused as too soon; the actions make it one post.
ADMITTED = ratelimit.Rate(1, 3600)


def decide(user, *, fields, ip: str | None = None, now=None, editing: bool = False,
           client_token: str = "") -> Decision:
    """Whether this member's post (or edit, `editing`) is published, held or refused, and why;
    an allowed or held one carries the fields to give the action (`Decision.fields`)."""
    when = now.timestamp() if now is not None else None  # else the rate limits' own clock
    now = now or timezone.now()

    def let_through(outcome: str) -> Decision:  # past rule 1
        if outcome == HOLD:
            return Decision(HOLD, edit_held_message() if editing else held_message(), "held", fields=fields,
                            bans_checked=True)
        return Decision(ALLOW, fields=fields, bans_checked=True)

    if is_exempt(user):
        return Decision(ALLOW, fields=fields)
    if refusal := ban_refusal(user, ip, "edit" if editing else "post"):
        return Decision(REFUSE, refusal, "banned")
    if confirmation.is_pending(user):
        return Decision(REFUSE, confirmation.pending_message(user), "unconfirmed")
    member = standing(user, now)
    limit = settings.DAIOU_NEW_MEMBER_LINKS
    if not member.established:
        fields = render_body(fields)  # the HTML the action stores: rendered once
        if (count := live_links(fields.body, fields.body_html)) > limit:
            return Decision(REFUSE, ngettext(
                "New members may put at most %(limit)d clickable link in their own text; this post has %(count)d.",
                "New members may put at most %(limit)d clickable links in their own text; this post has %(count)d.",
                limit) % {"limit": limit, "count": count} + " " + _(
                "Addresses of sites outside the allowed list are shown as plain text and do not count, nor do "
                "quoted mails."), "links")
    if editing:
        return let_through(HOLD if member.held else ALLOW)
    form = f"{user.pk}:{client_token}" if client_token else None
    if form and not ratelimit.peek("admitted", form, ADMITTED, now=when).allowed:
        return let_through(HOLD if member.held else ALLOW)
    duplicate = None
    if settings.DAIOU_DUPLICATE_SECONDS:
        duplicate = (f"{user.pk}:{_fingerprint(fields)}", ratelimit.Rate(1, settings.DAIOU_DUPLICATE_SECONDS))
        if not ratelimit.peek("duplicate", *duplicate, now=when).allowed:
            return Decision(REFUSE, _("You posted this very text a moment ago; it is not posted twice."), "duplicate")
    interval = settings.DAIOU_FLOOD_SECONDS if member.established else settings.DAIOU_NEW_MEMBER_FLOOD_SECONDS
    if interval:
        # Counted here, atomically: of two posts sent at once, one passes.
        flood = ratelimit.hit("post", str(user.pk), ratelimit.Rate(1, interval), now=when)
        if not flood.allowed:
            return Decision(REFUSE, ngettext(
                "You posted a moment ago: a member posts at most once every %(n)d second.",
                "You posted a moment ago: a member posts at most once every %(n)d seconds.", interval)
                % {"n": interval} + " " + flood.wait_message, "flood", flood.retry_after)
    if duplicate:
        ratelimit.hit("duplicate", *duplicate, now=when)
    if form:
        ratelimit.hit("admitted", form, ADMITTED, now=when)
    return let_through(HOLD if member.held else ALLOW)


def held_message() -> str:
    n = settings.DAIOU_HELD_POSTS
    return ngettext(
        "Thank you. A new member's first post waits for a moderator's approval: until then only you and "
        "the moderators see it.",
        "Thank you. A new member's first %(n)d posts wait for a moderator's approval: until then only you "
        "and the moderators see them.", n) % {"n": n}


def edit_held_message() -> str:
    return _("Saved. While a new member's posts wait for a moderator's approval, so do their edits: until it "
             "is approved, only you and the moderators see this post.")


def notice(user) -> Decision | None:
    """What the composer tells a member before they write: confirm your address first, or
    that their posts will wait for approval."""
    if not user.is_authenticated or is_exempt(user):
        return None
    if confirmation.is_pending(user):
        return Decision(REFUSE, confirmation.pending_message(user), "unconfirmed")
    if standing(user).held:
        return Decision(HOLD, held_message(), "held")
    return None
