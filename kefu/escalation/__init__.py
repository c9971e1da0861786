"""The escalation ladder's sweep (``sweep``) and the transactional outbox that delivers every
e-mail (``mail``)."""
