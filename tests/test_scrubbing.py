"""Private data stays private (issue 9, point 3): a wish's text is scrubbed for everyone who is
not staff of its grid or its active claimer — in 查询, 心愿列表, 我的认领, group pushes, digests and
the API — scrubbing runs before any shortening, and 代许愿 never says whose number it is."""
from __future__ import annotations

import pytest

from models.privacy import brief, scrub

from .world import GRIDWORKERS_KEY, VOLUNTEERS_KEY


@pytest.mark.parametrize("written, shown", [
    ("电话13911112222", "电话139****2222"),
    ("电话 139 1111 2222", "电话 139****2222"),
    ("电话139-1111-2222", "电话139****2222"),
    ("电话１３９１１１１２２２２", "电话139****2222"),
    ("电话+86 139 1111 2222", "电话139****2222"),
    ("座机0755-87654321", "座机0755-****4321"),
    ("座机（010）87654321", "座机010-****4321"),
    ("座机010-8765-4321", "座机010-****4321"),
    ("家里电话8765 4321", "家里电话****4321"),
    ("身份证110101199001011234", "身份证1101**********1234"),
    ("身份证11010119900101123X", "身份证1101**********123X"),
    ("身份证 110101 19900101 1234", "身份证 1101**********1234"),
    ("两个号码13911112222 13933334444", "两个号码139****2222 139****4444"),
    ("住东山路5号", "住东山路*号"),
    ("住东山路 12 号3栋2单元501室", "住东山路* 号*栋*单元*室"),
    ("幸福小区8号楼402", "幸福小区*号楼402"),
    # Not numbers anyone can be reached by: left alone.
    ("12月1日前，需要2个，预算200元", "12月1日前，需要2个，预算200元"),
    ("希望2026-12-01前送到", "希望2026-12-01前送到"),
    ("12月5号前送到，3楼不用爬", "12月5号前送到，*楼不用爬"),
])
def test_scrub_masks_every_way_of_writing_a_number(written, shown):
    assert scrub(written) == shown


@pytest.mark.parametrize("written, shown", [
    # Mobiles in Chinese numerals, as typed or as voice recognition writes them (幺 = 1, 两 = 2).
    ("许愿 请打电话给我女儿 一三八一二三四五六七八，地址幸福路12号",
     "许愿 请打电话给我女儿 138****5678，地址幸福路*号"),
    ("我的电话是幺三八一二三四五六七八。", "我的电话是138****5678。"),
    ("电话幺三九两两两两〇〇零零", "电话139****0000"),
    ("电话１３８一二三四５６七八", "电话138****5678"),
    # Any short run of separators between the digits.
    ("电话138.1234.5678", "电话138****5678"),
    ("电话 138 - 1234 - 5679", "电话 138****5679"),
    ("电话138、1234、5678", "电话138****5678"),
    ("电话138 — 1234 — 5678", "电话138****5678"),
    ("电话138＿1234＿5678", "电话138****5678"),
    ("电话一三八 一二三四 五六七八", "电话138****5678"),
    ("座机零七五五—八七六五四三二一", "座机0755-****4321"),
    ("座机0755.8765.4321", "座机0755-****4321"),
    ("家里电话八七六五 四三二一", "家里电话****4321"),
    # Door numbers: a room after its unit, 楼-单元-室 in digits or numerals, and 3-2-401.
    ("住3栋2单元401", "住*栋*单元*"),
    ("住3-2-401", "住*"),
    ("住六号楼二单元四零一室", "住*号楼*单元*室"),
    ("住6号楼二单元401室", "住*号楼*单元*室"),
    ("住六栋二单元四零一", "住*栋*单元*"),
])
def test_scrub_masks_numbers_in_chinese_numerals_and_any_separators(written, shown):
    assert scrub(written) == shown


@pytest.mark.parametrize("text", [
    "需要2副老花镜", "今年80岁", "一二年级的课本", "3月12号", "需要两副老花镜，今年八十岁",
    "孙子上一二三年级", "语文第一单元的练习册", "三室一厅，一栋楼住了两层", "捐款1000、2000都行",
    "希望2026-12-01前送到", "希望2026.12.01前送到", "1、3、5号下午有空",
])
def test_scrub_leaves_ordinary_numbers_readable(text):
    assert scrub(text) == text


