"""The duplicate suggestion's ranking (R-45) measured on 120 pairs of complaints: an original and
a repeat of the same incident told again (by the same person calling back, or by someone else
who was there), in other words, among the other open complaints against the same unit, which
often concern the same service, the same window or the same kind of misconduct.

Each query (a repeat) has exactly one relevant case (its original). Measured:
- hit@3: the share of repeats whose original is among the 3 suggestions shown first (the
  issue's "precision at 3" as a clerk sees it: is the repeat on the first screen);
- P@3 in the IR sense: relevant suggestions among the top 3 / 3 (at most 1/3 here);
- P@1 and the share of suggestions wrongly made for complaints that are no repeat.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from api.web.duplicates import MIN_SCORE, Candidate, rank

UNITS = {
    "tax-bureau": ("某区税务局", ["发票领用", "个税汇算清缴", "税务登记变更", "社保费缴纳登记",
                                 "增值税退税"]),
    "housing-bureau": ("某区住建局", ["房屋租赁备案", "公积金提取", "施工许可", "物业备案",
                                     "保障房申请"]),
    "property-registry": ("不动产登记中心", ["二手房过户", "抵押登记", "不动产证补办",
                                            "继承登记", "查封查询"]),
    "social-security": ("社保中心", ["养老保险转移", "退休审批", "医保报销", "失业金申领",
                                    "社保卡补办"]),
    "public-security": ("公安分局户籍科", ["户口迁移", "身份证补办", "居住证办理",
                                          "新生儿落户", "户籍证明"]),
    "market-regulation": ("市场监管局", ["营业执照变更", "食品经营许可", "个体户注销",
                                        "商标质押", "企业年报修改"]),
    "traffic-police": ("交警大队", ["驾驶证换证", "车辆年检", "违章处理", "事故认定",
                                   "临时号牌"]),
    "civil-affairs": ("民政局", ["婚姻登记", "低保申请", "殡葬补贴", "社会组织登记",
                                "残疾人补贴"]),
}

STAFF = ["一名戴眼镜的男工作人员", "一名短发女工作人员", "工号{n}的工作人员", "一名中年男子",
         "值班的年轻女工作人员", "胸牌写着{s}的工作人员"]
SURNAMES = ["王", "刘", "陈", "杨", "赵", "黄", "周", "吴"]

#: kind of misconduct -> (how the original tells it, how a repeat tells it)
PROBLEMS = {
    "rude": ("态度极其恶劣，大声呵斥我，说听不懂就别来办",
             "对人很凶，吼着说看不懂自己回去学"),
    "repeat": ("每次说的材料都不一样，前后让我跑了四趟还没办成",
               "一次性告知都做不到，来回跑了好几次"),
    "refuse": ("我的材料齐全，却以系统原因拒绝受理",
               "明明东西都带齐了，就是推说系统问题不给办"),
    "fee": ("要求另外交两百元加急费，不给开收据",
            "私下收了两百块所谓加急的钱，也没有票据"),
    "pass": ("让我去三楼另一个科室，那边又让我回来，互相推诿",
             "楼上楼下来回推，谁都不管"),
    "absent": ("上班时间窗口没人，等了一个多小时也没人来",
               "工作时间岗位空着，足足等了一个小时以上"),
}
DETAILS = ["要求我补交房产证复印件", "说必须本人到场不能委托", "要求开具无犯罪记录证明",
           "说要先去街道盖章", "让我在网上预约后再来", "要求提供近三年的完税证明",
           "说原件丢失要登报声明", "要我提供结婚证原件", "说表格填错要重新排队",
           "要求出具单位介绍信"]
DEMANDS = ["请求严肃处理。", "希望给个说法。", "要求尽快办结并道歉。", "请领导核查。"]


@dataclass
class Incident:
    unit: str
    original: str
    repeat: str


def _incident(rnd: random.Random, unit: str, used: set[tuple[str, ...]]) -> Incident:
    name, services = UNITS[unit]
    while True:
        month, day = 11, rnd.randint(1, 28)
        window = rnd.randint(1, 12)
        service = rnd.choice(services)
        problem = rnd.choice(list(PROBLEMS))
        detail = rnd.choice(DETAILS)
        key = (str(day), str(window), service, problem)
        if key not in used:
            used.add(key)
            break
    staff = rnd.choice(STAFF).format(n=rnd.randint(1000, 9999), s=rnd.choice(SURNAMES) + "某")
    half = rnd.choice(["上午", "下午"])
    told, retold = PROBLEMS[problem]
    original = rnd.choice([
        f"{month}月{day}日{half}我到{name}{window}号窗口办理{service}，{staff}{told}。"
        f"另外还{detail}。{rnd.choice(DEMANDS)}",
        f"本人于{month}月{day}日{half}在{name}办理{service}业务，{window}号窗口{staff}{told}，"
        f"并且{detail}，{rnd.choice(DEMANDS)}",
        f"反映{name}{window}号窗口的问题：{month}月{day}日我去办{service}，{told}，"
        f"还{detail}。{rnd.choice(DEMANDS)}",
    ])
    repeat = rnd.choice([
        f"我前几天打过电话，还是{month}月{day}号在{name}办{service}那件事，"
        f"{window}号窗口{retold}，到现在没人联系我。",
        f"再次反映：{name}{window}号窗口，{service}，{retold}，{month}月{day}日的事情一直没处理。",
        f"我和朋友{month}月{day}日同一时间在{name}办{service}，{window}号窗口{retold}，"
        f"朋友已经投诉过，我也要投诉。",
        f"催问一下{month}/{day}那次{service}的投诉，{name}的{window}号窗口{retold}。",
        # without the date, or without the window: the caller does not remember it
        f"上个月在{name}{window}号窗口办{service}，{retold}，{detail}，之前已经反映过。",
        f"{month}月{day}日去{name}办{service}，{retold}，{detail}，不记得是几号窗口了。",
        f"还是{service}的事：{name}的人{retold}，{detail}，我已经投诉过一次了。",
    ])
    return Incident(unit, original, repeat)


def dataset(seed: int = 16, per_unit: int = 15) -> list[Incident]:
    rnd = random.Random(seed)
    out: list[Incident] = []
    for unit in UNITS:
        used: set[tuple[str, ...]] = set()
        out += [_incident(rnd, unit, used) for _ in range(per_unit)]
    return out


def measure(incidents: list[Incident]) -> dict[str, float]:
    hits3 = hits1 = 0
    for i, inc in enumerate(incidents):
        candidates = [Candidate(f"C{j}", x.original) for j, x in enumerate(incidents)
                      if x.unit == inc.unit]
        got = [s.number for s in rank(inc.repeat, candidates, top=3)]
        hits3 += f"C{i}" in got
        hits1 += bool(got) and got[0] == f"C{i}"
    n = len(incidents)
    return {"pairs": n, "hit@3": hits3 / n, "P@3": hits3 / (3 * n), "P@1": hits1 / n}


def test_the_repeat_is_among_the_first_three_suggestions() -> None:
    incidents = dataset()
    assert len(incidents) == 120
    m = measure(incidents)
    print("duplicate ranking:", m)
    assert m["hit@3"] >= 0.95, m
    assert m["P@1"] >= 0.85, m


def test_a_true_repeat_scores_above_the_bar_and_another_incident_seldom_high() -> None:
    """Every true repeat reaches the bar for being suggested (MIN_SCORE); a new complaint of
    another incident against the same unit (no repeat of anything) seldom reaches the score of
    a typical true repeat: the clerk sees the score and can tell them apart."""
    incidents = dataset()
    fresh = dataset(seed=99)
    true_scores: list[float] = []
    for i, inc in enumerate(incidents):
        candidates = [Candidate(f"C{j}", x.original) for j, x in enumerate(incidents)
                      if x.unit == inc.unit]
        true_scores += [s.score for s in rank(inc.repeat, candidates, top=20, min_score=0)
                        if s.number == f"C{i}"]
    assert sum(s >= MIN_SCORE for s in true_scores) / len(incidents) >= 0.95
    typical = sorted(true_scores)[len(true_scores) // 2]
    high = 0
    for inc in fresh:
        candidates = [Candidate(f"C{j}", x.original) for j, x in enumerate(incidents)
                      if x.unit == inc.unit]
        best = rank(inc.repeat, candidates, top=1, min_score=typical)
        high += bool(best)
    assert high / len(fresh) <= 0.25, (high / len(fresh), typical)


def test_nothing_to_compare_suggests_nothing() -> None:
    assert rank("", [Candidate("A", "窗口态度差")]) == []
    assert rank("窗口态度差", []) == []
