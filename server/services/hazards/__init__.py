"""Hazards and rectification (issue 11): `states` (the lifecycle as data), `register` (hazards
from inspections, by hand and self-reported; repeats), `lifecycle` (reading hazards, taking
transitions, photo links)."""
