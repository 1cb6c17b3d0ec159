"""CIFAR-10 frog experiments: the published naive and factorised DCGAN generators."""
