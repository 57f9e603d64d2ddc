"""Synthetic volume pages in the seed's shapes, for benchmarks (`manage.py generate_corpus`).

Deterministic for a given seed: Japanese bodies, quoted phishing mails with links, senders and
phone numbers, news quotes with citations, figures, several boards. Pages are written by
forum.archive's own writer, so they are what the importer reads.
"""

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from .archive.volume import Post, Thread, Volume, VolumeLink, title_rows_for, write_volume

BRANDS = [
    ("楽天市場", "rakuten.co.jp"), ("Amazon", "amazon.co.jp"), ("三井住友カード", "smbc-card.com"),
    ("JCB", "jcb.co.jp"), ("えきねっと", "eki-net.com"), ("ゆうちょ銀行", "jp-bank.japanpost.jp"),
    ("ドコモ", "docomo.ne.jp"), ("佐川急便", "sagawa-exp.co.jp"), ("ヤマト運輸", "kuronekoyamato.co.jp"),
    ("日本郵便", "post.japanpost.jp"), ("国税庁", "nta.go.jp"), ("Apple", "apple.com"), ("メルカリ", "mercari.com"),
]
TLDS = ["baby", "top", "xyz", "cn", "icu", "shop", "buzz", "cyou", "com", "net"]
NAMES = [("磯津千由紀", "寫眞機廢人"), ("シバケン", ""), ("山田太郎", "やまちゃん"), ("鈴木花子", ""),
         ("佐藤", "パソコン爺"), ("高橋一郎", ""), ("田中", "たなか"), ("伊藤美咲", "")]
DEVICES = [("ProOne 600 G1 AiO", "Win10Pro64"), ("ThinkPad T520", "Win10Pro64bit"), ("", ""),
           ("iPhone 12", "iOS 17"), ("自作機", "Win11Pro"), ("Let's note CF-SV8", "")]
OPENINGS = [" こんにちは。", " こんばんは。", "早いねえ。", "続報です。", "またです。", " 注意喚起です。"]
SENTENCES = [
    "{brand}を名乗るフィッシングメールが届き始めました。",
    "日時以外が同一内容のものは省略しました。",
    "リンク先は偽サイトです。絶対に入力しないでください。",
    "差出人のアドレスは偽装されています。",
    "本物の{brand}のサイトはブックマークから開きましょう。",
    "警察庁とフィッシング対策協議会に報告しました。",
    "口座番号と暗証番号を入力させる手口です。",
    "SMSでも同じ文面が来ています。",
]
MAIL_LINES = [
    "お客様のアカウントで異常な行為が検出されたため、お客様の注文とアカウントを停止させていただいております。",
    "ご提供いただいたお支払い情報がカード発行会社のファイルの情報と一致していません。",
    "3日以内に確認プロセスを完了できない場合、保留中のすべての注文がキャンセルされます。",
    "以下のURLからログインして、お支払い方法を更新してください。",
    "本メールアドレスは送信専用となり、返信はお受けしておりません。",
    "ご不明な点がございましたら、下記までお問い合わせください。",
]
NEWS = [
    ">{brand}をかたるフィッシング詐欺の報告が急増している。フィッシング対策協議会によると、報告件数は前月の約2倍に達した。",
    ">偽サイトに誘導してIDやパスワード、クレジットカード番号を盗み取る手口で、被害額は判明していない。",
    ">同社は「メールやSMSのリンクからログインしないでほしい」と注意を呼びかけている。",
]
SOURCES = ["産経ニュース", "朝日新聞", "時事通信", "毎日新聞", "日本経済新聞"]


