"""kefu's records: what a case is (``case``), each process's events, state and inputs (one
module per process), the one fold table (``reducer``), and the database tables."""
