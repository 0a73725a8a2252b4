"""Word lists for generated companies: names with their pinyin (userids are pinyin, as many corps
choose), nicknames, departments, positions, tag catalogue and acquisition channels."""

from __future__ import annotations

# Common surnames, roughly by frequency, with pinyin.
SURNAMES: list[tuple[str, str]] = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"),
    ("潘", "pan"), ("于", "yu"), ("蒋", "jiang"), ("蔡", "cai"), ("余", "yu"), ("杜", "du"),
    ("叶", "ye"), ("程", "cheng"), ("苏", "su"), ("魏", "wei"), ("吕", "lv"), ("丁", "ding"),
    ("任", "ren"), ("沈", "shen"), ("姚", "yao"), ("卢", "lu"), ("姜", "jiang"), ("崔", "cui"),
    ("钟", "zhong"), ("谭", "tan"), ("陆", "lu"), ("汪", "wang"), ("范", "fan"), ("金", "jin"),
    ("石", "shi"), ("廖", "liao"), ("贾", "jia"), ("夏", "xia"), ("韦", "wei"), ("付", "fu"),
    ("方", "fang"), ("白", "bai"), ("邹", "zou"), ("孟", "meng"), ("熊", "xiong"), ("秦", "qin"),
]  # fmt: skip

# Characters used in given names, with pinyin; names take one or two of them.
GIVEN: list[tuple[str, str]] = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀", "xiu"),
    ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂", "gui"), ("英", "ying"), ("华", "hua"),
    ("文", "wen"), ("建", "jian"), ("国", "guo"), ("玲", "ling"), ("红", "hong"), ("辉", "hui"),
    ("鑫", "xin"), ("宇", "yu"), ("浩", "hao"), ("婷", "ting"), ("雪", "xue"), ("琳", "lin"),
    ("晨", "chen"), ("欣", "xin"), ("怡", "yi"), ("佳", "jia"), ("子", "zi"), ("梓", "zi"),
    ("涵", "han"), ("萱", "xuan"), ("轩", "xuan"), ("博", "bo"), ("思", "si"), ("雨", "yu"),
    ("嘉", "jia"), ("航", "hang"), ("俊", "jun"), ("凯", "kai"), ("鹏", "peng"), ("飞", "fei"),
    ("斌", "bin"), ("波", "bo"), ("峰", "feng"), ("宁", "ning"), ("健", "jian"), ("亮", "liang"),
    ("海", "hai"), ("春", "chun"), ("慧", "hui"), ("颖", "ying"), ("倩", "qian"), ("璐", "lu"),
    ("晓", "xiao"), ("一", "yi"), ("诗", "shi"), ("睿", "rui"), ("泽", "ze"), ("瑶", "yao"),
    ("志", "zhi"), ("永", "yong"), ("家", "jia"), ("乐", "le"), ("天", "tian"), ("安", "an"),
]  # fmt: skip

NICKNAMES: list[str] = [
    "小鱼儿", "阳光明媚", "Sunny", "岁月静好", "Lucky", "简单", "向日葵", "追梦人", "晴天",
    "一叶知秋", "Amy", "Jason", "Coco", "默默", "花开半夏", "浅笑", "平安是福", "Tony", "Vivian",
    "知足常乐", "清风", "糖糖", "大海", "A.小李", "Kevin", "Grace", "木子", "安静的美男子", "🌸",
    "幸福一家人", "Leo", "心如止水", "橙子", "Andy", "微笑", "荷塘月色", "Cherry", "好运来", "Echo",
]  # fmt: skip

DEPARTMENTS: list[tuple[str, str, list[str]]] = [
    ("销售中心", "Sales", ["华东大区", "华南大区", "华北大区", "西南大区", "大客户部"]),
    ("客户成功部", "Customer Success", ["售后服务组", "会员运营组"]),
    ("市场部", "Marketing", ["品牌组", "增长组"]),
    ("门店事业部", "Retail", ["上海门店", "杭州门店", "广州门店", "成都门店"]),
    ("产品研发部", "R&D", []),
    ("综合管理部", "Administration", []),
]

POSITIONS = [
    "销售顾问",
    "高级销售顾问",
    "客户经理",
    "店长",
    "客服专员",
    "运营专员",
    "区域经理",
    "销售总监",
    "",
]

COMPANIES = ["上海云帆科技有限公司", "杭州青禾贸易有限公司", "深圳启明星电子有限公司", "北京众合文化传媒有限公司",
             "成都锦程餐饮管理有限公司", "广州优品供应链有限公司"]  # fmt: skip

# Corp tag catalogue: (group, tags). Seeding takes groups in order until it has as many tags as asked.
TAG_CATALOGUE: list[tuple[str, list[str]]] = [
    ("客户等级", ["A类客户", "B类客户", "C类客户", "D类客户"]),
    ("意向程度", ["高意向", "中意向", "低意向", "暂无意向"]),
    ("客户阶段", ["新线索", "已沟通", "已报价", "已成交", "复购", "流失"]),
    ("来源渠道", ["门店扫码", "线上广告", "老客推荐", "展会", "直播间", "公众号"]),
    ("年龄段", ["18-25岁", "26-35岁", "36-45岁", "46岁以上"]),
    ("关注品类", ["护肤", "彩妆", "母婴", "家居", "数码", "运动", "食品"]),
    ("会员等级", ["普通会员", "银卡会员", "金卡会员", "钻石会员"]),
    ("地区", ["上海", "北京", "杭州", "广州", "深圳", "成都", "南京", "武汉"]),
]

# Contact-way states (≤30 characters): the corp's own labels for where a customer came from.
CHANNEL_STATES = [
    "store_sh_xuhui", "store_hz_xihu", "store_gz_tianhe", "ad_wechat_moments_2024", "ad_douyin_q3",
    "live_room_0618", "expo_shanghai_2024", "referral_card", "official_account_menu", "mini_program_order",
]  # fmt: skip
