"""kefu: a customer-service department's processes as auditable Prefect 3 workflows."""
