"""Responses: the append-only response store, importers of public outputs, and the one input loader every command uses."""

from .importers import (
    ImportedResponse,
    ImportReport,
    PromptIndex,
    detect_kind,
    import_alpaca_eval,
    import_arena_hard,
    import_mt_bench,
    import_responses,
    import_table,
    normalize_prompt,
    text_id,
)
from .loader import is_store, load_inputs
from .store import (
    ResponseStore,
    StoreLockedError,
    check_store_file,
    latest_records,
    make_record,
    read_records,
    repair_store,
)
from .table import ResponseTable, load_table

__all__ = [
    "ImportReport",
    "ImportedResponse",
    "PromptIndex",
    "ResponseStore",
    "ResponseTable",
    "StoreLockedError",
    "detect_kind",
    "import_alpaca_eval",
    "import_arena_hard",
    "import_mt_bench",
    "import_responses",
    "import_table",
    "is_store",
    "latest_records",
    "load_inputs",
    "load_table",
    "make_record",
    "normalize_prompt",
    "read_records",
    "repair_store",
    "check_store_file",
    "text_id",
]
