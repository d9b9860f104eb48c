"""The distillation teacher: its inputs, its run on an accelerator, and the files it leaves.

``export`` writes the labelled and unlabelled sentences (outside the repository), ``pack``
sends the teacher's weights in int8 chunks, ``run`` trains the teacher in folds and compares
students, ``collect`` writes data/teacher/mpnet-logits.jsonl and data/real/distil.pointers.jsonl.
"""
