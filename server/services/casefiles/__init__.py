"""Case files for an auditor: an inspection or a hazard as one PDF (answers, photos with their
watermark data, decisions, orders, re-inspection, and the audit events with their chain
position and the verifier's result on their range).

Modules: `evidence` (the photos an object names, as the reader may see them), `names` (people
and enterprises by id), `trail` (the object's audit events and the check of their range),
`hazard_file` and `inspection_file` (the two documents), `wording` (their words, from
data/casefile.yaml). Read by admins and by the supervisors of the object's jurisdiction.
"""
