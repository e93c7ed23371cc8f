"""A case's timeline, read from its Temporal workflow history (or the history in its archive).

- `reader.py`: what each history event holds (`HistoryReader`);
- `assemble.py`: the entries, and the clocks each one set, moved or closed;
- `build.py`: `build_timeline`, the timeline of one run or of every run of a chain;
- `service.py`: the timeline for a caller, from Temporal or the archive (`case_timeline`,
  `archived_timeline`); `queries.py`: its SQL;
- `page.py`: JSON or the printable page (卷宗), with the labels from `domain/labels.py`;
- `schemas.py`: the models (codes only).

"""