class CorpusWriter:
    def __init__(self, seed: int = 1):
        self.random = random.Random(seed)

    def _host(self, domain: str) -> str:
        r = self.random
        label = domain.split(".")[0]
        shapes = [f"{label}-{r.choice(['secure', 'login', 'verify', 'account'])}.{r.choice(TLDS)}",
                  f"grp{r.randint(1, 99):02d}.id.{domain}.{r.choice(TLDS)}",
                  f"{label}{r.randint(10, 9999)}.{r.choice(TLDS)}",
                  f"www.{r.choice(['fuzhi', 'kaito', 'meiyu', 'shunfa'])}shop{r.randint(1, 999)}.com"]
        return r.choice(shapes)

    def _phone(self) -> str:
        r = self.random
        return f"0{r.choice([70, 80, 90])}-{r.randint(1000, 9999)}-{r.randint(1000, 9999)}"

    def _mail(self, number: int | None, brand: str, domain: str, when: datetime) -> list[str]:
        r = self.random
        host = self._host(domain)
        lines = [f"********** 以下引用{number if number is not None else ''} **********", "",
                 f"From: 【{brand}】 <{r.choice(['info', 'support', 'no-reply', 'myinfo'])}{r.randint(1, 999)}@{r.choice([domain, host])}>",
                 "To: xxxx <xxxx@xxxx.name>", "Cc:", f"Subject: 【{brand}】{r.choice(['お支払い情報の確認', 'アカウント停止のお知らせ', 'ご本人様確認'])}",
                 f"Date: {when:%Y/%m/%d %H:%M}", "", "", "お客様"]
        lines += [r.choice(MAIL_LINES) for _ in range(r.randint(2, 6))]
        lines += ["", f"https://{host}/{r.choice(['login', 'verify', 'account/update'])}?id={r.randint(10**5, 10**9)}", ""]
        if r.random() < 0.4:
            lines += [f"電話番号 : {self._phone()} (受付時間:9:00 - 21:00)"]
        lines += ["", f"発行元:{brand}株式会社"]
        return lines

    def _body(self, when: datetime, with_mail: bool) -> str:
        r = self.random
        brand, domain = r.choice(BRANDS)
        lines = []
        if r.random() < 0.2:
            lines += [f"副題={brand}を名乗る詐欺に注意", ""]
        lines += [r.choice(OPENINGS), "", ""]
        lines += [r.choice(SENTENCES).format(brand=brand) for _ in range(r.randint(1, 4))]
        if with_mail:
            count = r.choice([1, 1, 1, 2, 3])
            for n in range(count):
                lines += ["", ""] + self._mail(n + 1 if count > 1 else None, brand, domain, when - timedelta(days=n))
        elif r.random() < 0.5:
            lines += ["", ""]
            for news in r.sample(NEWS, r.randint(1, 3)):
                lines += [news.format(brand=brand), ""]
            lines += [f"<参考=「{brand}かたる詐欺が急増」({r.choice(SOURCES)})>"]
            if r.random() < 0.2:
                lines.append(f"<消滅・{(when + timedelta(days=300)):%y/%m/%d}>")
        if r.random() < 0.1:
            lines += ["", "<図>", f"{brand}を名乗る偽サイトの画面"]
        return "\n".join(lines)

    def volumes(self, board: str, count: int, threads_per_volume: int = 10, posts_per_thread: int = 10,
                start: datetime = datetime(2020, 1, 6, 9, 0)) -> Iterator[Volume]:
        r = self.random
        number = 0
        when = start
        for volume_number in range(1, count + 1):
            threads = []
            for _ in range(threads_per_volume):
                number += 1
                posts = []
                for position in range(posts_per_thread):
                    name, handle = r.choice(NAMES)
                    device, os = r.choice(DEVICES)
                    when += timedelta(minutes=r.randint(5, 600))
                    posts.append(Post(name=name, handle=handle, device=device, os=os if device else "",
                                      posted_at=when.replace(second=0, microsecond=0),
                                      body=self._body(when, with_mail=position == 0 or r.random() < 0.3)))
                brand = r.choice(BRANDS)[0]
                title = r.choice([f"{brand}を名乗るフィッシングメール", f"<{brand}>不正利用の報告",
                                  f"{brand}をかたるSMS", f"【注意】{brand}の偽サイト"])
                threads.append(Thread(number=number, title=title, originator=posts[0].name,
                                      started=posts[0].posted_at.date(), posts=posts))
            yield Volume(
                board=board, number=volume_number, threads=threads, title_rows=title_rows_for(threads),
                newer=VolumeLink(board, volume_number + 1) if volume_number < count else None,
                older=VolumeLink(board, volume_number - 1) if volume_number > 1 else None,
            )

    def pages(self, board: str, count: int, **kwargs) -> Iterator[tuple[Volume, str]]:
        for volume in self.volumes(board, count, **kwargs):
            yield volume, write_volume(volume)
