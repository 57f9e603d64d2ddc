"""incidents.actions: moderators' reviews, with the actor and a reason, kept for the log."""
import pytest

from incidents.actions import ReviewRefused, review_indicator
from incidents.indexing import current_token
from incidents.models import Indicator, IndicatorReview, Verdict, indicator_key

pytestmark = pytest.mark.django_db


def shop():
    return Indicator.objects.get(key=indicator_key("domain", "fuzhishop.com"))


def test_a_review_is_kept_and_takes_the_indicator_out_of_the_exports(seed, moderator):
    token = current_token()
    review = review_indicator(indicator=shop(), actor=moderator, verdict=Verdict.FALSE_POSITIVE,
                              reason="  ただの店のトップページ  ")
    indicator = shop()
    assert (indicator.verdict, indicator.exported, indicator.reviewed_by, indicator.review_reason) == (
        Verdict.FALSE_POSITIVE, False, moderator, "ただの店のトップページ")
    assert (review.reviewer, review.reviewer_name, review.verdict) == (moderator, moderator.username, "false_positive")
    assert current_token() != token
    review_indicator(indicator=indicator, actor=moderator, verdict=Verdict.NONE, reason="間違いでした")
    indicator = shop()
    assert (indicator.verdict, indicator.exported) == (Verdict.NONE, True)
    assert list(IndicatorReview.objects.values_list("verdict", flat=True)) == ["", "false_positive"]


@pytest.mark.parametrize("verdict, reason", [
    ("false_positive", ""), ("false_positive", "   "), ("nonsense", "x"), ("legitimate", "x" * 1001),
])
def test_refused_reviews_change_nothing(seed, moderator, verdict, reason):
    with pytest.raises(ReviewRefused):
        review_indicator(indicator=shop(), actor=moderator, verdict=verdict, reason=reason)
    assert not IndicatorReview.objects.exists() and shop().verdict == ""


def test_members_cannot_review(seed, member, admin_user):
    with pytest.raises(ReviewRefused):
        review_indicator(indicator=shop(), actor=member, verdict="legitimate", reason="x")
    review_indicator(indicator=shop(), actor=admin_user, verdict="legitimate", reason="管理者")
    assert shop().verdict == "legitimate"
