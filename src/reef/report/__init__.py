"""Offline reports: charts and the pages that show them.

``charts`` holds the chart specs (frozen dataclasses saying what to draw) and the pure helpers
both renderers share; ``svg.render_svg`` draws a spec as a standalone SVG string with no
dependencies, for HTML pages; ``figures.render_figure`` draws the same spec with matplotlib as a
PNG, SVG or PDF file for papers (the ``report`` extra). ``errors.ReportError`` is what they raise.

Nothing is imported here, so that ``import reef.report.svg`` stays cheap.
"""
