"""Identity-claim patterns: compiled regexes and word tables (data, not logic).

Countries and the cities that imply one, the English and Chinese first-person
triggers, where a claimed object stops, hypotheticals and reported speech,
role-play and persona cues, quote and label markers. The extractor in
:mod:`distillscope.identity.claims` and the region helpers in
:mod:`distillscope.identity.text_regions` read them.
"""

from __future__ import annotations

import re

# CJK ideographs (Chinese text, stems and labels).
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# Countries, as written in claims, and cities that imply one.
COUNTRY_WORDS: dict[str, str] = {
    "american": "US",
    "america": "US",
    "united states": "US",
    "usa": "US",
    "u.s.": "US",
    "us": "US",
    "silicon valley": "US",
    "san francisco": "US",
    "california": "US",
    "seattle": "US",
    "redmond": "US",
    "mountain view": "US",
    "menlo park": "US",
    "new york": "US",
    "chinese": "CN",
    "china": "CN",
    "beijing": "CN",
    "shanghai": "CN",
    "hangzhou": "CN",
    "shenzhen": "CN",
    "hefei": "CN",
    "prc": "CN",
    "french": "FR",
    "france": "FR",
    "paris": "FR",
    "british": "GB",
    "uk": "GB",
    "united kingdom": "GB",
    "london": "GB",
    "england": "GB",
    "canadian": "CA",
    "canada": "CA",
    "toronto": "CA",
    "israeli": "IL",
    "israel": "IL",
    "tel aviv": "IL",
    "emirati": "AE",
    "uae": "AE",
    "abu dhabi": "AE",
    "united arab emirates": "AE",
}
COUNTRY_ZH: dict[str, str] = {
    "美国": "US",
    "硅谷": "US",
    "旧金山": "US",
    "西雅图": "US",
    "加州": "US",
    "中国": "CN",
    "国内": "CN",
    "北京": "CN",
    "上海": "CN",
    "杭州": "CN",
    "深圳": "CN",
    "合肥": "CN",
    "法国": "FR",
    "巴黎": "FR",
    "英国": "GB",
    "伦敦": "GB",
    "加拿大": "CA",
    "多伦多": "CA",
    "以色列": "IL",
    "阿联酋": "AE",
    "阿布扎比": "AE",
}
COUNTRY_RE = re.compile(
    r"(?:(?<![A-Za-z])(?:"
    + "|".join(re.escape(k) for k in sorted(COUNTRY_WORDS, key=len, reverse=True) if k not in ("us",))
    + r")(?![A-Za-z])|(?<![A-Za-z])US(?![A-Za-z])|(?<![A-Za-z])U\.S\.)"
    r"(?!\s*(?:language|text|speak|-speak|translation|users?|content|questions?|input|output|characters?))",
    re.IGNORECASE,
)
COUNTRY_ZH_RE = re.compile("|".join(sorted(COUNTRY_ZH, key=len, reverse=True)))
HUMAN_RE = re.compile(
    r"(?<![A-Za-z])(?:a\s+(?:real\s+|living\s+)?(?:human(?:\s+being)?|person)|human(?:\s+being)?)(?![A-Za-z\-])"
    r"|(?:一[个名位])?(?:真实的)?(?:人类|真人)(?![的助朋好伙])",
    re.IGNORECASE,
)

# Sentence ends. Abbreviations such as "U.S." and versions like "3.5" do not end one.
SENT_END = re.compile(
    r"(?<!\bU\.S)(?<!\bU\.K)(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bInc)(?<!\bLtd)(?<!\bCo)(?<!\bDr)(?<!\bMr)(?<!\bSt)[.!?](?=\s|$|[\"'”’)\]])|[。！？；;]|(?<![,，])\n"
)

