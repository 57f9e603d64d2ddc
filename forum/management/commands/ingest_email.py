import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from forum import actions, quoting
from forum.limits import gate
from forum.models import Board, Thread
from incidents.mail import MAX_MAIL_BYTES

UNTITLED = "(件名なし)"


def _title(quotes) -> str:
    subject = next((value for name, value in quotes[0].headers if name.lower() == "subject"), "") if quotes else ""
    # One line, and never the originator mark of the archive's thread line.
    title = " ".join(subject.split()).replace("<起稿", "〈起稿").replace("＜起稿", "〈起稿")
    return title[:200] or UNTITLED


class Command(BaseCommand):
    help = ("Post a mail (an .eml file, or - for standard input) as a new thread titled with its Subject, or as "
            "a reply: the same parsing and redaction as the browser's composer.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .eml file, or - to read standard input")
        parser.add_argument("--board", required=True, help="board slug, e.g. info")
        parser.add_argument("--thread", type=int, help="reply to this thread NO. instead of starting one")
        parser.add_argument("--user", required=True, help="the member who posts it")

    def _read(self, name: str) -> bytes:
        try:
            stream = sys.stdin.buffer if name == "-" else open(name, "rb")
        except OSError as error:
            raise CommandError(f"{name}: {error.strerror}") from None
        with stream:
            data = stream.read(MAX_MAIL_BYTES + 1)
        if len(data) > MAX_MAIL_BYTES:
            raise CommandError(f"{name}: larger than {MAX_MAIL_BYTES // 2**20} MB: not a mail Daiou can quote")
        return data

    def handle(self, *args, file, board, thread, user, **options):
        member = get_user_model().objects.filter(username=user, is_active=True).first()
        if member is None:
            raise CommandError(f"no active member {user!r}")
        target_board = Board.objects.filter(slug=board).first()
        if target_board is None:
            raise CommandError(f"no board {board!r}")
        target = None
        if thread is not None:
            target = Thread.objects.filter(board=target_board, number=thread).first()
            if target is None:
                raise CommandError(f"{target_board.name} has no thread NO.{thread}")
        data = self._read(file)
        try:
            quotes, addresses, names = quoting.quote_mail(data, member)
            for number, quote in enumerate(quotes, 1):
                quoting.check_quote(quote, number if len(quotes) > 1 else None)
            fields = actions.PostFields(body="", quotes=tuple(quotes))
            # The new-member gate, as for the browser's composer (no IP address here).
            decision = gate.decide(member, fields=fields)
            if decision.refused:
                raise CommandError(f"{file}: {decision.reason}")
            with transaction.atomic():
                quoting.remember(member, addresses, names)
                if target is None:
                    made = actions.create_thread(board=target_board, user=member, title=_title(quotes),
                                                 fields=decision.fields, held=decision.held)
                    where = f"{target_board.name}NO.{made.number} {made.title}"
                else:
                    post = actions.create_reply(thread=target, user=member, fields=decision.fields,
                                                held=decision.held)
                    where = f"{target_board.name}NO.{target.number} post {post.position}"
        except (quoting.QuoteError, actions.ActionRefused) as error:
            raise CommandError(f"{file}: {error}") from None
        flags = sum(len(q.flags) for q in quotes)
        redactions = sum(len(q.redactions) for q in quotes)
        self.stdout.write(f"posted {where}: {len(quotes)} quote(s), {redactions} redaction(s)")
        if decision.held:
            self.stdout.write("  held: it waits for a moderator's approval (a new member's post)")
        if flags:
            self.stdout.write(f"  {flags} possible personal data left as written: review the post in the browser")
