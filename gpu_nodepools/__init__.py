"""GPU node pools, the EKS cluster, the GPU Operator and node acceptance."""
