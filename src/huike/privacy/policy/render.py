"""HTML for the public privacy pages, with the standard library only (``html.escape``).

The policy is plain text with numbered sections. :func:`parse_policy` turns it into blocks:
the title, section headings (一、…), sub-headings (（一）…) and short numbered headings (1. …, 5.1 …),
the numbered contents list, bullet lists (``- …``), tab-separated tables and paragraphs. ``**bold**``
becomes ``<strong>``; a stray ``**`` (the text was extracted from a PDF) is dropped. Rendering never
changes the stored text, whose hash is what subjects accept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Literal

Lang = Literal["zh-CN", "en"]

_H2 = re.compile(r"^[一二三四五六七八九十]+、\s*\S")
_H3 = re.compile(r"^[（(]\s*[一二三四五六七八九十]+\s*[）)]\s*\S")
_H4 = re.compile(r"^\d+(?:\.\d+)*\s*[.、]?\s*\S")
_TOC = re.compile(r"^\d+\.\s*([一二三四五六七八九十]+、.*)$")
_SENTENCE = re.compile(r"[。；：，,;:]")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_URL = re.compile(r"https://[^\s<>\"']+")


@dataclass
class Block:
    kind: Literal["title", "h2", "h3", "h4", "p", "ul", "toc", "table"]
    text: str = ""
    items: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _short(line: str, limit: int) -> bool:
    return len(line) <= limit and not _SENTENCE.search(line)


def parse_policy(text: str) -> list[Block]:
    blocks: list[Block] = []
    open_block: Block | None = None  # a list, contents list or table that blank lines do not close
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        kind: str
        if "\t" in raw:
            cells = [cell.strip() for cell in raw.strip("\n").split("\t")]
            if open_block is not None and open_block.kind == "table":
                open_block.rows.append(cells)
            else:
                open_block = Block("table", rows=[cells])
                blocks.append(open_block)
            continue
        if not any(b.kind == "title" for b in blocks):
            blocks.append(Block("title", line))
            open_block = None
            continue
        toc = _TOC.match(line)
        if toc:
            kind = "toc"
            item = toc.group(1)
        elif line.startswith("- "):
            kind = "ul"
            item = line[2:].strip()
        else:
            open_block = None
            if _H2.match(line) and _short(line, 40):
                blocks.append(Block("h2", line))
            elif _H3.match(line) and _short(line, 40):
                blocks.append(Block("h3", line))
            elif _H4.match(line) and _short(line, 30):
                blocks.append(Block("h4", line))
            else:
                blocks.append(Block("p", line))
            continue
        if open_block is None or open_block.kind != kind:
            open_block = Block(kind)  # type: ignore[arg-type]
            blocks.append(open_block)
        open_block.items.append(item)
    return blocks


def inline(text: str) -> str:
    """Escape, then ``**bold**`` → <strong>, drop stray ``**``, link https URLs."""
    escaped = escape(text)
    escaped = _BOLD.sub(lambda m: f"<strong>{m.group(1)}</strong>", escaped).replace("**", "")
    return _URL.sub(lambda m: f'<a href="{m.group(0)}" rel="noopener noreferrer">{m.group(0)}</a>', escaped)


def render_blocks(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    section = 0
    for block in blocks:
        if block.kind == "title":
            out.append(f"<h1>{inline(block.text)}</h1>")
        elif block.kind == "h2":
            section += 1
            out.append(f'<h2 id="section-{section}">{inline(block.text)}</h2>')
        elif block.kind in ("h3", "h4"):
            out.append(f"<{block.kind}>{inline(block.text)}</{block.kind}>")
        elif block.kind == "p":
            out.append(f"<p>{inline(block.text)}</p>")
        elif block.kind == "ul":
            out.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in block.items) + "</ul>")
        elif block.kind == "toc":
            links = "".join(
                f'<li><a href="#section-{n}">{inline(i)}</a></li>' for n, i in enumerate(block.items, 1)
            )
            out.append(f'<nav class="toc"><ol>{links}</ol></nav>')
        elif block.kind == "table":
            out.append(_table(block.rows[0], block.rows[1:]))
    return "\n".join(out)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    width = len(header)
    head = "".join(f'<th scope="col">{inline(c)}</th>' for c in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{inline(c)}</td>" for c in [*row, *[""] * (width - len(row))][:width])
        + "</tr>"
        for row in rows
    )
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


# --- pages --------------------------------------------------------------------------------------

_STYLE = """
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f5f7fa;color:#1f2329;line-height:1.75;
font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,
"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif}
header.bar{background:#fff;border-bottom:1px solid #e4e7ed}
header.bar .in{max-width:860px;margin:0 auto;padding:12px 20px;display:flex;gap:16px;align-items:center;
flex-wrap:wrap}
header.bar a{color:#409eff;text-decoration:none}
header.bar a.brand{font-weight:700;font-size:18px;color:#1f2329;margin-right:auto}
header.bar a.brand span{color:#409eff}
header.bar a[aria-current]{color:#1f2329;font-weight:600}
main{max-width:860px;margin:24px auto;padding:28px 32px;background:#fff;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.06)}
h1{font-size:26px;margin:0 0 8px}h2{font-size:20px;margin:32px 0 8px;padding-top:8px;
border-top:1px solid #ebeef5}h3{font-size:17px;margin:20px 0 6px}h4{font-size:15px;margin:16px 0 4px}
p{margin:8px 0}.meta{color:#606266;font-size:14px}.meta code{font-size:12px;word-break:break-all}
.notice{background:#fdf6ec;border:1px solid #f5dab1;border-radius:6px;padding:10px 14px;margin:16px 0}
.table{overflow-x:auto;margin:12px 0}table{border-collapse:collapse;width:100%;font-size:14px}
th,td{border:1px solid #dcdfe6;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f5f7fa}td a{word-break:break-all}
nav.toc{background:#fafafa;border-radius:6px;padding:4px 12px;margin:12px 0}
footer{max-width:860px;margin:0 auto 32px;padding:0 20px;color:#909399;font-size:13px}
footer a{color:#909399}
"""

_CHROME: Mapping[Lang, Mapping[str, str]] = {
    "zh-CN": {
        "policy": "隐私政策",
        "third_parties": "第三方信息共享清单",
        "version": "版本",
        "effective": "生效日期",
        "published": "发布时间",
        "hash": "文本 SHA-256",
        "versions": "历史版本",
        "switch": "English",
        "not_found": "未找到该隐私政策版本",
        "tp_intro": "我们接入的第三方如下。本表由汇客的第三方登记表自动生成，与隐私政策第三部分（一）2 一致。",
        "tp_region": "所有接收方均位于中国大陆。",
        "change": "变更类别",
    },
    "en": {
        "policy": "Privacy policy",
        "third_parties": "Third parties",
        "version": "Version",
        "effective": "Effective",
        "published": "Published",
        "hash": "Text SHA-256",
        "versions": "All versions",
        "switch": "中文",
        "not_found": "Privacy policy version not found",
        "tp_intro": (
            "The third parties we work with. This table is generated from Huike's egress register and "
            "matches section 3 (1) 2 of the privacy policy."
        ),
        "tp_region": "All recipients are in mainland China.",
        "change": "Change class",
    },
}

_CHANGE_LABELS: Mapping[Lang, Mapping[str, str]] = {
    "zh-CN": {"minor": "一般修订", "material": "重大变更", "reduces_rights": "削减用户权利的变更"},
    "en": {"minor": "minor", "material": "material", "reduces_rights": "reduces rights"},
}

PREVAILS_NO_TRANSLATION = (
    "No English translation of this version is available. The Simplified Chinese text below is the "
    "privacy policy; under section 10 (1), if language versions differ, the Simplified Chinese "
    "version prevails."
)
PREVAILS_TRANSLATION = (
    "This English translation is provided for convenience. Under section 10 (1) of the policy, if it "
    "differs from the Simplified Chinese version, the Simplified Chinese version prevails."
)

THIRD_PARTY_COLUMNS: Mapping[Lang, Sequence[tuple[str, str]]] = {
    "zh-CN": (
        ("product_zh", "涉及产品/服务"),
        ("entity_zh", "第三方主体"),
        ("shared_zh", "共享的信息"),
        ("scene_zh", "使用场景"),
        ("purpose_zh", "使用目的"),
        ("transfer_zh", "传输方式"),
        ("policy_url", "第三方个人信息处理规则"),
    ),
    "en": (
        ("product_en", "Product or service"),
        ("entity_en", "Third party"),
        ("shared_en", "Information shared"),
        ("scene_en", "Scene"),
        ("purpose_en", "Purpose"),
        ("transfer_en", "Transfer method"),
        ("policy_url", "Third party's privacy rules"),
    ),
}


def _page(lang: Lang, title: str, body: str, *, current: str, switch_href: str) -> str:
    chrome = _CHROME[lang]
    nav = []
    for key, href in (("policy", "/privacy/policy"), ("third_parties", "/privacy/third-parties")):
        target = f"{href}?lang=en" if lang == "en" else href
        marker = ' aria-current="page"' if key == current else ""
        nav.append(f'<a href="{target}"{marker}>{escape(chrome[key])}</a>')
    other = "zh-CN" if lang == "en" else "en"
    nav.append(f'<a href="{escape(switch_href)}" hreflang="{other}" lang="{other}">{chrome["switch"]}</a>')
    return (
        f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} · 汇客 Huike</title><style>{_STYLE}</style></head><body>"
        f'<header class="bar"><div class="in"><a class="brand" href="/">汇客 <span>Huike</span></a>'
        f"{''.join(nav)}</div></header><main>{body}</main>"
        "<footer>汇客 Huike</footer></body></html>"
    )


@dataclass(frozen=True)
class VersionView:
    """What a page needs of a policy version (kept apart from the ORM row)."""

    version: str
    text_zh: str
    text_hash: str
    effective_date: str
    change_class: str
    published_at: str
    text_en: str | None = None


def render_policy_page(view: VersionView, lang: Lang, versions: Sequence[str]) -> str:
    chrome = _CHROME[lang]
    notice = ""
    text, text_lang = view.text_zh, "zh-CN"
    if lang == "en":
        if view.text_en:
            text, text_lang = view.text_en, "en"
            notice = f'<p class="notice" lang="en">{escape(PREVAILS_TRANSLATION)}</p>'
        else:
            notice = f'<p class="notice" lang="en">{escape(PREVAILS_NO_TRANSLATION)}</p>'
    change = _CHANGE_LABELS[lang].get(view.change_class, view.change_class)
    meta = (
        f'<p class="meta">{chrome["version"]} {escape(view.version)} · '
        f"{chrome['effective']} {escape(view.effective_date)} · {chrome['change']} {escape(change)}<br>"
        f"{chrome['hash']} <code>{escape(view.text_hash)}</code></p>"
    )
    suffix = "?lang=en" if lang == "en" else ""
    links = " · ".join(
        f'<a href="/privacy/policy/{escape(v)}{suffix}">{escape(v)}</a>' for v in reversed(versions)
    )
    history = f'<p class="meta">{chrome["versions"]}: {links}</p>' if versions else ""
    article = f'<article lang="{text_lang}">{render_blocks(parse_policy(text))}</article>'
    switch = f"/privacy/policy/{view.version}" + ("" if lang == "en" else "?lang=en")
    return _page(
        lang, chrome["policy"], meta + notice + article + history, current="policy", switch_href=switch
    )


def render_not_found_page(lang: Lang, version: str, code: str) -> str:
    chrome = _CHROME[lang]
    body = (
        f'<h1>{escape(chrome["not_found"])}</h1><p class="meta">{escape(version)} · <code>{escape(code)}'
        f'</code></p><p><a href="/privacy/policy{"?lang=en" if lang == "en" else ""}">'
        f"{escape(chrome['policy'])}</a></p>"
    )
    return _page(lang, chrome["not_found"], body, current="", switch_href="/privacy/policy")


def render_third_parties_page(rows: Sequence[Mapping[str, str]], lang: Lang) -> str:
    chrome = _CHROME[lang]
    columns = THIRD_PARTY_COLUMNS[lang]
    header = [label for _, label in columns]
    body_rows = [[row.get(key, "") for key, _ in columns] for row in rows]
    region = (
        f'<p class="meta">{escape(chrome["tp_region"])}</p>'
        if all(row.get("region") == "cn-mainland" for row in rows)
        else ""
    )
    body = (
        f"<h1>{escape(chrome['third_parties'])}</h1><p>{escape(chrome['tp_intro'])}</p>"
        f"{_table(header, body_rows)}{region}"
    )
    switch = "/privacy/third-parties" + ("" if lang == "en" else "?lang=en")
    return _page(lang, chrome["third_parties"], body, current="third_parties", switch_href=switch)
