"""VPC, the GPU fabric (EFA / InfiniBand / RoCE), the Network Operator and topology labels."""
