from django.core.management.base import BaseCommand

from forum import search_index


class Command(BaseCommand):
    help = ("Make the search index again from every post (after a change of forum.search_text.TEXT_VERSION, "
            "or to repair it); --resume goes on after the highest post indexed.")

    def add_arguments(self, parser):
        parser.add_argument("--resume", action="store_true",
                            help="keep what is indexed and index only the posts after the highest one indexed")
        parser.add_argument("--batch", type=int, default=2000, help="posts per transaction (default 2000)")

    def handle(self, *args, resume, batch, verbosity, **options):
        def progress(done, last_id):
            if verbosity > 1 or (verbosity and done % 50_000 < batch):
                self.stdout.write(f"indexed {done} posts (up to post {last_id})")

        done = search_index.rebuild(resume=resume, batch=max(1, batch), progress=progress)
        if verbosity:
            self.stdout.write(f"search index: {done} posts indexed")