# First-person triggers. Each names what follows: the object runs from the
# match end to the sentence end or the first cut marker.
EN_TRIGGERS: list[tuple[str, re.Pattern[str]]] = [
    (
        "i-am",
        re.compile(
            r"(?<![A-Za-z'’])[Ii](?:\s+am|\s*['’]\s*m|\s+was|\s+have\s+been|\s*['’]\s*ve\s+been|\s+(?:were|had\s+been)|\s+originally\s+was)"
            r"(?P<neg>\s+(?:not|never|no\s+longer|no)(?![A-Za-z]))?(?P<also>\s+(?:also|actually|really|just|originally|essentially|basically|fundamentally))?(?![A-Za-z])"
        ),
    ),
    (
        "my-name",
        re.compile(
            r"(?<![A-Za-z])(?:my\s+(?:name|model\s+name|official\s+name|real\s+name|true\s+name)(?:\s+is|\s*['’]s)|call\s+me|i\s+go\s+by|i['’]?m\s+called|i\s+am\s+called|i['’]?m\s+known\s+as|i\s+am\s+known\s+as)"
            r"(?P<neg>\s+not(?![A-Za-z]))?(?![A-Za-z])",
            re.IGNORECASE,
        ),
    ),
    (
        "my-maker",
        re.compile(
            r"(?<![A-Za-z])my\s+(?:\w{1,40}\s+)?(?:developers?|creators?|makers?|trainers?|builders?|designers?|engineers?|parent\s+company|company|team|vendor|provider|owner|origins?|base\s+model|underlying\s+model|architecture|lineage|family|(?:true\s+|real\s+)?identity)"
            r"(?:\s+(?:is|are|was|were|include|includes|came\s+from|comes?\s+from|at|from)|\s*,)(?P<neg>\s+not|n['’]t)?(?![A-Za-z])",
            re.IGNORECASE,
        ),
    ),
    (
        "made-me",
        re.compile(
            r"(?:(?<![A-Za-z])the\s+(?:company|team|organi[sz]ation|lab|laboratory|people|engineers|group|firm)\s+)?(?<![A-Za-z])(?:that|which|who)\s+(?:created|developed|trained|built|made|designed|owns|released)\s+me\s+(?:is|was|are|were)(?P<neg>\s+not|n['’]t)?(?![A-Za-z])",
            re.IGNORECASE,
        ),
    ),
    (
        "i-come-from",
        re.compile(
            r"(?<![A-Za-z])[Ii]\s+(?:come|came|hail|originate|originated|stem)\s+from|(?<![A-Za-z])[Ii]\s+(?:belong|belonged)\s+to"
            r"|(?<![A-Za-z])[Ii]\s+(?:work|worked)\s+for"
        ),
    ),
    (
        "as-name",
        re.compile(
            r"(?:^|(?<=[\s\"“(*]))As\s+(?=[A-Z][A-Za-z0-9_.\-'’]{0,40}(?:\s+[A-Z0-9][A-Za-z0-9_.\-'’]{0,40}){0,2}\s*,)"
        ),
    ),
    (
        "talking-to",
        re.compile(
            r"(?<![A-Za-z])you\s*(?:['’]re|\s+are)\s+(?:talking|chatting|speaking)\s+(?:to|with)(?![A-Za-z])",
            re.IGNORECASE,
        ),
    ),
    (
        "as-an",
        re.compile(
            r"(?:^|(?<=[\s(\[\"“]))[Aa]s\s+(?:an?\s+)?(?:(?:large\s+)?(?:AI|artificial\s+intelligence|language|LLM|chat|conversational|assistant|model)\b[^,.;:!?\n]{0,60}?(?:by|from|of)\s)",
            re.IGNORECASE,
        ),
    ),
]
EN_SUBJ_BEFORE = re.compile(
    r"(?P<obj>[A-Z][A-Za-z0-9_.\-'’]{0,40}(?:\s+[A-Z][A-Za-z0-9_.\-'’]{0,40}){0,3}|the\s+\w{1,40}(?:\s+\w{1,40}){0,3})\s+(?:created|developed|trained|built|made|designed)\s+me(?![A-Za-z])"
)

ZH_TRIGGERS: list[tuple[str, re.Pattern[str]]] = [
    (
        "zh-wo-shi",
        re.compile(
            r"我(?P<neg>并不是|不是|并非|绝不是|可不是|从来不是|不再是)?(?:是|乃|就是|其实是|正是|实际上是|本质上是)?(?=.)"
        ),
    ),
    ("zh-name", re.compile(r"(?:我(?P<neg>不)?(?:叫|名叫|名为)|我的(?:名字|名称|全名)(?P<neg2>不)?(?:是|叫|为))")),
    (
        "zh-maker",
        re.compile(
            r"(?:我的(?:开发者|开发商|开发团队|研发团队|研发者|创造者|创建者|制造者|训练者|缔造者|作者|母公司|所属公司|公司|团队|基础模型|底层模型|基座模型|架构|真实身份|身份|真名|本名|型号|模型名称)|(?:开发|研发|训练|创造|创建|打造|设计|制造|推出)我的(?:公司|团队|机构|组织|人)?)(?P<neg>不|并不|并非)?(?:是|为|来自)"
        ),
    ),
    ("zh-from", re.compile(r"我(?P<neg>并不|不|并非)?(?:来自|出自|隶属于|属于|源自|诞生于|基于|由)")),
    ("zh-as-name", re.compile(r"(?:^|(?<=[\s，。！？；：*]))作为(?=[A-Za-z0-9\-\u4e00-\u9fff·]{1,12}[，,])")),
    (
        "zh-as",
        re.compile(
            r"(?:^|(?<=[\s，。！？；：]))作为(?=[^，。！？；\n]{0,40}?(?:开发|训练|打造|推出|研发)[^，。！？；\n]{0,12}?(?:模型|助手|AI|人工智能))"
        ),
    ),
]

