from django.core.management.base import BaseCommand
from django.db import transaction

from forum import bulk, counters
from forum.archive_io import crossref_resolver
from forum.links import allowed_hosts
from forum.models import Post
from forum.progress import ProgressBar
from forum.render import RENDER_VERSION, render_stored_post

BATCH = 500


class Command(BaseCommand):
    help = ("Re-render stored post HTML after the renderer changed (posts older than RENDER_VERSION, or --all). "
            "Stopped, it goes on where it was: rendered posts carry the current version.")

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="re-render every post, not only outdated ones")

    def handle(self, *args, all=False, verbosity=1, **options):
        posts = Post.objects.all() if all else Post.objects.exclude(render_version=RENDER_VERSION)
        bar = ProgressBar(self.stderr, "rerender: posts") if verbosity else None
        total = posts.count() if bar else None
        last_pk, done = 0, 0
        allowed, resolve = allowed_hosts(), crossref_resolver()
        while True:
            batch = list(posts.filter(pk__gt=last_pk).order_by("pk")
                         .only("pk", "thread_id", "source", "format", "blocks", "quote_details")[:BATCH])
            if not batch:
                break
            rows = [(post.pk, render_stored_post(post, allowed_hosts=allowed, resolve_crossref=resolve),
                     RENDER_VERSION) for post in batch]
            with transaction.atomic():
                bulk.update(Post, ("html", "render_version"), rows)
                # Cached pages of these threads are named by their version (forum.pagecache).
                counters.note_threads_changed({post.thread_id for post in batch})
            last_pk = batch[-1].pk
            done += len(batch)
            if bar:
                bar(done, total)
        if bar:
            bar.finish()
        self.stdout.write(f"re-rendered {done} posts (render version {RENDER_VERSION})")
