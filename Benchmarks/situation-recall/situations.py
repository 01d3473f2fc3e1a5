"""A seeded generator of TradingAgents-shaped situations: four long markdown reports (market,
sentiment, news, fundamentals) joined by blank lines, rendered from a latent state, in English or
Chinese, with varied wording and the boilerplate real reports carry (indicator definitions, macro
filler, method notes), 10-20 kB each.

A state is (trend, sentiment, news event, valuation). Two renderings of one state share sentences
only by chance (each takes two of the state's paraphrases per report and its own boilerplate), as
two days with the same situation would; every rendering shares most of its bytes with every other
rendering of its language (the boilerplate), which is what defeats a plain mean of vectors.
"""

import random

TRENDS = ["up", "down", "sideways"]
SENTIMENTS = ["bullish", "bearish", "neutral"]
EVENTS = ["earnings_beat", "earnings_miss", "regulatory_probe", "export_restrictions", "product_launch", "ceo_departure",
          "acquisition", "supply_disruption"]
VALUATIONS = ["cheap", "fair", "rich"]

EN = {
    "trend": {
        "up": ["Price is making higher highs and higher lows, holding above a rising 50-day SMA.",
               "The uptrend is intact: the 10-day EMA sits above the 50-day SMA and both slope upward.",
               "Momentum is positive, MACD is above its signal line and the histogram keeps expanding.",
               "Buyers defended every pullback this month and the stock closed near its highs."],
        "down": ["Price is making lower highs and lower lows, trading below a falling 50-day SMA.",
                 "The downtrend continues: the 10-day EMA crossed below the 50-day SMA and both point lower.",
                 "Momentum is negative, MACD is below its signal line and the histogram keeps deepening.",
                 "Sellers capped every rebound this month and the stock closed near its lows."],
        "sideways": ["Price is range-bound between support and resistance with a flat 50-day SMA.",
                     "No trend: the 10-day EMA and the 50-day SMA are intertwined and flat.",
                     "Momentum is neutral, MACD hovers around zero and the histogram is small.",
                     "The stock chopped in a narrow band all month with falling volume."],
    },
    "sentiment": {
        "bullish": ["Social media chatter is overwhelmingly positive and retail traders are piling in.",
                    "Reddit and X posts are enthusiastic; the bull-bear ratio of posts is at a yearly high.",
                    "Analyst tone improved and several upgrades lifted the mood of investors."],
        "bearish": ["Social media chatter is overwhelmingly negative and retail traders are selling.",
                    "Reddit and X posts are fearful; the bear share of posts is at a yearly high.",
                    "Analyst tone soured and several downgrades weighed on the mood of investors."],
        "neutral": ["Social media chatter is mixed with no clear direction among retail traders.",
                    "Reddit and X posts are balanced; neither bulls nor bears dominate the discussion.",
                    "Analyst tone is unchanged and investor mood is cautious but calm."],
    },
    "event": {
        "earnings_beat": ["The company beat quarterly earnings expectations and raised full-year guidance.",
                          "Quarterly EPS came in well above consensus and management lifted its outlook.",
                          "Results topped estimates on revenue and margin, and guidance was raised."],
        "earnings_miss": ["The company missed quarterly earnings expectations and cut full-year guidance.",
                          "Quarterly EPS fell short of consensus and management lowered its outlook.",
                          "Results disappointed on revenue and margin, and guidance was reduced."],
        "regulatory_probe": ["Regulators opened an antitrust investigation into the company's business practices.",
                             "A government probe into the firm's conduct was announced, with subpoenas issued.",
                             "The company disclosed a regulatory inquiry that could lead to fines."],
        "export_restrictions": ["New export restrictions limit the company's sales of advanced chips to China.",
                                "The government tightened export controls, cutting off a large overseas market.",
                                "Export licences for key products were revoked under new trade rules."],
        "product_launch": ["The company launched a new flagship product that reviewers praised.",
                           "A much-anticipated product unveiling drew strong preorders.",
                           "The new product line launched on schedule with enthusiastic early demand."],
        "ceo_departure": ["The chief executive resigned unexpectedly and an interim CEO was named.",
                          "The CEO stepped down abruptly, leaving a leadership vacuum.",
                          "Management turmoil: the chief executive left and the search for a successor began."],
        "acquisition": ["The company agreed to acquire a rival in a large all-cash deal.",
                        "A takeover of a competitor was announced at a sizeable premium.",
                        "Management announced a merger that would expand the company's market share."],
        "supply_disruption": ["A fire at a key supplier disrupted production and delayed shipments.",
                              "Supply chain bottlenecks halted an assembly line for two weeks.",
                              "Component shortages forced the company to cut its production schedule."],
    },
    "valuation": {
        "cheap": ["The stock trades at a discount to peers on P/E and EV/EBITDA, near a ten-year low multiple.",
                  "Valuation looks undemanding: the forward P/E is well below the sector average.",
                  "On free-cash-flow yield the shares are inexpensive compared with history."],
        "fair": ["The stock trades in line with peers on P/E and EV/EBITDA.",
                 "Valuation is reasonable: the forward P/E matches the sector average.",
                 "On free-cash-flow yield the shares are priced close to their historical average."],
        "rich": ["The stock trades at a steep premium to peers on P/E and EV/EBITDA, near a record multiple.",
                 "Valuation looks stretched: the forward P/E is far above the sector average.",
                 "On free-cash-flow yield the shares are expensive compared with history."],
    },
    "boilerplate": [
        "The Relative Strength Index (RSI) measures the speed and change of price movements on a scale of 0 to 100; readings above 70 suggest overbought conditions and readings below 30 oversold ones.",
        "The Moving Average Convergence Divergence (MACD) is the difference between the 12-day and 26-day exponential moving averages, with a 9-day signal line.",
        "Bollinger Bands place bands two standard deviations above and below a 20-day moving average; touches of the bands indicate stretched prices.",
        "The 50-day simple moving average (SMA) smooths price over ten weeks and is widely watched as medium-term trend support or resistance.",
        "The Average True Range (ATR) measures volatility as the average of true ranges over fourteen days.",
        "Volume-weighted average price (VWAP) is the average price weighted by volume and is used as an intraday benchmark.",
        "Macro backdrop: inflation data came in close to expectations and the central bank kept policy rates unchanged.",
        "Global markets were mixed as investors weighed growth data against the path of interest rates.",
        "Treasury yields moved within a narrow range and the dollar was little changed against major currencies.",
        "Oil prices fluctuated on supply headlines while gold held near recent levels.",
        "Methodology: posts from Reddit, X and StockTwits were collected over the past week and classified by a sentiment model.",
        "Fundamental metrics are taken from the latest quarterly filing; P/E is price over trailing twelve-month earnings and EV/EBITDA is enterprise value over EBITDA.",
        "Return on equity, gross margin and free cash flow are compared with the company's five-year history and with sector peers.",
        "This report is not investment advice; figures are as of the last close and may be revised.",
    ],
    "titles": ["## Market Analysis", "## Social Media and Sentiment", "## News and Macro", "## Fundamentals"],
}

