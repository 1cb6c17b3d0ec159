"""EMNIST Letters experiments: the published naive and factorised DCGAN generators."""
