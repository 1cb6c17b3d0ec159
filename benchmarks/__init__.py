"""Speed and memory measurements of the DCGAN training step."""
