"""kefu's records: the case tables, the events, the human inputs and the reducers."""

import models.callback  # noqa: E402,F401  (registers the callback's events and call form)
import models.order  # noqa: E402,F401  (registers the order's events and forms)
