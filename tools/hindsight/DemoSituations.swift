import VectorIndex

/// The demo's situations, shaped like TradingAgents': four markdown reports (market, sentiment,
/// news, fundamentals) joined by blank lines, with the boilerplate real reports carry, in English
/// for US tickers and in Chinese for A-shares. A day's situation is drawn from a trend and a news
/// event; what tells two days apart is one sentence of the market report and one of the news.
enum DemoSituations {
    static let events = ["earnings", "export", "probe", "launch", "buyback", "supply"]

    private static let english: [String: String] = [
        "up": "Price is making higher highs and higher lows above a rising 50-day SMA; MACD is above its signal line.",
        "down": "Price is making lower highs and lower lows below a falling 50-day SMA; MACD is below its signal line.",
        "earnings": "The company beat quarterly earnings expectations and raised full-year guidance.",
        "export": "New export restrictions limit the company's sales of advanced chips abroad.",
        "probe": "Regulators opened an antitrust investigation into the company's business practices.",
        "launch": "The company launched a new flagship product with strong preorders.",
        "buyback": "The board approved a large share buyback and raised the dividend.",
        "supply": "A fire at a key supplier disrupted production and delayed shipments.",
    ]
    private static let chinese: [String: String] = [
        "up": "股价不断创出新高，低点逐步抬高，站稳在上行的50日均线之上；MACD位于信号线上方。",
        "down": "股价高点不断降低，低点持续下移，运行在下行的50日均线之下；MACD位于信号线下方。",
        "earnings": "公司季度业绩超出市场预期，并上调全年业绩指引。",
        "export": "新的出口管制限制了公司产品的海外销售。",
        "probe": "监管部门对公司的经营行为展开反垄断调查。",
        "launch": "公司发布了新的旗舰产品，预订火爆。",
        "buyback": "董事会批准大规模股份回购并提高分红。",
        "supply": "一家关键供应商发生火灾，导致生产中断、发货延迟。",
    ]
    private static let englishBoilerplate = [
        "The Relative Strength Index (RSI) measures the speed and change of price movements; readings above 70 suggest overbought conditions.",
        "Bollinger Bands place bands two standard deviations around a 20-day moving average.",
        "Social media posts from Reddit and X were collected over the past week and classified by a sentiment model; the tone is mixed.",
        "Macro backdrop: inflation data came in close to expectations and the central bank kept rates unchanged.",
        "P/E is price over trailing twelve-month earnings; the stock trades in line with its sector on P/E and EV/EBITDA.",
    ]
    private static let chineseBoilerplate = [
        "相对强弱指数（RSI）衡量价格变动的速度和幅度，高于70表示超买。",
        "布林带在20日移动平均线上下各两个标准差处设置通道。",
        "过去一周从雪球和股吧收集帖子并用情绪模型分类，情绪多空交织。",
        "宏观背景：通胀数据基本符合预期，央行维持利率不变。",
        "市盈率为股价除以过去十二个月每股收益；估值与行业基本一致。",
    ]

    static func isChinese(_ ticker: String) -> Bool { ticker.hasSuffix(".SH") || ticker.hasSuffix(".SZ") }

    /// The situation of `ticker` with this trend ("up" or "down") and news event.
    static func situation(ticker: String, trend: String, event: String, rng: inout SplitMix64) -> String {
        let zh = isChinese(ticker)
        let sentences = zh ? chinese : english
        let boilerplate = zh ? chineseBoilerplate : englishBoilerplate
        func filler(_ count: Int) -> String {
            (0..<count).map { _ in boilerplate[Int(rng.next() % UInt64(boilerplate.count))] }.joined(separator: "\n\n")
        }
        let titles = zh ? ["## \(ticker) 市场分析", "## 社交媒体与情绪", "## 新闻与宏观", "## 基本面"]
            : ["## Market Analysis for \(ticker)", "## Social Media and Sentiment", "## News and Macro", "## Fundamentals"]
        return [
            "\(titles[0])\n\n\(filler(2))\n\n\(sentences[trend]!)\n\n| Indicator | Value |\n|---|---|\n| RSI | \(30 + rng.next() % 40) |",
            "\(titles[1])\n\n\(filler(1))",
            "\(titles[2])\n\n\(filler(1))\n\n\(sentences[event]!)",
            "\(titles[3])\n\n\(filler(1))",
        ].joined(separator: "\n\n")
    }
}
