#!/usr/bin/env python3
"""Derives the demo data set from Debian's fortune files (package `fortunes`,
BSD licence, see LICENSE beside this script).

    apt-get install fortunes && python3 data/fortunes/derive.py > data/fortunes/fortunes.json

Each fortune of the chosen categories becomes one document:
{"id": "<category>-<n>", "category": ..., "text": ..., "lines": ..., "words": ..., "length": "short|medium|long"}.
"""
import json
import re
import sys

SOURCE = "/usr/share/games/fortunes"
CATEGORIES = ["computers", "science", "literature", "food", "humorists", "wisdom", "work", "education", "art"]
PER_CATEGORY = 400


def fortunes(category):
    with open(f"{SOURCE}/{category}", encoding="utf-8", errors="replace") as f:
        chunk = []
        for line in f:
            if line.rstrip("\n") == "%":
                if chunk:
                    yield "".join(chunk).strip()
                chunk = []
            else:
                chunk.append(line)
        if chunk:
            yield "".join(chunk).strip()


def main():
    docs = []
    for cat in CATEGORIES:
        for n, text in enumerate(fortunes(cat)):
            if n >= PER_CATEGORY:
                break
            text = re.sub(r"[ \t]+", " ", text)
            words = len(text.split())
            length = "short" if words < 20 else "medium" if words < 60 else "long"
            docs.append({"id": f"{cat}-{n}", "category": cat, "text": text,
                         "lines": text.count("\n") + 1, "words": words, "length": length})
    json.dump(docs, sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
