"""Quoting a scam: a mail (pasted source or .eml) or an SMS becomes a redacted, inert quote.

The same path serves the browser's composer and `manage.py ingest_email`:
parse (incidents.mail) → redact (incidents.redact) → a PendingQuote that holds only the
redacted form. The composer carries pending quotes between its steps signed, never the
original; saving turns them into quote blocks of the post (forum.blocks).
"""

from dataclasses import asdict, dataclass, field, replace

from django.core import signing
from django.utils.translation import gettext as _

from incidents import mail as mail_parser
from incidents.redact import Mark, apply_redactions, find_flags, redact_mail, redact_text

from .archive.member_body import MemberBodyError, compose_body
from .blocks import BlockError, build_quote

SIGNING_SALT = "daiou.pending-quotes"
PENDING_MAX_AGE = 24 * 3600
MAX_QUOTES_PER_POST = 20
MAX_SMS_CHARS = 5_000


class QuoteError(ValueError):
    """A quote that cannot be made; the message is for the member."""


@dataclass
class PendingQuote:
    kind: str                                   # "mail" or "sms"
    headers: list[tuple[str, str]]              # shown headers, redacted
    body: str                                   # what the archive format holds: text, or HTML source
    html: str = ""                              # HTML source shown beside a text part (never rendered)
    html_text: str = ""                         # text a real HTML parser found in it
    attachments: list[dict] = field(default_factory=list)   # name, type, size, sha256; never the content
    redactions: list[dict] = field(default_factory=list)    # what was redacted: field, kind, replacement
    flags: list[dict] = field(default_factory=list)         # possible personal data: one-click redaction

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PendingQuote":
        data = dict(data)
        data["headers"] = [tuple(pair) for pair in data["headers"]]
        return cls(**data)

    def fields(self) -> dict[str, str]:
        """Every text field a flag can point into, by name."""
        named = {f"headers[{i}]": value for i, (_, value) in enumerate(self.headers)}
        return {**named, "body": self.body, "html": self.html, "html_text": self.html_text}


def _flags(quote: PendingQuote) -> list[dict]:
    flags = []
    for name, text in quote.fields().items():
        for mark in find_flags(text, field=name):
            flags.append({"field": name, "start": mark.start, "end": mark.end, "kind": mark.kind,
                          "replacement": mark.replacement, "excerpt": text[mark.start:mark.end][:120]})
    return flags


def _redactions(marks) -> list[dict]:
    return [{"field": m.field, "kind": m.kind, "replacement": m.replacement} for m in marks if not m.is_flag]


def known_for(user) -> tuple[set[str], set[str]]:
    """The member's own addresses and names, and those learned from their earlier quotes."""
    addresses = {user.email} if getattr(user, "email", "") else set()
    names = {user.get_username()}
    profile = getattr(user, "profile", None)
    if profile is not None:
        names |= {profile.display_name, profile.handle} - {""}
    from .models import LearnedRecipient

    for kind, value in LearnedRecipient.objects.filter(user=user).values_list("kind", "value"):
        (addresses if kind == LearnedRecipient.Kind.ADDRESS else names).add(value)
    return addresses, names


def remember(user, addresses, names) -> None:
    """Names learned from one of a member's quotes are redacted in all their later quotes."""
    from .models import LearnedRecipient

    rows = [LearnedRecipient(user=user, kind=LearnedRecipient.Kind.ADDRESS, value=a[:254]) for a in addresses]
    rows += [LearnedRecipient(user=user, kind=LearnedRecipient.Kind.NAME, value=n[:254]) for n in names]
    LearnedRecipient.objects.bulk_create(rows, ignore_conflicts=True)


def _from_redacted(redacted) -> list[PendingQuote]:
    if redacted.text.strip():
        body, html, html_text = redacted.text, redacted.html, redacted.html_text
    else:
        # HTML only: its source is the quote (as the old board quoted it), its text beside it.
        body, html, html_text = redacted.html, "", redacted.html_text
    attachments = [{"name": a.filename or "", "type": a.content_type, "size": a.size, "sha256": a.sha256}
                   for a in redacted.attachments]
    quote = PendingQuote(kind="mail", headers=[tuple(h) for h in redacted.headers], body=body, html=html,
                         html_text=html_text, attachments=attachments, redactions=_redactions(redacted.marks))
    quote.flags = _flags(quote)
    quotes = [quote]
    for attached in redacted.attached_messages:
        quotes += _from_redacted(attached)
    return quotes


