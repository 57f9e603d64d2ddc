from django.core.management.base import BaseCommand

from forum import search_index
from forum.models import Post, SearchDocument
from forum.progress import ProgressBar


class Command(BaseCommand):
    help = ("Make the search index again from every post (after a change of forum.search_text.TEXT_VERSION, "
            "or to repair it); --resume goes on after the highest post indexed.")

    def add_arguments(self, parser):
        parser.add_argument("--resume", action="store_true",
                            help="keep what is indexed and index only the posts after the highest one indexed")
        parser.add_argument("--batch", type=int, default=2000, help="posts per transaction (default 2000)")

    def handle(self, *args, resume, batch, verbosity, **options):
        bar = None
        if verbosity:
            after = SearchDocument.objects.order_by("-post_id").values_list("post_id", flat=True).first() or 0
            total = Post.objects.filter(pk__gt=after if resume else 0).count()
            bar = ProgressBar(self.stderr, "rebuild_search_index: posts")

        def progress(done, last_id):
            if bar:
                bar(done, total)

        done = search_index.rebuild(resume=resume, batch=max(1, batch), progress=progress)
        if bar:
            bar.finish()
        if verbosity:
            self.stdout.write(f"search index: {done} posts indexed")
