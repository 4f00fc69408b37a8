"""Confined spaces, scan before work (先扫码、后作业): the ledger, QR labels and the entry rules."""