ZH = {
    "trend": {
        "up": ["股价不断创出新高，低点也逐步抬高，站稳在上行的50日均线之上。",
               "上升趋势完好：10日指数均线位于50日均线上方，两者均向上倾斜。",
               "动能偏强，MACD位于信号线上方，柱状图持续放大。",
               "本月每次回调都有买盘承接，收盘接近高位。"],
        "down": ["股价高点不断降低，低点也持续下移，运行在下行的50日均线之下。",
                 "下跌趋势延续：10日指数均线下穿50日均线，两者均向下。",
                 "动能偏弱，MACD位于信号线下方，柱状图持续加深。",
                 "本月每次反弹都遭遇抛压，收盘接近低位。"],
        "sideways": ["股价在支撑位与阻力位之间区间震荡，50日均线走平。",
                     "没有明显趋势：10日指数均线与50日均线相互缠绕且走平。",
                     "动能中性，MACD在零轴附近徘徊，柱状图很小。",
                     "本月股价在窄幅区间内反复震荡，成交量萎缩。"],
    },
    "sentiment": {
        "bullish": ["社交媒体讨论压倒性乐观，散户投资者纷纷入场。",
                    "雪球和股吧的帖子情绪高涨，看多帖子比例创年内新高。",
                    "分析师语气转好，多家机构上调评级，投资者情绪改善。"],
        "bearish": ["社交媒体讨论压倒性悲观，散户投资者纷纷抛售。",
                    "雪球和股吧的帖子充满恐慌，看空帖子比例创年内新高。",
                    "分析师语气转差，多家机构下调评级，打压投资者情绪。"],
        "neutral": ["社交媒体讨论多空交织，散户投资者没有明确方向。",
                    "雪球和股吧的帖子观点平衡，多空双方都不占优。",
                    "分析师语气没有变化，投资者情绪谨慎但平静。"],
    },
    "event": {
        "earnings_beat": ["公司季度业绩超出市场预期，并上调全年业绩指引。",
                          "季度每股收益大幅高于一致预期，管理层上调展望。",
                          "营收和利润率均好于预期，业绩指引获得上调。"],
        "earnings_miss": ["公司季度业绩不及市场预期，并下调全年业绩指引。",
                          "季度每股收益低于一致预期，管理层下调展望。",
                          "营收和利润率均令人失望，业绩指引被下调。"],
        "regulatory_probe": ["监管部门对公司的经营行为展开反垄断调查。",
                             "政府宣布对公司的经营活动进行调查，并发出调查函。",
                             "公司披露正在接受监管问询，可能面临罚款。"],
        "export_restrictions": ["新的出口管制限制了公司向海外销售先进芯片。",
                                "政府收紧出口管制，切断了一个重要的海外市场。",
                                "在新的贸易规则下，关键产品的出口许可被撤销。"],
        "product_launch": ["公司发布了新的旗舰产品，获得评测一致好评。",
                           "备受期待的新品发布会吸引了大量预订。",
                           "新产品线如期上市，早期需求旺盛。"],
        "ceo_departure": ["首席执行官意外辞职，公司任命了临时首席执行官。",
                          "总裁突然卸任，公司管理层出现真空。",
                          "管理层动荡：首席执行官离职，公司开始寻找继任者。"],
        "acquisition": ["公司同意以全现金方式收购一家竞争对手。",
                        "公司宣布以较高溢价收购一家同行。",
                        "管理层宣布一项并购，将扩大公司的市场份额。"],
        "supply_disruption": ["一家关键供应商发生火灾，导致生产中断、发货延迟。",
                              "供应链瓶颈使一条装配线停产两周。",
                              "零部件短缺迫使公司削减生产计划。"],
    },
    "valuation": {
        "cheap": ["股票的市盈率和企业价值倍数低于同行，接近十年来的低位。",
                  "估值并不苛刻：预期市盈率远低于行业平均水平。",
                  "按自由现金流收益率计算，股价相对历史水平便宜。"],
        "fair": ["股票的市盈率和企业价值倍数与同行基本一致。",
                 "估值合理：预期市盈率与行业平均水平相当。",
                 "按自由现金流收益率计算，股价接近历史平均水平。"],
        "rich": ["股票的市盈率和企业价值倍数远高于同行，接近历史最高。",
                 "估值偏高：预期市盈率远高于行业平均水平。",
                 "按自由现金流收益率计算，股价相对历史水平昂贵。"],
    },
    "boilerplate": [
        "相对强弱指数（RSI）衡量价格变动的速度和幅度，取值范围为0到100；高于70表示超买，低于30表示超卖。",
        "指数平滑异同移动平均线（MACD）是12日与26日指数移动平均线之差，并配有9日信号线。",
        "布林带在20日移动平均线上下各两个标准差处设置通道，触及通道表示价格偏离。",
        "50日简单移动平均线反映中期趋势，常被视为支撑或阻力。",
        "平均真实波幅（ATR）以十四日真实波幅的平均值衡量波动性。",
        "宏观背景：通胀数据基本符合预期，央行维持政策利率不变。",
        "全球市场涨跌互现，投资者在增长数据与利率路径之间权衡。",
        "国债收益率窄幅波动，人民币兑美元汇率基本稳定。",
        "方法说明：过去一周从雪球、股吧和微博收集帖子，并用情绪模型进行分类。",
        "基本面数据取自最新季报；市盈率为股价除以过去十二个月每股收益。",
        "净资产收益率、毛利率和自由现金流与公司五年历史及行业同行进行比较。",
        "本报告不构成投资建议；数据截至上一交易日收盘，可能会有修订。",
    ],
    "titles": ["## 市场分析", "## 社交媒体与情绪", "## 新闻与宏观", "## 基本面"],
}

