"""The detectors of the personal-data guard (domain/personal_data.py, R-32, R-33): what each
kind of personal data looks like in free text, and where it stands. Pure (no I/O).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from stdnum import luhn, numdb
from stdnum.cn import ric


class Kind(StrEnum):
    """What kind of personal data was found."""

    PHONE = "phone"
    EMAIL = "email"
    ID_NUMBER = "id_number"
    BANK_CARD = "bank_card"
    ACCOUNT = "account"
    NAME = "name"
    ADDRESS = "address"


#: What a redacted span becomes.
PLACEHOLDER: dict[Kind, str] = {
    Kind.PHONE: "[电话]",
    Kind.EMAIL: "[邮箱]",
    Kind.ID_NUMBER: "[身份证号]",
    Kind.BANK_CARD: "[银行卡号]",
    Kind.ACCOUNT: "[账号]",
    Kind.NAME: "[姓名]",
    Kind.ADDRESS: "[地址]",
}

#: How a refusal names each kind (never the value).
DESCRIPTION: dict[Kind, str] = {
    Kind.PHONE: "a phone number (电话号码)",
    Kind.EMAIL: "an e-mail address (电子邮箱)",
    Kind.ID_NUMBER: "a resident ID number (身份证号码)",
    Kind.BANK_CARD: "a bank-card number (银行卡号)",
    Kind.ACCOUNT: "a QQ or WeChat account (社交账号)",
    Kind.NAME: "a person's name (姓名)",
    Kind.ADDRESS: "an address (住址)",
}

_OWN: dict[Kind, str] = {
    Kind.PHONE: "the complainant's or agent's phone number (投诉人或代理人电话)",
    Kind.EMAIL: "the complainant's e-mail address (投诉人邮箱)",
    Kind.ID_NUMBER: "the complainant's ID number (投诉人身份证号码)",
    Kind.NAME: "the complainant's or agent's name (投诉人或代理人姓名)",
    Kind.ADDRESS: "the complainant's address (投诉人住址)",
}


@dataclass(frozen=True, slots=True)
class Hit:
    """One span of personal data in a text: `text[start:end]`."""

    kind: Kind
    start: int
    end: int
    own: bool = False
    """It is the complainant's or the agent's own (from the intake record)."""

    def describe(self) -> str:
        return _OWN.get(self.kind, DESCRIPTION[self.kind]) if self.own else DESCRIPTION[self.kind]


class Spans:
    """Hits that do not overlap, first come first kept; linear in the text's length."""

    def __init__(self, length: int) -> None:
        self.taken = bytearray(length)
        self.hits: list[Hit] = []

    def add(self, hit: Hit) -> bool:
        if any(self.taken[hit.start:hit.end]):
            return False
        self.taken[hit.start:hit.end] = b"\x01" * (hit.end - hit.start)
        self.hits.append(hit)
        return True


# --- normalisation: one character for one, so that spans map back to the text --------------

_FULL_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULL_WIDTH[0x3000] = ord(" ")
_CN_DIGITS = str.maketrans("零〇一幺二两三四五六七八九", "0011223456789")
_CN_DIGIT_RUN = re.compile(r"[零〇一幺二两三四五六七八九]{7,}")


def normalise(text: str) -> str:
    """Full-width forms as ASCII, runs of 7 or more Chinese digits as digits; same length."""
    text = text.translate(_FULL_WIDTH)
    return _CN_DIGIT_RUN.sub(lambda m: m.group().translate(_CN_DIGITS), text)


# --- numbers ---------------------------------------------------------------------------------

#: A word right before a number that says it is no phone or card (the complainant's own are
#: still found there).
_NOT_PERSONAL_BEFORE = re.compile(
    r"(?:订单|单|编|流水|案|文|工单|运单|快递单|批次|凭证|发票|票据|合同|序列|条码|登记|许可证|"
    r"证书|备案|项目|档案|社会信用代码|信用代码|税号|识别号|注册号|账单|交易|报告|批准)"
    r"(?:号码|号|编号|代码)?\s*(?:为|是)?\s*[:：]?\s*$"
)

