import io

import pytest
from django.core.management import call_command

from incidents.models import Indicator, Sighting

pytestmark = pytest.mark.django_db


def test_rebuild_indicators(seed):
    Sighting.objects.all().delete()
    Indicator.objects.all().delete()
    out = io.StringIO()
    call_command("rebuild_indicators", "-v", "2", stdout=out)
    assert "16 posts read: 29 indicators" in out.getvalue() and "16/16 posts" in out.getvalue()
    assert Indicator.objects.filter(exported=True).count() == 11
