"""Figures of supervision: what each hazard and inspection adds (contribution), the cells that
keep them precomputed (cells), the figures a reader asks for (figures), and the enterprises'
monthly self-inspection reports with the jurisdiction's monthly ledger (monthly, ledger).
The change feed keeps the cells current (sync.figures)."""
