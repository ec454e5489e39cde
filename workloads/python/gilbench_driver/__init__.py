"""gilbench's driver for real CPython: runs one point of a scenario in this interpreter
(see driver.py and protocol.py for the contract with the Rust harness)."""