def quote_mail(data: bytes | str, user) -> tuple[list[PendingQuote], set[str], set[str]]:
    """A mail's quotes (the mail, then any mail attached to it) and the recipients it taught.

    QuoteError with a clear message for anything that is not a usable mail."""
    try:
        parsed = mail_parser.parse_mail(data)
    except mail_parser.MailError as error:
        raise QuoteError(_("This is not a mail Daiou can quote: %(reason)s") % {"reason": error}) from None
    addresses, names = known_for(user) if user is not None else (set(), set())
    redacted = redact_mail(parsed, known_addresses=addresses, known_names=names)
    return _from_redacted(redacted), set(redacted.learned_addresses), set(redacted.learned_names)


def quote_sms(*, sender: str, received: str, text: str, user) -> PendingQuote:
    if not text.strip():
        raise QuoteError(_("The SMS text is empty."))
    if len(text) > MAX_SMS_CHARS:
        raise QuoteError(_("An SMS of more than %(n)d characters is not an SMS.") % {"n": MAX_SMS_CHARS})
    addresses, names = known_for(user) if user is not None else (set(), set())
    marks, fields = [], {}
    for name, value in (("From", sender.strip()), ("Date", received.strip()), ("body", text)):
        result = redact_text(value, addresses=addresses, names=names, field=name)
        fields[name] = result.text
        marks += result.marks
    headers = [(n, fields[n]) for n in ("From", "Date") if fields[n]]
    quote = PendingQuote(kind="sms", headers=headers, body=fields["body"].replace("\r\n", "\n").replace("\r", "\n"),
                         redactions=_redactions(marks))
    quote.flags = _flags(quote)
    return quote


def redact_flag(quote: PendingQuote, index: int) -> PendingQuote:
    """The member's one-click redaction of flag `index`."""
    if not 0 <= index < len(quote.flags):
        raise QuoteError(_("That mark is no longer there."))
    flag = quote.flags[index]
    text = quote.fields()[flag["field"]]
    mark = Mark(field=flag["field"], start=flag["start"], end=flag["end"], kind=flag["kind"],
                replacement=flag["replacement"])
    new_text = apply_redactions(text, [mark])
    if flag["field"].startswith("headers["):
        i = int(flag["field"][8:-1])
        headers = list(quote.headers)
        headers[i] = (headers[i][0], new_text)
        changed = replace(quote, headers=headers)
    else:
        changed = replace(quote, **{flag["field"]: new_text})
    changed.redactions = quote.redactions + [{"field": flag["field"], "kind": flag["kind"].removeprefix("flag-"),
                                              "replacement": flag["replacement"]}]
    changed.flags = _flags(changed)
    return changed


def check_quote(quote: PendingQuote, number: int | None) -> None:
    """QuoteError when the quote cannot be written in the archive format as it stands."""
    try:
        build_quote(number, list(quote.headers), quote.body)
        # A line of it that reads as the archive's structure (a post header, a thread line)
        # would be refused only when the post is saved: refuse the quote now, as saving would.
        compose_body("", mails=[(quote.headers, quote.body)])
    except (BlockError, MemberBodyError) as error:
        raise QuoteError(_("This mail cannot be quoted as it is: %(reason)s") % {"reason": error}) from None


def sign(quotes: list[PendingQuote]) -> str:
    return signing.dumps([q.to_dict() for q in quotes], salt=SIGNING_SALT, compress=True)


def unsign(token: str) -> list[PendingQuote]:
    """The pending quotes a form carried; [] for none. QuoteError if tampered with or too old."""
    if not token:
        return []
    try:
        data = signing.loads(token, salt=SIGNING_SALT, max_age=PENDING_MAX_AGE)
        return [PendingQuote.from_dict(item) for item in data][:MAX_QUOTES_PER_POST]
    except (signing.BadSignature, TypeError, KeyError, ValueError):
        raise QuoteError(_("The quoted mails of this form expired or were altered; quote them again.")) from None


# ---- the server-side draft -------------------------------------------------------------------
# Draft.quotes keeps what the composer carries between its steps, so that an expired session,
# a failed submit or a closed tab loses nothing: each pending quote exactly as the signed token
# holds it (redacted already; the original never reaches it), then each pending figure by id
# ({"kind": "figure", "id": 12}: the image itself is stored by forum.figures).


def to_draft(quotes: list[PendingQuote], figures=()) -> list[dict]:
    return [q.to_dict() for q in quotes] + [{"kind": "figure", "id": f.pk} for f in figures]


def from_draft(data) -> tuple[list[PendingQuote], list[int]]:
    """The pending quotes and figure ids a draft kept; an item that cannot be read is left out."""
    quotes, figure_ids = [], []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict):
            continue
        if item.get("kind") == "figure":
            if type(item.get("id")) is int:
                figure_ids.append(item["id"])
            continue
        try:
            quotes.append(PendingQuote.from_dict(item))
        except (TypeError, KeyError, ValueError):
            continue
    return quotes[:MAX_QUOTES_PER_POST], figure_ids
