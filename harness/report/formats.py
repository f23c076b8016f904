"""The table formats, apart from the table code (the CLI offers them without importing scipy)."""

FORMATS = ("markdown", "latex", "csv", "json", "baseline")
