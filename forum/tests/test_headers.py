from datetime import UTC, date, datetime

from forum.headers import author_label, post_stamp, thread_heading


def test_post_stamp_is_japan_time_with_an_english_weekday():
    assert post_stamp(datetime(2020, 9, 8, 5, 54, tzinfo=UTC)) == "2020/09/08 (Tue) 14:54"
    # 23:30 UTC is already the next day in Japan.
    assert post_stamp(datetime(2020, 9, 10, 23, 30, tzinfo=UTC)) == "2020/09/11 (Fri) 08:30"


def test_author_label_leaves_out_what_a_post_lacks():
    assert author_label("磯津千由紀", "寫眞機廢人", "ProOne 600 G1 AiO", "Win10Pro64") == \
        "【磯津千由紀(寫眞機廢人)@ProOne 600 G1 AiO(Win10Pro64)】"
    assert author_label("シバケン") == "【シバケン】"
    assert author_label("名", device="iPhone") == "【名@iPhone】"
    assert author_label("名", os="Win10") == "【名】"  # an OS without a device has nothing to hang on


def test_thread_heading():
    assert thread_heading(916, "楽天市場を名乗るフィッシングメール", "磯津千由紀", date(2020, 9, 8)) == \
        "NO.916 楽天市場を名乗るフィッシングメール<起稿 磯津千由紀>(20/09/08)"
