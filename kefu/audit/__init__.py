"""The auditor's tools: the hash chain and its verification, config snapshots, replay of the
rules, the report, and process-mining export and import (docs/audit.md)."""
