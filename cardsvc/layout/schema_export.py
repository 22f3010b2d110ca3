"""Export the layout JSON Schema: `python -m cardsvc.layout.schema_export layouts/schema.json`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cardsvc.layout.schema import Layout


def schema_json() -> str:
    schema = Layout.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Residence-permit card layout"
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m cardsvc.layout.schema_export OUTPUT.json", file=sys.stderr)
        return 2
    Path(args[0]).write_text(schema_json(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