TICKERS_EN = ["NVDA", "AAPL", "MSFT", "BRK.B", "TSLA", "AMD"]
TICKERS_ZH = ["600519.SH", "000858.SZ", "300750.SZ", "601318.SH"]


def render(state, language, rng, target_bytes=None):
    """One situation of `state` = (trend, sentiment, event, valuation): four reports joined by blank lines."""
    pools = EN if language == "en" else ZH
    trend, sentiment, event, valuation = state
    target = target_bytes or rng.randint(10_000, 20_000)
    parts = [("trend", trend), ("sentiment", sentiment), ("event", event), ("valuation", valuation)]
    reports = [[pools["titles"][i]] for i in range(4)]
    for i, (kind, value) in enumerate(parts):
        sentences = rng.sample(pools[kind][value], k=min(2, len(pools[kind][value])))
        reports[i].append(" ".join(sentences))
        reports[i].append("| Indicator | Value |\n|---|---|\n| RSI | %d |\n| MACD | %.2f |\n| P/E | %.1f |" % (
            rng.randint(20, 80), rng.uniform(-3, 3), rng.uniform(8, 60)))
    # Boilerplate until the target size, spread over the reports.
    while sum(len("\n\n".join(r).encode()) for r in reports) < target:
        reports[rng.randrange(4)].insert(1 + rng.randrange(2), rng.choice(pools["boilerplate"]))
    return "\n\n".join("\n\n".join(report) for report in reports)


def corpus(seed=7, states=96, per_state=(("en", 2), ("zh", 1)), queries=48):
    """(memories, queries): memories are dicts with state, language, ticker, text; queries are fresh
    renderings of states that have memories, two thirds English and one third Chinese."""
    rng = random.Random(seed)
    all_states = [(t, s, e, v) for t in TRENDS for s in SENTIMENTS for e in EVENTS for v in VALUATIONS]
    chosen = rng.sample(all_states, states)
    memories = []
    for state in chosen:
        for language, count in per_state:
            for _ in range(count):
                ticker = rng.choice(TICKERS_EN if language == "en" else TICKERS_ZH)
                memories.append({"state": state, "language": language, "ticker": ticker, "text": render(state, language, rng)})
    rng.shuffle(memories)
    asked = []
    for i, state in enumerate(rng.sample(chosen, queries)):
        language = "zh" if i % 3 == 2 else "en"
        asked.append({"state": state, "language": language, "text": render(state, language, rng)})
    return memories, asked
