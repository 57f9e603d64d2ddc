"""The allowlist of link hosts, read once per change rather than once per post."""

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import AllowedLinkHost

CACHE_KEY = "forum:allowed-link-hosts"


def allowed_hosts() -> frozenset[str]:
    hosts = cache.get(CACHE_KEY)
    if hosts is None:
        hosts = frozenset(AllowedLinkHost.objects.values_list("host", flat=True))
        cache.set(CACHE_KEY, hosts, 3600)
    return hosts


@receiver([post_save, post_delete], sender=AllowedLinkHost)
def _forget(**kwargs):
    cache.delete(CACHE_KEY)
