"""Figures only: every function takes computed results and returns matplotlib Axes.

Nothing here simulates or estimates; the modules mirror the concepts they draw
(``comparison``, ``economics``, ``schemes``, ``fit``).
"""
