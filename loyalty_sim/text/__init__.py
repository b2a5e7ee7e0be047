"""Every sentence and table of text a reader sees, written with one number formatter.

Modules
-------
format
    The one formatter: numbers, percents, percentage points, money (with a currency),
    ROI in words, p-values, intervals and "n/a (reason)".
tables
    Formatted HTML tables for reports (readable headers, no index, numbers right-aligned).
schemes
    Every scheme described in one plain sentence from its configuration.
next_step
    The "What next" section: the recommended pilot and its command.
suggest
    "Did you mean ...?" for a mistyped name.
comparison
    A comparison's verdicts, headline, summary table, console text and report sentences.
retention_value
    The retention -> profit calculator's answer, sensitivity sentence and headline.
simulation
    The console tables of ``loyalty-sim simulate``.
fit
    The console report of ``loyalty-sim fit``.
trial
    The design and review summaries of a pilot, its effects table and checks table.
escape
    User text made safe wherever it lands: Markdown, HTML and figure labels.

Text modules read results and compute nothing; they import nothing from the
computation except :func:`loyalty_sim.retention_value.sensitivity_counts`.
"""
