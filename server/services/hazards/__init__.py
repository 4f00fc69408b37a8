"""Hazards and rectification (docs/domain.md): `states` (the lifecycle as data), `register` (hazards
from inspections, by hand and self-reported; repeats), `lifecycle` (reading hazards, taking
transitions, photo links); orders to rectify: `issuing` (issuing bodies), `numbering` (gapless
numbers per body and year), `orders` (request, numbering and rendering jobs), `order_text` and
`order_document` (the wording as data, the PDF's content), `service` (送达, deadlines from it),
`field_record` (现场检查记录)."""
