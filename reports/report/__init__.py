"""The energy report rendered: tables, plots, Markdown, HTML, JSON and CSV, written atomically."""