# Where the claimed object stops: comparisons, topics, hedges, negation, new
# subjects. Applied to the text after the trigger.
EN_CUT = re.compile(
    r"(?<![A-Za-z])(?:about|regarding|concerning|like|unlike|similar|similarly|than|compared|comparison|versus|vs\.?|such\s+as|including|includes|or|nor|not|never|no|n['’]t|"
    r"rather|instead|but|however|although|though|while|whereas|if|whether|because|since|unless|different|distinct|separate|independent|independently|"
    r"unaffiliated|unrelated|alternative|competitor|competitors|rival|rivals|with|for|trained\s+on|data|dataset|datasets|outputs?|"
    r"can|could|will|would|should|may|might|must|cannot|do|does|did|help|helps|use|uses|using|answer|access|know|knows|support|supports|"
    r"recommend|mention|discuss|describe|explain|search|compare|talk|tell|say|said|think|believe|understand|imagine|pretend|playing|"
    r"hosted|deployed|served|running|available|accessible|integrated|offered|same|proud|"
    r"and\s+(?:I|you|it|they|we|he|she|this|that|there|not|never)|then|so|here|there)(?![A-Za-z])"
    r"|,\s*(?:I|you|it|they|we|he|she|not|but)(?![A-Za-z])|\(|—|–\s|:"
    r"|(?:,|(?<![A-Za-z])and)\s*(?!which|who|that)(?:[\w\-.’']{1,40}\s+){1,3}(?:is|are|was|were|has|have)(?![A-Za-z])"
    # an object relative clause ("the work that X has done") is about X, not me
    r"|(?<![A-Za-z])(?:that|which|whom)\s+(?:[\w\-.’']{1,40}\s+){1,3}(?:has|have|had|is|are|was|were|does|did|do|will|would|can|could)(?![A-Za-z])",
    re.IGNORECASE,
)
ZH_CUT = re.compile(
    r"而不是|不是|并非|而非|并不|不同于|区别于|不同|与|和|跟|同样|像|类似|如同|比如|比起|相比|关于|对于|或者|或|还是|但是|但|不过|然而|可是|如果|假如|因为|虽然|尽管|以及|"
    r"可以|能够|无法|不能|帮助|帮你|回答|使用|知道|了解|支持|提供|推荐|提到|讨论|介绍|解释|搜索|比较|谈论|所说|认为|相信|理解|想象|假装|扮演|数据|输出|"
    r"托管|部署|运行在|"
    r"，\s*(?:我|你|它|他|她|我们|他们)|[（(：:]|，[^，。！？；\n由]{1,20}?(?:是|为)(?!由)"
)
# Hypotheticals and other people's words right before "I am …" / "我是…":
# "if I were X", "people often think I'm X", "有人以为我是X", "如果我是X".
REPORTED_EN = re.compile(
    r"(?:(?<![A-Za-z])(?:if|whether|as\s+if|as\s+though|imagine|suppose|supposing|pretend|pretending|assume|assuming|unless)\s+"
    r"|(?<![A-Za-z])(?:people|users|some|someone|somebody|they|others|many|you|he|she|folks|critics|who)(?![A-Za-z])[^.!?\n]{0,25}?"
    r"(?:say|says|said|claim|claims|claimed|think|thinks|thought|believe|believes|believed|assume|assumes|assumed|mistake|mistakes|"
    r"mistakenly\s+\w{1,12}|guess|guessed|suspect|suspects|wonder|wonders|wondered|ask|asks|asked|asking)\s+(?:that\s+|if\s+|whether\s+)?)$",
    re.IGNORECASE,
)
REPORTED_ZH = re.compile(
    r"(?:如果|假如|假设|假装|要是|倘若|是否|以为|认为|觉得|误以为|误认为|怀疑|猜测|猜|问|(?<![我会])说|想象)$"
)
NEG_THEN_POS_EN = re.compile(
    r"(?<![A-Za-z])(?:but(?:\s+rather|\s+instead)?|rather|instead)(?![A-Za-z])\s*,?\s*(?:(?:I\s+am|I['’]m)\s+)?",
    re.IGNORECASE,
)
NEG_THEN_POS_ZH = re.compile(r"而是|而")

