"""kefu's records: the case tables, the events, the human inputs and the reducers."""
