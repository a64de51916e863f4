"""Business rules, one module per resource. Each function takes an explicit session."""
