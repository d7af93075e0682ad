"""``python -m lexprep_prefect.blocks``: register lexprep's block types with the Prefect API in PREFECT_API_URL."""

from lexprep_prefect.blocks import register_all

for slug in register_all():
    print(f"registered block type {slug}")
