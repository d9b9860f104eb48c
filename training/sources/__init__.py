"""Real text by reference: the catalogue of sources, their extraction recipes, and the rebuild.

No third-party sentence is stored in this repository. Each real sentence is a pointer row
(source repository, pinned commit, path, record, character offsets into the extracted document
text, sha256 of the sentence) plus our label; ``python -m training.sources.rebuild`` turns the
pointer files back into labelled text from local clones of the sources.
"""
