"""Code tables from Chinese national standards, as data (notes/standards.md).

- GB/T 2261.1-2003 sex codes, GB/T 2261.2-2003 marital status codes,
- GB/T 3304-1991 ethnicity codes, GB/T 2260 administrative division codes (the two cities + provinces).
"""

from __future__ import annotations

from enum import IntEnum
from types import MappingProxyType


class Sex(IntEnum):
    """GB/T 2261.1-2003 human sex codes."""

    UNKNOWN = 0
    MALE = 1
    FEMALE = 2
    NOT_STATED = 9

    @property
    def label(self) -> str:
        return {0: "未知的性别", 1: "男", 2: "女", 9: "未说明的性别"}[self.value]


# GB/T 3304-1991 names of ethnic groups of China with romanization codes; two-digit numeric codes.
_ETHNIC_NAMES = (
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜",  # 01-10
    "满", "侗", "瑶", "白", "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳",  # 11-20
    "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土",  # 21-30
    "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米",  # 31-40
    "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔",  # 41-50
    "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",  # 51-56
)
ETHNICITIES: MappingProxyType[str, str] = MappingProxyType(
    {f"{i:02d}": name + "族" for i, name in enumerate(_ETHNIC_NAMES, start=1)}
    | {"97": "其他", "98": "外国血统中国籍人士"}
)

# GB/T 2261.2-2003 marital status.
MARITAL_STATUS: MappingProxyType[str, str] = MappingProxyType({
    "10": "未婚", "20": "已婚", "21": "初婚", "22": "再婚", "23": "复婚", "30": "丧偶", "40": "离婚",
    "90": "未说明的婚姻状况",
})

# Reason for residence (居住事由, ZZ Art.33). No national table is cited by the seeds: this is our own
# closed list, built from the grounds of SMX Art.8 (work, home, study) and the usual registration reasons.
RESIDENCE_REASONS: MappingProxyType[str, str] = MappingProxyType({
    "01": "务工", "02": "经商", "03": "就学", "04": "投靠亲友", "05": "拥有住房", "06": "随迁家属",
    "99": "其他",
})

# GB/T 2260 province-level codes (first two digits of every division code); used for plausibility
# of the address code of a citizen ID number from anywhere in the country.
PROVINCES: MappingProxyType[str, str] = MappingProxyType({
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省",
    "37": "山东省", "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省",
    "45": "广西壮族自治区", "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省",
    "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区", "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
})

# GB/T 2260 divisions of the two cities (notes/standards.md), county level and the city itself.
DIVISIONS: MappingProxyType[str, str] = MappingProxyType({
    "410000": "河南省",
    "410100": "郑州市", "410102": "中原区", "410103": "二七区", "410104": "管城回族区",
    "410105": "金水区", "410106": "上街区", "410108": "惠济区", "410122": "中牟县", "410181": "巩义市",
    "410182": "荥阳市", "410183": "新密市", "410184": "新郑市", "410185": "登封市",
    "411200": "三门峡市", "411202": "湖滨区", "411203": "陕州区", "411221": "渑池县",
    "411224": "卢氏县", "411281": "义马市", "411282": "灵宝市",
})


def region_plausible(code: str) -> str | None:
    """None if a 6-digit GB/T 2260 code is plausible, else the reason it is not."""
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return f"region code {code!r} is not 6 digits"
    if code[:2] not in PROVINCES:
        return f"region code {code}: {code[:2]} is not a GB/T 2260 province code"
    if code[:2] == "41" and code[2:4] in ("01", "12") and code[4:] != "00" and code not in DIVISIONS:
        return f"region code {code} is not a county of {DIVISIONS[code[:4] + '00']} (GB/T 2260)"
    return None