def test_scrubbing_runs_before_the_text_is_shortened():
    text = "需要" + "很" * 61 + "电话13911112222"  # the number straddles character 70
    assert brief(text, 70) == "需要" + "很" * 61 + "电话…"  # no half a number, masked or not
    assert "1391" not in brief(text, 70)


CONTENT = "需要一副老花镜，儿子电话139 1111 2222，身份证110101199001011234"
SCRUBBED = "需要一副老花镜，儿子电话139****2222，身份证1101**********1234"


def test_query_lists_and_claims_show_the_text_scrubbed_to_all_but_staff_and_the_claimer(chat):
    assert chat.say("o-wang", f"许愿 {CONTENT}") == "收到您的心愿 #1，网格员审核后会发布。"
    assert chat.say("o-liu", "审核 1 通过") == "心愿 #1 已发布到志愿者群。"
    assert chat.say("o-chen", "查询 1") == (
        f"心愿 #1（待认领）\n{SCRUBBED}\n类别：医疗器械·一般\n社区网格：新城社区/第一网格\n许愿人：王**")
    assert chat.say("o-zhou", "查询 1").split("\n")[1] == SCRUBBED  # a grid worker of another community
    assert chat.say("o-liu", "查询 1").split("\n")[1] == CONTENT  # staff of its grid
    assert chat.say("o-wang", "查询 1").split("\n")[1] == CONTENT  # its requester
    assert chat.say("o-chen", "心愿列表") == (
        "待认领的心愿：\n#1【医疗器械】需要一副老花镜，儿子电话139****2222…（王**）\n"
        "想认领哪个，就回复「认领」加编号，比如：认领 1")
    assert chat.say("o-li", "认领 1") == (
        f"认领成功！心愿 #1：{CONTENT[:29]}…\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。")
    assert chat.say("o-li", "查询 1").split("\n")[1] == CONTENT  # the active claimer
    assert chat.say("o-li", "我的认领") == "您的认领：\n#1 需要一副老花镜，儿子电话… —— 进行中"
    assert chat.say("o-li", "放弃 1") == "已放弃心愿 #1，它会重新开放给大家认领。"
    # The claim ended: the details go with it.
    assert chat.say("o-li", "查询 1").split("\n")[1] == SCRUBBED
    assert chat.say("o-li", "我的认领") == "您的认领：\n#1 需要一副老花镜，儿子电话… —— 已放弃"


def test_group_pushes_and_digests_carry_the_text_scrubbed_and_never_half_a_number(chat, app):
    content = "需要" + "很" * 71 + "电话13911112222"  # the number straddles the 80-character cut
    chat.say("o-wang", f"许愿 {content}")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-wang", "许愿 帮忙修水管，联系电话 0755-87654321")
    published = [text for text in chat.group_pushes(VOLUNTEERS_KEY) if "新心愿 #1" in text]
    assert published == [f"新心愿 #1（新城社区第一网格，王**）：需要{'很' * 71}电话…\n回复「认领 1」认领。"]
    app.extensions["wishbot"].send_digests()
    digest = [text for text in chat.group_pushes(GRIDWORKERS_KEY) if text.startswith("【每日汇总】")]
    assert digest == [f"【每日汇总】新城社区/第一网格\n新心愿 1 个：\n· #1 需要{'很' * 17}…\n"
                      "待审核 1 个：\n· #2 帮忙修水管，联系电话…"]  # never half a number, masked or not
    for text in chat.group_pushes():
        assert "1391" not in text and "8765" not in text


def test_proxy_wish_never_says_whose_number_it_is_outside_the_grid(chat):
    # 13800000001 is 王秀兰's, in 新城社区/第一网格; 周强 works in 东山社区.
    assert chat.say("o-zhou", "代许愿 李四 13800000001 需要一个助听器") == \
        "手机号 13800000001 的居民不在您负责的网格，请联系其所在网格的网格员代许愿。"
    assert chat.say("o-zhou", "代许愿 王秀兰 13800000001 需要一个助听器") == \
        "手机号 13800000001 的居民不在您负责的网格，请联系其所在网格的网格员代许愿。"
    assert chat.say("o-liu", "代许愿 李四 13800000001 需要一个助听器") == \
        "手机号 13800000001 已登记为王秀兰，请核对姓名。"  # her own grid worker may be told
