"""``kefu demo``: a working day of the department (``day``), one module per process's scenes."""
