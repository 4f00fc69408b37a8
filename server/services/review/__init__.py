"""The supervisors' review: the queue of what awaits a decision (queue), the evidence shown
with each entry (evidence), what a correction changed (changes), the decisions on inspections
(decisions) and what a returned inspection still awaits from its inspector (awaiting)."""
