"""The kinds of values the key pickler tells apart, and the tags of their canonical forms."""

from __future__ import annotations

# Tags of the canonical forms, written as persistent ids: a persistent id has its own
# opcode, so no ordinary value pickles the same as one of these. (The kinds below tag
# their own forms too; all these numbers differ.)
FRAME, SERIES, INDEX, RANGE_INDEX = range(20, 24)
REF, REDUCE, FUNCTION, CLASS, STRINGS = range(30, 35)

# What the pickler does with each type. Below TRACKED, objects that cannot change:
# never tracked by identity. From TRACKED on, objects tracked by identity.
PLAIN, IMMUTABLE = 0, 1  # pickled as pickle would
FROZEN, FROZENSET, NUMPY_DTYPE, PANDAS_DTYPE = 2, 3, 4, 5  # canonical forms of values
TRACKED = 10
MUTABLE, DICT, SET, DICT_SUBCLASS, SET_SUBCLASS, ARRAY, PANDAS = range(TRACKED, TRACKED + 7)