_COUNTIES = numdb.get("cn/loc")
_ID_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])\d{6}[\s-]?\d{8}[\s-]?\d{3}[0-9Xx](?![0-9A-Za-z])")
_CARD_CANDIDATE = re.compile(
    r"(?<![0-9A-Za-z])(?:\d{16,19}|\d{4}(?:[\s-]\d{4}){3}(?:[\s-]?\d{1,3})?|\d{6}[\s-]\d{10,13})"
    r"(?![0-9A-Za-z])"
)
_LOCAL_PHONE = re.compile(
    r"(?:电话|手机|座机|固话|联系方式|联系|致电|拨打|来电|号码|热线|[Tt][Ee][Ll])[^0-9\n]{0,6}?"
    r"(?<![0-9])([2-9]\d{2,3}[\s-]?\d{4})(?![0-9])"
)
#: Bounds libphonenumber's work per text (about half a millisecond per candidate number): a
#: text with more candidates is also searched with `_MOBILE`, which is linear.
MAX_PHONE_TRIES = 100
_DIGIT_GROUP = re.compile(r"\d+")
_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|00)\s?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?![0-9])")
#: A date or a time is no phone number (2026-11-27 13:30).
_DATE_OR_TIME = re.compile(r"(?:^|\D)(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}")
_TIME_AFTER = re.compile(r"\s*[:：]\d")
_PERSONAL_PHONE_TYPES = frozenset({
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PAGER,
})

#: Linear time: a local part is tried only from its first character and never given back.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++@[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)+"
    r"|(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{2,}+\s*(?:\(at\)|\[at\]|（at）|\sat\s|#)\s*[A-Za-z0-9-]++"
    r"\s*(?:\.|\(dot\)|\[dot\]|\sdot\s|点)\s*(?:com|cn|net|org|edu|gov)(?:\.cn)?\b",
    re.IGNORECASE,
)
_ACCOUNT = re.compile(
    r"(?:QQ|qq|微信|[Ww]e[Cc]hat|[Vv]信|VX|vx)\s*(?:号码|号|账号|ID|id)?\s*(?:是|为)?\s*[:：]?\s*"
    r"([A-Za-z0-9][A-Za-z0-9_-]{4,19})(?![A-Za-z0-9_-])"
)


def is_resident_id(number: str) -> bool:
    """An 18-character mainland resident ID number: its check digit, birth date and county code
    valid (the county known, whenever it was assigned: numbers are issued years after birth)."""
    number = number.upper()
    if len(number) != 18 or not number[:17].isdigit() or ric.calc_check_digit(number) != number[-1]:
        return False
    try:
        ric.get_birth_date(number)
    except ValueError:
        return False
    return any("county" in props for _, props in _COUNTIES.info(number[:6]))


def only_digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def find_numbers(text: str) -> list[Hit]:
    hits = Spans(len(text))

    def exempt(start: int) -> bool:
        return _NOT_PERSONAL_BEFORE.search(text[max(0, start - 12):start]) is not None

    for m in _ID_CANDIDATE.finditer(text):
        if is_resident_id(re.sub(r"[\s-]", "", m.group())):
            hits.add(Hit(Kind.ID_NUMBER, m.start(), m.end()))
    for m in _ACCOUNT.finditer(text):
        account = m.group(1)
        if re.search(r"\d", account):
            hits.add(Hit(Kind.ACCOUNT, m.start(1), m.end(1)))
    for m in _CARD_CANDIDATE.finditer(text):
        number = only_digits(m.group())
        if (16 <= len(number) <= 19 and number[0] in "345689" and luhn.is_valid(number)
                and not exempt(m.start())):
            hits.add(Hit(Kind.BANK_CARD, m.start(), m.end()))
    matcher = phonenumbers.PhoneNumberMatcher(
        text, "CN", leniency=phonenumbers.Leniency.VALID, max_tries=MAX_PHONE_TRIES)
    if len(_DIGIT_GROUP.findall(text)) > MAX_PHONE_TRIES:
        # More candidates than libphonenumber is given time for (a text stuffed with numbers):
        # every mobile-shaped number counts, in linear time.
        for m in _MOBILE.finditer(text):
            if not exempt(m.start()):
                hits.add(Hit(Kind.PHONE, m.start(), m.end()))
    for pm in itertools.islice(matcher, MAX_PHONE_TRIES):
        if (phonenumbers.number_type(pm.number) in _PERSONAL_PHONE_TYPES
                and not _DATE_OR_TIME.search(pm.raw_string) and not _TIME_AFTER.match(text, pm.end)
                and not exempt(pm.start)):
            hits.add(Hit(Kind.PHONE, pm.start, pm.end))
    for m in _LOCAL_PHONE.finditer(text):
        hits.add(Hit(Kind.PHONE, m.start(1), m.end(1)))
    for m in _EMAIL.finditer(text):
        hits.add(Hit(Kind.EMAIL, m.start(), m.end()))
    return hits.hits


