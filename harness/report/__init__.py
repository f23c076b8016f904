"""From records to evidence: statistics, tables, the regression gate and plots."""
