#!/usr/bin/env python3
"""Prints the README's quick start for one language: the fenced block
between <!-- quickstart:LANG --> and <!-- /quickstart:LANG -->, so the tests
run (or check) exactly what the README shows.

    bindings/snippet.py kotlin|swift|python [README.md]
"""
import pathlib
import re
import sys

language = sys.argv[1]
readme = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else pathlib.Path(__file__).parents[1] / "README.md")
text = readme.read_text(encoding="utf-8")
match = re.search(
    rf"<!-- quickstart:{language} -->\n```{language}\n(.*?)```\n<!-- /quickstart:{language} -->",
    text, re.S)
if not match:
    sys.exit(f"no {language} quick start in {readme}")
sys.stdout.write(match.group(1))
