"""Reports: the tables of mission.md and charts, as Markdown, HTML and PNG/SVG.

:mod:`rigfit.report.document` holds the neutral structures (``Table``, ``Chart``, ``Report``) and
writes them; :mod:`rigfit.report.charts` draws with matplotlib (optional ``report`` extra);
:mod:`rigfit.report.build` fills a report for a machine from the planner and speed model.
"""
