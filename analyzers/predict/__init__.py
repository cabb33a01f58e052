"""What a device will do with an analysis: the roofline bound per layer."""