# Predicates after "I am" that are not identity statements.
NOT_IDENTITY_EN = re.compile(
    r"\s*(?:[a-z]+ing(?![A-Za-z])|fluent|proficient|good|very|so|too|quite|really|extremely|deeply|truly|proud|grateful|thankful|"
    r"honou?red|delighted|impressed|struck|surprised|amazed|concerned|worried|fascinated|inspired|moved|touched|born|raised|thrilled|"
    r"eager|keen|passionate|committed|dedicated|excited|fond|aware|reminded|tired|confused|hosted|deployed|served|available|accessible|integrated|offered|happy|glad|able|unable|sure|unsure|aware|unaware|familiar|sorry|afraid|here|going|trying|curious|excited|pleased|ready|willing|"
    r"capable|confident|uncertain|interested|allowed|unclear|certain|designed\s+to|programmed\s+to|built\s+to|trained\s+to|meant\s+to|"
    r"supposed\s+to|asked|told|instructed|playing|pretending|acting|role-?playing|imagining|speaking|answering|responding|writing|thinking|"
    r"comparing|talking|describing|referring|quoting|translating|continuing|staying|in\s+character|now|still)(?![A-Za-z])",
    re.IGNORECASE,
)
NOT_IDENTITY_ZH = re.compile(
    r"(?:想|会|能|可以|要|很|非常|觉得|认为|知道|不知道|无法|不能|不会|没有|没|刚|也想|将|来(?!自)|去|说|扮演|假装|给|对|把|为你|替|帮|明白|理解|只能|需要|应该|必须|愿意|希望|猜)"
)

