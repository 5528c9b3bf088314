"""Pure: accounts, their plans, key narrowing and the effective grant of a key (SPEC §4)."""
