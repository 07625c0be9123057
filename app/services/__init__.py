"""The school's rules, callable from views, APIs, the CLI, jobs and tests alike."""
