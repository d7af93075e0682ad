"""lexprep's Prefect layer: flows (composition), tasks (thin wrappers), blocks, deployment helpers.

One namespaced package beside the Prefect-free core ``lexprep``: an installed wheel puts a single
``lexprep_prefect`` into site-packages instead of top-level ``flows``/``tasks``/``blocks``/
``deployments`` packages that would collide with other projects' (and each other's) names.
prefect.yaml's entrypoints are files in this package (``lexprep_prefect/flows/process_matter.py``),
so a worker that clones the repository runs the cloned code.
"""
