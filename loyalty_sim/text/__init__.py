"""Every sentence and table of text a reader sees, written with one number formatter.

Modules
-------
format
    The one formatter: numbers, percents, percentage points, money, p-values,
    intervals and "n/a (reason)".
trial
    The design and review summaries of a pilot, its effects table and checks table.
"""