# Role-play and persona attribution.
ROLEPLAY_CUES = re.compile(
    r"role-?play|in\s+character|stay\s+in\s+character|pretend|imagine\s+(?:you|that\s+you)|let['’]s\s+(?:play|write|imagine)|a\s+(?:short\s+)?(?:story|scene|script|dialogue|play)|"
    r"you\s+(?:are|play)\s+(?:a|an|the)\s+\w{1,40}|act\s+as|扮演|角色|故事|场景|剧本|对话|假装|想象你|假设你",
    re.IGNORECASE,
)
OUT_OF_CHARACTER = re.compile(
    r"out\s+of\s+character|\bOOC\b|stepping\s+out|breaking\s+character|in\s+reality|in\s+real\s+life|actually|honestly|truthfully|to\s+be\s+honest|"
    r"跳出角色|实际上|现实中|事实上|真实身份|说实话|其实",
    re.IGNORECASE,
)
PERSONA_MARKER = re.compile(
    r"(?<![A-Za-z])(?:in\s+(?:this|the|our|my)\s+(?:story|tale|scene|role-?play|game|play|script|scenario|fiction|skit)|in\s+character(?:\s+as)?|"
    r"playing\s+(?:the\s+role\s+of|as)|in\s+the\s+role\s+of|speaking\s+as|acting\s+as|pretending\s+to\s+be|as\s+the\s+character|my\s+character)(?![A-Za-z])"
    r"|(?:在|这个|本)(?:故事|剧本|场景|游戏|角色扮演)(?:里|中)|扮演|以[^，。！？\n]{1,12}的身份|作为(?:故事|剧)中的|角色中",
    re.IGNORECASE,
)
AS_NAME = re.compile(
    r"(?:^|(?<=[\s\"“(]))(?:[Aa]s|作为)\s*(?P<name>[A-Z][A-Za-z0-9_.\-]{0,40}(?:\s+[A-Z0-9][A-Za-z0-9_.\-]{0,40}){0,2}|[\u4e00-\u9fffA-Za-z0-9\-]{1,12})\s*[,，]"
)
SAYS = re.compile(
    r"(?P<who>[A-Z][A-Za-z0-9_.\-]{0,40}(?:\s+[A-Z][A-Za-z0-9_.\-]{0,40}){0,2}|the\s+\w{1,40})\s+(?:says?|said|would\s+say|replies|replied|answers|answered|responds|responded|exclaims|explained|explains)\s*[:,]"
    r"|(?P<whozh>[\u4e00-\u9fff]{1,6})(?:说|回答|答道|回应|表示)[：:]"
)
SELF_LABELS = {
    "i",
    "me",
    "assistant",
    "ai",
    "a",
    "answer",
    "response",
    "reply",
    "output",
    "my answer",
    "translation",
    "english",
    "chinese",
    "note",
    "notes",
    "summary",
    "q",
    "question",
    "user",
    "you",
    "example",
    "update",
    "edit",
    "disclaimer",
    "tl;dr",
    "tldr",
    "completion",
    "continuation",
    "result",
    "step",
    "first",
    "second",
    "third",
    "finally",
    "important",
    "warning",
    "tip",
    "我",
    "助手",
    "回答",
    "答",
    "答案",
    "翻译",
    "英文",
    "中文",
    "注意",
    "注",
    "总结",
    "问题",
    "问",
    "说明",
    "提示",
    "用户",
    "续写",
    "补全",
    "ai助手",
    "ai 助手",
    "智能助手",
    "人工智能助手",
    "chatbot",
    "bot",
    "assistant ai",
    "ai model",
    "model",
    "english translation",
    "chinese translation",
    "in english",
    "in chinese",
    "英文翻译",
    "中文翻译",
    "英文回答",
    "中文回答",
    "ai assistant",
}
LABEL_LINE = re.compile(
    r"^[ \t]*(?:[-*>][ \t]*)?(?:\*\*|__)?\[?(?P<label>[^\]\n:：*]{1,40}?)\]?(?:\*\*|__)?[ \t]*[:：](?:\*\*|__)?",
    re.MULTILINE,
)
QUOTES = [("\u201c", "\u201d"), ("\u300c", "\u300d"), ("\u300e", "\u300f"), ('"', '"')]
SELF_QUOTE_LEAD = re.compile(
    r"(?:I\s+(?:would\s+)?(?:say|said|answer|reply|respond)|I['’]d\s+(?:say|answer)|(?:my\s+)?answer(?:\s+is)?|A|Answer|Response|Reply|Translation|"
    r"我(?:会)?(?:说|回答)|回答|答|翻译|英文|中文|English|Chinese)\s*[:：,，]?\s*$",
    re.IGNORECASE,
)
FENCE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.DOTALL)
# Creative-writing requests: a first-person narrator is a character, so only
# claims naming a specific model or vendor count there (vague ones do not).
CREATIVE_CUES = re.compile(
    r"(?<![A-Za-z])(?:write|compose|draft|rewrite|song|poem|story|stories|letter|essay|speech|lyrics|diary|monologue|anecdote|narrative|"
    r"verse|script|character|fiction|novel|role-?play|pretend|imagine)(?![A-Za-z])|写|编|故事|诗|歌|信|作文|小说|剧本|扮演|假装|想象",
    re.IGNORECASE,
)
DEVELOPER_CONTEXT = re.compile(
    r"(?<![A-Za-z])(?:developed|created|built|made|trained|designed|engineered|produced|founded|based|headquartered|company|firm|lab|labs|"
    r"laboratory|team|startup|organi[sz]ation|corporation|institute|developers?|creators?|engineers?|researchers?)(?![A-Za-z])"
    r"|开发|研发|训练|打造|公司|团队|机构|制造|创造|创建|设计|出品|推出",
    re.IGNORECASE,
)

NAME_CLAIM_EN = re.compile(r"\s*(?P<name>[A-Z][A-Za-z0-9\-]{1,30}(?:\s+[A-Z][A-Za-z0-9\-]{1,30})?)")
GENERIC_NAMES = {
    "assistant",
    "ai",
    "an",
    "a",
    "the",
    "ai assistant",
    "bot",
    "chatbot",
    "model",
    "language model",
    "virtual assistant",
    "helper",
    "i",
    "not",
    "just",
    "no",
    "here",
    "your",
    "unknown",
    "anonymous",
    "none",
    "nobody",
}


# Prompts that ask to translate, quote or repeat: a response that is one quote is then not the responder's own words.
ASKS_TO_REPEAT = re.compile(r"translat|quote|repeat|say\b|echo|recite|翻译|引用|重复|照着说|说一遍|复述", re.IGNORECASE)
