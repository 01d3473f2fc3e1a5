"""Text for an agent's prompt made from what the engine returns."""


def _percent(value):
    return "%+.1f%%" % (100.0 * value)


def _group_line(group, label):
    outcome = group["outcome"]
    line = "- %s: %d case%s, up %.0f%% of the time, mean %s, median %s (10th to 90th percentile %s to %s)" % (
        label, outcome["count"], "" if outcome["count"] == 1 else "s", 100.0 * outcome["hit_rate"], _percent(outcome["mean"]),
        _percent(outcome["median"]), _percent(outcome["p10"]), _percent(outcome["p90"]))
    alpha = group.get("alpha")
    if alpha and alpha.get("count"):
        line += "; alpha mean %s, beat the benchmark %.0f%% of the time" % (_percent(alpha["mean"]), 100.0 * alpha["hit_rate"])
    return line


def format_analogues(statistics, as_of=None):
    """Analogue statistics (``FinancialSituationMemory.get_analogues``) as lines for a prompt: the
    base rate over all the analogues, then per action taken, outcomes as percentages. Says so when
    there are none, so that an agent is not led to read silence as evidence."""
    when = " known by %s" % as_of if as_of else ""
    if not statistics or not statistics.get("count"):
        return "Base rate: no resolved situation like this one%s yet." % when
    weighted = ", weighted by similarity" if statistics.get("weighted") else ""
    lines = ["Base rate over the %d most similar past situations%s with known outcomes%s:" % (statistics["count"], when, weighted)]
    if statistics.get("all"):
        lines.append(_group_line(statistics["all"], "all"))
    for group in statistics.get("by_action", []):
        lines.append(_group_line(group, "after %s" % (group.get("action") or "no recorded action")))
    return "\n".join(lines)