# --- names -----------------------------------------------------------------------------------

#: Common surnames (the first ~130 of 百家姓 by frequency, and compound ones).
_COMPOUND_SURNAMES = "欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|长孙|司徒|令狐|夏侯"
_SURNAMES = (
    _COMPOUND_SURNAMES + "|"
    "[王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左"
    "柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶"
    "解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟"
    "邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝]"
)
_GIVEN = r"[\u4e00-\u9fff]{1,2}"
_NOT_GIVEN = re.compile(r"[某先女氏师老总局科处主警]")
#: Words that begin with a surname's character and are no name.
_NOT_NAMES = frozenset({
    "陈述", "陈情", "高度", "方面", "方式", "方法", "方案", "常规", "明确", "明显", "黄金", "金额",
    "于是", "安全", "安排", "程序", "程度", "许可", "许多", "文件", "文字", "马上", "白天", "向前",
    "关于", "关系", "全部", "全面", "时间", "时候", "成功", "成立", "单位", "单独", "华人", "应当",
    "和解", "商户", "商家", "路人", "车主", "申请", "申诉", "市民", "党员", "管理", "司机", "温度",
})
_END = r"(?=[，,。.；;：:！!？?、\s)）]|$)"
_NAME_PATTERNS = (
    # 我是张三丰，… / 本人李明，… / 姓名：王小二
    re.compile(rf"(?:我是|我叫|本人|姓名|名叫|叫做)\s*[:：]?\s*(?P<n>(?:{_SURNAMES}){_GIVEN})"
               rf"(?:{_END}|(?=电话|手机|身份证|住|联系|家住|现住))"),
    # 投诉人李明反映… / 来电人：王芳，…
    re.compile(rf"(?:投诉人|来电人|申诉人|反映人|举报人|当事人|委托人|代理人|受托人)\s*[:：]?\s*"
               rf"(?P<n>(?:{_SURNAMES}){_GIVEN})(?:{_END}|(?=反映|投诉|来电|电话|手机|同志|先生|女士))"),
    # 张三丰同志：您好 / 王芳女士，…
    re.compile(rf"(?P<n>(?:{_SURNAMES}){_GIVEN})(?:同志|先生|女士|小姐)(?:{_END}|(?=您好|你好))"),
)


def find_names(text: str) -> list[Hit]:
    hits: list[Hit] = []
    for pattern in _NAME_PATTERNS:
        for m in pattern.finditer(text):
            name = m.group("n")
            surname_len = 2 if re.match(_COMPOUND_SURNAMES, name) else 1
            given = name[surname_len:]
            if not given or _NOT_GIVEN.search(given) or name in _NOT_NAMES or name[:2] in _NOT_NAMES:
                continue
            hits.append(Hit(Kind.NAME, m.start("n"), m.end("n")))
    hits.extend(find_residence(text))
    return hits


#: Home-level address details (3栋2单元501室, 5幢1203室), personal whoever's they are.
_RESIDENCE = re.compile(
    r"\d{1,3}\s*(?:栋|幢|号楼|座)\s*\d{1,2}\s*单元\s*\d{2,5}\s*(?:室|号|房)?"
    r"|\d{1,3}\s*(?:栋|幢)\s*\d{3,5}\s*(?:室|房)"
    r"|\d{1,2}\s*单元\s*\d{3,5}\s*(?:室|房)?"
)


def find_residence(text: str) -> list[Hit]:
    return [Hit(Kind.ADDRESS, m.start(), m.end()) for m in _RESIDENCE.finditer(text)]
