"""Result stand-ins computed from shapes alone: forward and backward ops, layout rules, module shortcuts."""
