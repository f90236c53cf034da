#!/usr/bin/env python3
"""Rebuilds this test subset of the OHDSI Eunomia CDM from the full CSV export.

Usage: python3 trim.py /work/shared/data/omop-eunomia/csv

Kept whole (small): person, observation_period, visit_occurrence, observation, death, concept.
Trimmed (to keep the repository light), rows copied byte-for-byte:
  concept_ancestor      rows whose descendant is in concept.csv and whose ancestor is in
                        concept.csv or is the NSAIDs class 21603933
  drug_exposure         rows whose drug is a descendant of NSAIDs (21603933): celecoxib,
                        diclofenac and the other NSAIDs of Eunomia
  condition_occurrence  rows for osteoarthritis (80180) and gastrointestinal hemorrhage (192671)
  measurement,
  procedure_occurrence  rows of persons with person_id <= 100
Standard library only; not used by the tests themselves.
"""
import csv
import os
import shutil
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/omop-eunomia/csv"
DST = os.path.dirname(os.path.abspath(__file__))
NSAIDS = 21603933
CONDITIONS = {80180, 192671}


def as_int(text):
    return int(float(text))


def copy_filtered(name, keep):
    """Copies header and the lines whose parsed row satisfies keep(row)."""
    with open(os.path.join(SRC, name), newline="") as f_in:
        lines = f_in.read().splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    out = [lines[0]]
    for line, row in zip(lines[1:], csv.reader(lines[1:])):
        if keep(dict(zip(header, row))):
            out.append(line)
    with open(os.path.join(DST, name), "w", newline="") as f_out:
        f_out.writelines(out)
    return len(out) - 1


for name in ["person.csv", "observation_period.csv", "visit_occurrence.csv",
             "observation.csv", "death.csv", "concept.csv"]:
    shutil.copyfile(os.path.join(SRC, name), os.path.join(DST, name))

with open(os.path.join(SRC, "concept.csv"), newline="") as f:
    concepts = {as_int(r["CONCEPT_ID"]) for r in csv.DictReader(f)}
with open(os.path.join(SRC, "concept_ancestor.csv"), newline="") as f:
    nsaids = {as_int(r["DESCENDANT_CONCEPT_ID"]) for r in csv.DictReader(f)
              if as_int(r["ANCESTOR_CONCEPT_ID"]) == NSAIDS}

print("concept_ancestor", copy_filtered(
    "concept_ancestor.csv",
    lambda r: as_int(r["DESCENDANT_CONCEPT_ID"]) in concepts
    and (as_int(r["ANCESTOR_CONCEPT_ID"]) in concepts or as_int(r["ANCESTOR_CONCEPT_ID"]) == NSAIDS)))
print("drug_exposure", copy_filtered(
    "drug_exposure.csv", lambda r: as_int(r["DRUG_CONCEPT_ID"]) in nsaids))
print("condition_occurrence", copy_filtered(
    "condition_occurrence.csv", lambda r: as_int(r["CONDITION_CONCEPT_ID"]) in CONDITIONS))
for name in ["measurement.csv", "procedure_occurrence.csv"]:
    print(name, copy_filtered(name, lambda r: as_int(r["PERSON_ID"]) <= 100))
